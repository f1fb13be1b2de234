"""Keras 2 ``K.gradients`` on symbolic tensors, evaluated by ``K.function``: the patterns of the
Keras 2 examples (filter visualization, deep dream, style transfer) on tiny random convnets,
compared with torch autograd run eagerly and with the oracle's ``jax.grad``."""

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import backend as K
from lamina.backend.legacy import training_phase

L = keras.layers


@pytest.fixture(autouse=True)
def _no_learning_phase():
    yield
    training_phase.reset_learning_phase()


def _convnet():
    inp = keras.Input((12, 12, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(inp)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(5, 3, padding="same", activation="tanh", name="block2_conv1")(x)
    return keras.Model(inp, x)


def _image(seed=0, batch=1):
    return np.random.default_rng(seed).random((batch, 12, 12, 3)).astype("float32")


def _eager_grad(fn, value):
    x = torch.tensor(value, requires_grad=True)
    (g,) = torch.autograd.grad(fn(x), x)
    return g.numpy()


def _filter_visualization(model, index):
    loss = K.mean(model.get_layer("block2_conv1").output[:, :, :, index])
    grads = K.gradients(loss, model.input)[0]
    grads = grads / (K.sqrt(K.mean(K.square(grads))) + 1e-5)
    return K.function([model.input], [loss, grads])


def test_filter_visualization_matches_torch_autograd_and_leaves_weights_alone():
    model = _convnet()
    img = _image()
    loss_value, grads_value = _filter_visualization(model, 2)([img])
    raw = _eager_grad(lambda x: model(x)[..., 2].mean(), img)
    expected = raw / (np.sqrt(np.mean(raw**2)) + 1e-5)
    assert grads_value.shape == img.shape and grads_value.dtype == np.float32
    np.testing.assert_allclose(loss_value, model(img)[..., 2].mean().item(), rtol=1e-6)
    np.testing.assert_allclose(grads_value, expected, rtol=1e-5, atol=1e-6)
    assert all(w.grad is None for w in model.weights)  # autograd.grad returns, never accumulates


def test_gradient_tensor_is_symbolic_with_the_variable_shape_and_dtype():
    model = _convnet()
    loss = K.mean(model.get_layer("block2_conv1").output)
    (grad,) = K.gradients(loss, model.input)
    assert K.is_keras_tensor(grad)
    assert K.int_shape(grad) == (None, 12, 12, 3) and K.dtype(grad) == "float32"
    kernel = model.get_layer("block1_conv1").kernel
    (wgrad,) = K.gradients(loss, [kernel])
    assert K.int_shape(wgrad) == (3, 3, 3, 4)


@pytest.mark.oracle
def test_filter_visualization_matches_oracle_jax_grad(oracle):
    import jax

    model = _convnet()
    img = _image(1, batch=2)
    _, grads_value = _filter_visualization(model, 1)([img])

    ref_inp = oracle.Input((12, 12, 3))
    y = oracle.layers.Conv2D(4, 3, padding="same", activation="relu")(ref_inp)
    y = oracle.layers.MaxPooling2D(2)(y)
    y = oracle.layers.Conv2D(5, 3, padding="same", activation="tanh")(y)
    ref = oracle.Model(ref_inp, y)
    ref.set_weights(model.get_weights())
    raw = np.asarray(jax.grad(lambda x: oracle.ops.mean(ref(x)[..., 1]))(img))
    np.testing.assert_allclose(grads_value, raw / (np.sqrt(np.mean(raw**2)) + 1e-5), rtol=1e-4, atol=1e-5)


def test_deep_dream_pattern_with_variable_loss_and_no_grad_context():
    model = _convnet()
    dream = model.input
    loss = K.variable(0.0)
    settings = {"pool1": 0.2, "block2_conv1": 0.5}
    for name, coeff in settings.items():
        x = model.get_layer(name).output
        scaling = float(np.prod(K.int_shape(x)[1:]))
        loss = loss + coeff * K.sum(K.square(x[:, 1:-1, 1:-1, :])) / scaling
    grads = K.gradients(loss, dream)[0]
    grads /= K.maximum(K.mean(K.abs(grads)), K.epsilon())
    fetch = K.function([dream], [loss, grads])
    img = _image(2)
    with torch.no_grad():  # the node records its own graph, whatever the caller's mode
        loss_value, grads_value = fetch([img])

    pool, conv = model.get_layer("pool1"), model.get_layer("block2_conv1")

    def eager_loss(x):
        p = pool(model.get_layer("block1_conv1")(x))
        c = conv(p)
        total = 0.0
        for coeff, t in ((0.2, p), (0.5, c)):
            total = total + coeff * t[:, 1:-1, 1:-1, :].square().sum() / float(np.prod(t.shape[1:]))
        return total

    raw = _eager_grad(eager_loss, img)
    np.testing.assert_allclose(loss_value, eager_loss(torch.tensor(img)).item(), rtol=1e-5)
    np.testing.assert_allclose(grads_value, raw / max(np.abs(raw).mean(), 1e-7), rtol=1e-4, atol=1e-6)


def _gram(features):
    flat = K.batch_flatten(K.permute_dimensions(features, (2, 0, 1)))
    return K.dot(flat, K.transpose(flat))


def test_style_transfer_pattern_several_gradients_in_one_function():
    rng = np.random.default_rng(3)
    base_value, style_value = (rng.random((1, 12, 12, 3)).astype("float32") for _ in range(2))
    base, style = K.variable(base_value), K.variable(style_value)
    combination = K.placeholder((1, 12, 12, 3))
    input_tensor = K.concatenate([base, style, combination], axis=0)
    conv1 = L.Conv2D(4, 3, padding="same", activation="relu")
    conv2 = L.Conv2D(5, 3, padding="same", activation="relu")
    hidden = conv1(input_tensor)
    features = conv2(hidden)
    loss = K.variable(0.0)
    loss = loss + 0.5 * K.sum(K.square(features[2] - features[0]))
    loss = loss + 0.1 * K.sum(K.square(_gram(features[1]) - _gram(features[2])))
    shifted = K.square(combination[:, :11, :11, :] - combination[:, 1:, :11, :])
    loss = loss + 0.01 * K.sum(K.pow(shifted + 1e-3, 1.25))
    grads = K.gradients(loss, [combination, hidden])
    outputs = [loss] + grads
    run = K.function([combination], outputs)
    comb_value = rng.random((1, 12, 12, 3)).astype("float32")
    loss_value, comb_grad, hidden_grad = run([comb_value])

    def gram(f):
        flat = f.permute(2, 0, 1).reshape(f.shape[2], -1)
        return flat @ flat.T

    def eager(comb, hid=None):
        batch = torch.cat([torch.tensor(base_value), torch.tensor(style_value), comb], 0)
        h = conv1(batch) if hid is None else hid
        f = conv2(h)
        total = 0.5 * (f[2] - f[0]).square().sum() + 0.1 * (gram(f[1]) - gram(f[2])).square().sum()
        s = (comb[:, :11, :11, :] - comb[:, 1:, :11, :]).square()
        return total + 0.01 * (s + 1e-3).pow(1.25).sum()

    comb = torch.tensor(comb_value)
    np.testing.assert_allclose(loss_value, eager(comb).item(), rtol=1e-5)
    np.testing.assert_allclose(comb_grad, _eager_grad(eager, comb_value), rtol=1e-4, atol=1e-5)
    # The gradient with respect to an intermediate tensor holds the rest of the graph fixed
    # (the total-variation term still reads `combination`, which does not move).
    hid_value = conv1(torch.cat([torch.tensor(base_value), torch.tensor(style_value), comb], 0)).detach()
    np.testing.assert_allclose(hidden_grad, _eager_grad(lambda h: eager(comb, h), hid_value.numpy()), rtol=1e-4, atol=1e-5)


def test_gradients_with_respect_to_weights_leave_grad_untouched():
    inp = keras.Input((4,))
    dense = L.Dense(3, name="d")
    bn = L.BatchNormalization(name="bn")
    out = bn(dense(inp))
    loss = K.sum(K.square(out))
    grads = K.gradients(loss, [dense.kernel, bn.gamma, bn.moving_mean, inp])
    assert grads[2] is None  # torch records no gradient for buffers (moving statistics)
    run = K.function([inp], [grads[0], grads[1], grads[3]])
    x = np.random.default_rng(4).random((5, 4)).astype("float32")
    kernel_grad, gamma_grad, input_grad = run([x])
    xt = torch.tensor(x, requires_grad=True)
    ek, eg, ex = torch.autograd.grad(bn(dense(xt)).square().sum(), [dense.kernel, bn.gamma, xt])
    np.testing.assert_allclose(kernel_grad, ek.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gamma_grad, eg.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(input_grad, ex.numpy(), rtol=1e-5, atol=1e-6)
    assert dense.kernel.grad is None and bn.gamma.grad is None


def test_unconnected_and_integer_tensors_give_none():
    a, b = keras.Input((3,)), keras.Input((3,))
    ids = keras.Input((3,), dtype="int32")
    loss = K.sum(L.Dense(2)(a)) + K.sum(keras.ops.cast(ids, "float32"))
    grad_a, grad_b, grad_ids = K.gradients(loss, [a, b, ids])
    assert grad_b is None and grad_ids is None
    assert K.int_shape(grad_a) == (None, 3)
    with pytest.raises(ValueError, match="floating-point `loss`"):
        K.gradients(K.sum(ids), [ids])


def test_second_order_and_model_built_on_gradients():
    x = K.placeholder(shape=(None, 3))
    (g,) = K.gradients(K.sum(x**3), x)
    (gg,) = K.gradients(K.sum(g), x)
    value = np.array([[1.0, -2.0, 0.5]], "float32")
    first, second = K.function([x], [g, gg])([value])
    np.testing.assert_allclose(first, 3 * value**2, rtol=1e-6)
    np.testing.assert_allclose(second, 6 * value, rtol=1e-6)
    model = keras.Model(x, [g, gg])
    np.testing.assert_allclose(model.predict(value, verbose=0)[1], 6 * value, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="K.gradients"):
        model.get_config()


def test_learning_phase_input_reaches_the_differentiated_graph():
    inp = keras.Input((6,))
    dense = L.Dense(4)
    out = dense(L.Dropout(0.5, seed=1)(inp))
    (grad,) = K.gradients(K.sum(out), inp)
    run = K.function([inp, K.learning_phase()], [grad])
    x = np.ones((8, 6), "float32")
    (inference,) = run([x, 0])
    expected = np.broadcast_to(dense.kernel.detach().numpy().sum(axis=1), (8, 6))
    np.testing.assert_allclose(inference, expected, rtol=1e-6)
    (training,) = run([x, 1])
    dropped = training == 0
    assert dropped.any() and not dropped.all()  # the dropout mask applies to the gradient
    np.testing.assert_allclose(training[~dropped], 2 * np.broadcast_to(expected, (8, 6))[~dropped], rtol=1e-6)


def test_function_computes_loss_and_gradient_in_one_pass_with_the_same_dropout_draw():
    inp = keras.Input((6,))
    out = L.Dense(3, use_bias=False)(L.Dropout(0.5)(inp))
    loss = K.sum(out)
    (grad,) = K.gradients(loss, inp)
    run = K.function([inp, K.learning_phase()], [loss, grad])
    x = np.random.default_rng(6).random((8, 6)).astype("float32")
    for _ in range(3):
        loss_value, grad_value = run([x, 1])
        # The loss is linear in x: it equals <x, grad> only if both saw the same dropout mask.
        np.testing.assert_allclose(loss_value, (x * grad_value).sum(), rtol=1e-5)


def test_bad_variables_are_refused():
    x = keras.Input((3,))
    with pytest.raises(ValueError, match="symbolic tensors and weights"):
        K.gradients(K.sum(x), [np.ones(3)])


def test_function_updates_apply_a_symbolic_gradient_step():
    # Keras 2's hand-written training step: `K.function(..., updates=[(w, w - lr * g)])`.
    inp = keras.Input((3,))
    dense = L.Dense(1, use_bias=False)
    loss = K.mean(K.square(dense(inp)))
    (grad,) = K.gradients(loss, [dense.kernel])
    steps = K.variable(0.0)
    step = K.function([inp], [loss], updates=[(dense.kernel, dense.kernel - 0.1 * grad), (steps, 1.0)])
    x = np.random.default_rng(5).random((4, 3)).astype("float32")
    kernel = dense.kernel.detach().clone()
    xt = torch.tensor(x)
    expected_loss = (xt @ kernel).square().mean()
    expected_kernel = kernel - 0.1 * (2 * xt.T @ (xt @ kernel) / 4)
    (loss_value,) = step([x])
    np.testing.assert_allclose(loss_value, expected_loss.item(), rtol=1e-6)  # computed before the update
    np.testing.assert_allclose(dense.kernel.detach().numpy(), expected_kernel.numpy(), rtol=1e-5)
    assert K.get_value(steps) == 1.0 and dense.kernel.grad is None


def test_function_refuses_update_operations_it_cannot_run():
    x = K.placeholder(shape=(None, 3))
    with pytest.raises(ValueError, match=r"\(variable, new_value\)"):
        K.function([x], [x * 2], updates=[K.variable(1.0)])
    with pytest.raises(ValueError, match="must be a variable"):
        K.function([x], [x * 2], updates=[(x, x)])
