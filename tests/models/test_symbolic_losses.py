"""Keras 2's symbolic losses and metrics on functional models.

Two patterns from Keras 2 programs: loss functions called on the model's tensors
(``binary_crossentropy(inputs, outputs)``), and ``model.add_loss`` / ``model.add_metric`` of
tensors computed from the model's inputs, trained on by ``fit``. Keras 3 runs the loss functions
on symbolic tensors (compared below); it has no symbolic ``add_loss``, so those are checked
against values computed by hand from the model's weights.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from lamina.losses._symbolic import LossFunctionNode
from lamina.models.functional import _PlanStep


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _relu(x):
    return np.maximum(x, 0.0)


# name, last activation, whether y_true holds class ids, keyword arguments
_LOSSES = [
    ("binary_crossentropy", "sigmoid", False, {}),
    ("binary_crossentropy", None, False, {"from_logits": True, "label_smoothing": 0.1}),
    ("categorical_crossentropy", "softmax", False, {}),
    ("sparse_categorical_crossentropy", "softmax", True, {}),
    ("mean_squared_error", None, False, {}),
    ("mean_absolute_error", None, False, {}),
    ("mean_absolute_percentage_error", None, False, {}),
    ("mean_squared_logarithmic_error", "relu", False, {}),
    ("kl_divergence", "softmax", False, {}),
    ("poisson", "softplus", False, {}),
    ("hinge", None, False, {}),
    ("squared_hinge", None, False, {}),
    ("categorical_hinge", None, False, {}),
    ("log_cosh", None, False, {}),
    ("huber", None, False, {"delta": 0.5}),
    ("cosine_similarity", None, False, {}),
    ("binary_focal_crossentropy", "sigmoid", False, {"gamma": 1.5}),
    ("categorical_focal_crossentropy", "softmax", False, {}),
    ("dice", "sigmoid", False, {}),
    ("tversky", "sigmoid", False, {"alpha": 0.3, "beta": 0.7}),
]


# Keras 3 (JAX) cannot trace these on symbolic tensors (a `cond` on the label values, a JAX
# function in `huber`); their
# output shape is compared with that of the eager result instead.
_NOT_SYMBOLIC_IN_ORACLE = {"hinge", "squared_hinge", "huber"}


@pytest.mark.oracle
@pytest.mark.parametrize("name,activation,sparse,kwargs", _LOSSES, ids=lambda v: v if isinstance(v, str) else "")
def test_loss_functions_on_keras_tensors_match_oracle(oracle, name, activation, sparse, kwargs):
    x = lamina.Input((6,))
    y_true = lamina.Input((), dtype="int32") if sparse else lamina.Input((6,))
    y_pred = lamina.layers.Dense(6, activation=activation, name="pred")(x)
    out = getattr(lamina.losses, name)(y_true, y_pred, **kwargs)
    node = out._keras_history[0]
    assert isinstance(node, LossFunctionNode) and node.function == name and node.arguments == kwargs
    model = lamina.Model([x, y_true], [y_pred, out])
    rng = np.random.default_rng(0)
    data = rng.normal(size=(5, 6)).astype("float32")
    y = rng.integers(0, 6, size=(5,)).astype("int32") if sparse else rng.uniform(size=(5, 6)).astype("float32")
    pred, value = (_np(v) for v in model([data, y]))
    expected = np.asarray(getattr(oracle.losses, name)(y, pred, **kwargs))
    np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5)
    assert out.dtype == str(expected.dtype)
    if name in _NOT_SYMBOLIC_IN_ORACLE:
        assert tuple(out.shape) == (None,) + expected.shape[1:]
    else:
        k_true = oracle.Input((), dtype="int32") if sparse else oracle.Input((6,))
        k_out = getattr(oracle.losses, name)(k_true, oracle.Input((6,)), **kwargs)
        assert tuple(out.shape) == tuple(k_out.shape) and out.dtype == k_out.dtype


@pytest.mark.oracle
def test_losses_aliases_and_metric_functions_on_keras_tensors(oracle):
    # Keras 2's short names are the same functions: their nodes name the full function.
    aliases = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "kld": "kl_divergence",
               "bce": "binary_crossentropy", "logcosh": "log_cosh"}
    for alias, full in aliases.items():
        x = lamina.Input((3,))
        out = getattr(lamina.losses, alias)(x, x)
        assert out._keras_history[0].function == full
        assert out.shape == getattr(oracle.losses, full)(oracle.Input((3,)), oracle.Input((3,))).shape
    x, y = lamina.Input((4,)), lamina.Input((4,))
    model = lamina.Model([x, y], lamina.metrics.binary_accuracy(x, y, threshold=0.3))
    kx, ky = oracle.Input((4,)), oracle.Input((4,))
    reference = oracle.Model([kx, ky], oracle.metrics.binary_accuracy(kx, ky, threshold=0.3))
    a = np.random.default_rng(1).uniform(size=(3, 4)).astype("float32")
    b = np.random.default_rng(2).uniform(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(_np(model([a, b])), np.asarray(reference([a, b])), rtol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "cls,kwargs",
    [("BinaryCrossentropy", {"label_smoothing": 0.1}), ("MeanSquaredError", {"reduction": "none"}),
     ("CategoricalCrossentropy", {"reduction": "sum"}), ("Huber", {"delta": 0.3})],
)
def test_loss_objects_on_keras_tensors_match_oracle(oracle, cls, kwargs, tmp_path):
    x, t, w = lamina.Input((4,)), lamina.Input((4,)), lamina.Input(())
    y_pred = lamina.layers.Dense(4, activation="softmax")(x)
    out = getattr(lamina.losses, cls)(**kwargs)(t, y_pred, sample_weight=w)
    model = lamina.Model([x, t, w], [y_pred, out])
    rng = np.random.default_rng(3)
    data = [rng.normal(size=(5, 4)).astype("float32"), rng.uniform(size=(5, 4)).astype("float32"),
            rng.uniform(size=(5,)).astype("float32")]
    pred, value = (_np(v) for v in model(data))
    reference = getattr(oracle.losses, cls)(**kwargs)
    np.testing.assert_allclose(value, np.asarray(reference(data[1], pred, sample_weight=data[2])), rtol=1e-5, atol=1e-6)
    # Keras 3's loss objects refuse symbolic tensors: the shape is the eager result's.
    assert tuple(out.shape) == ((None,) if kwargs.get("reduction") == "none" else ())
    path = str(tmp_path / "loss_object.keras")
    model.save(path)
    np.testing.assert_allclose(_np(lamina.models.load_model(path)(data)[1]), value, rtol=1e-6)


def test_loss_function_node_eager_result_unchanged_and_config_round_trip():
    y_true = np.array([[0.0, 1.0], [1.0, 1.0]], "float32")
    y_pred = np.array([[0.2, 0.7], [0.9, 0.4]], "float32")
    eager = _np(lamina.losses.binary_crossentropy(y_true, y_pred, from_logits=True))
    node = LossFunctionNode("binary_crossentropy", arguments={"from_logits": True}, name="bce_node")
    np.testing.assert_allclose(_np(node(y_true, y_pred)), eager, rtol=1e-6)
    clone = lamina.layers.deserialize(lamina.layers.serialize(node))
    assert isinstance(clone, LossFunctionNode)
    assert (clone.function, clone.module, clone.arguments) == ("binary_crossentropy", "keras.losses", {"from_logits": True})
    np.testing.assert_allclose(_np(clone(y_true, y_pred)), eager, rtol=1e-6)


def test_model_with_a_loss_function_output_saves_and_loads(tmp_path):
    x, t = lamina.Input((4,)), lamina.Input((4,))
    y = lamina.layers.Dense(4, activation="sigmoid")(x)
    model = lamina.Model([x, t], lamina.losses.binary_crossentropy(t, y, label_smoothing=0.2) * 4.0)
    path = str(tmp_path / "bce.keras")
    model.save(path)
    loaded = lamina.models.load_model(path)
    data = [np.random.rand(3, 4).astype("float32"), np.random.rand(3, 4).astype("float32")]
    np.testing.assert_allclose(_np(loaded(data)), _np(model(data)), rtol=1e-6)


def test_loss_function_node_errors():
    x = lamina.Input((3,))
    with pytest.raises(ValueError, match="only `y_true` and `y_pred` may be symbolic"):
        lamina.losses.huber(x, x, delta=lamina.Input(()))
    with pytest.raises(ValueError, match="Unknown function 'no_such_loss'"):
        LossFunctionNode("no_such_loss")
    with pytest.raises(ValueError, match="Unknown function 'Huber'"):
        LossFunctionNode("Huber")  # a class, not a function
    with pytest.raises(ValueError, match="`module` must be one of"):
        LossFunctionNode("mse", module="os")


# --- the Keras 2 variational autoencoder ------------------------------------------------------


def _sampling(args):
    z_mean, z_log_var = args
    batch = K.shape(z_mean)[0]
    dim = K.int_shape(z_mean)[1]
    epsilon = K.random_normal(shape=(batch, dim))
    return z_mean + K.exp(0.5 * z_log_var) * epsilon


def _vae(original_dim=12, hidden=8, latent=2):
    inputs = lamina.layers.Input(shape=(original_dim,), name="encoder_input")
    x = lamina.layers.Dense(hidden, activation="relu", name="enc_hidden")(inputs)
    z_mean = lamina.layers.Dense(latent, name="z_mean")(x)
    z_log_var = lamina.layers.Dense(latent, name="z_log_var")(x)
    z = lamina.layers.Lambda(_sampling, output_shape=(latent,), name="z")([z_mean, z_log_var])
    encoder = lamina.models.Model(inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = lamina.layers.Input(shape=(latent,), name="z_sampling")
    x = lamina.layers.Dense(hidden, activation="relu", name="dec_hidden")(latent_inputs)
    outputs = lamina.layers.Dense(original_dim, activation="sigmoid", name="dec_out")(x)
    decoder = lamina.models.Model(latent_inputs, outputs, name="decoder")
    outputs = decoder(encoder(inputs)[2])
    vae = lamina.models.Model(inputs, outputs, name="vae_mlp")
    reconstruction_loss = lamina.losses.binary_crossentropy(inputs, outputs)
    reconstruction_loss *= original_dim
    kl_loss = 1 + z_log_var - K.square(z_mean) - K.exp(z_log_var)
    kl_loss = K.sum(kl_loss, axis=-1)
    kl_loss *= -0.5
    vae.add_loss(K.mean(reconstruction_loss + kl_loss))
    return vae, encoder


def _vae_loss_by_hand(vae, encoder, x, out):
    w = {layer.name: layer.get_weights() for layer in encoder.layers if layer.get_weights()}
    h = _relu(x @ w["enc_hidden"][0] + w["enc_hidden"][1])
    z_mean = h @ w["z_mean"][0] + w["z_mean"][1]
    z_log_var = h @ w["z_log_var"][0] + w["z_log_var"][1]
    p = np.clip(out, 1e-7, 1 - 1e-7)
    bce = -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p), axis=-1) * x.shape[1]
    kl = -0.5 * np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=-1)
    return np.mean(bce + kl)


def test_vae_added_loss_equals_the_formula_after_a_call():
    vae, encoder = _vae()
    x = np.random.default_rng(0).uniform(size=(5, 12)).astype("float32")
    out = _np(vae(x))
    assert len(vae.losses) == 1 and tuple(vae.losses[0].shape) == ()
    np.testing.assert_allclose(_np(vae.losses[0]), _vae_loss_by_hand(vae, encoder, x, out), rtol=1e-5)
    # A new call replaces the previous call's loss.
    vae(x[:2])
    assert len(vae.losses) == 1


def test_added_loss_of_a_nested_model_counts_in_the_outer_model():
    vae, _ = _vae()
    inputs = lamina.Input((12,))
    outer = lamina.Model(inputs, vae(inputs))
    outer(np.random.default_rng(0).uniform(size=(3, 12)).astype("float32"))
    assert len(outer.losses) == 1 and outer.losses[0] is vae.losses[0]


def test_vae_gradients_reach_z_mean_and_z_log_var():
    vae, encoder = _vae()
    x = torch.rand(4, 12)
    vae(x)
    sum(vae.losses).backward()
    for name in ("z_mean", "z_log_var", "enc_hidden"):
        kernel = encoder.get_layer(name).kernel
        grad = kernel.value.grad if hasattr(kernel, "value") else kernel.grad
        assert grad is not None and float(grad.abs().sum()) > 0, name


def test_vae_fits_with_no_compiled_loss_and_validation_without_targets():
    vae, encoder = _vae()
    vae.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    x_train = rng.uniform(size=(32, 12)).astype("float32")
    x_test = rng.uniform(size=(16, 12)).astype("float32")
    before = encoder.get_layer("z_log_var").get_weights()[0].copy()
    history = vae.fit(x_train, epochs=2, batch_size=8, validation_data=(x_test, None), verbose=0)
    assert set(history.history) == {"loss", "val_loss"}
    assert all(np.isfinite(history.history["val_loss"]))
    assert not np.allclose(before, encoder.get_layer("z_log_var").get_weights()[0])
    # evaluate on one full batch reports the added loss of that call
    value = vae.evaluate(x_test, batch_size=16, verbose=0)
    assert np.isfinite(value)


# --- tf.keras's guide: add_loss / add_metric of an intermediate tensor ----------------------


def _guide_model():
    inputs = lamina.Input(shape=(10,), name="digits")
    x1 = lamina.layers.Dense(6, activation="relu", name="dense_1")(inputs)
    x2 = lamina.layers.Dense(6, activation="relu", name="dense_2")(x1)
    outputs = lamina.layers.Dense(3, name="predictions")(x2)
    model = lamina.Model(inputs=inputs, outputs=outputs)
    model.add_loss(lamina.ops.sum(x1) * 0.1)
    model.add_metric(K.std(x1), name="std_of_activation", aggregation="mean")
    return model


def _x1(model, x):
    kernel, bias = model.get_layer("dense_1").get_weights()
    return _relu(x @ kernel + bias)


def test_added_loss_and_metric_after_an_eager_call():
    model = _guide_model()
    x = np.random.default_rng(0).normal(size=(4, 10)).astype("float32")
    model(x)
    assert len(model.losses) == 1
    np.testing.assert_allclose(_np(model.losses[0]), 0.1 * _x1(model, x).sum(), rtol=1e-5)
    metric = next(m for m in model.metrics if m.name == "std_of_activation")
    np.testing.assert_allclose(_np(metric.result()), _x1(model, x).std(), rtol=1e-5)


def test_fit_trains_on_compiled_plus_added_loss_and_reports_the_metric():
    model = _guide_model()
    model.compile(optimizer="rmsprop", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 10)).astype("float32")
    y = rng.integers(0, 3, size=(16,))
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "std_of_activation"}
    logits = _np(model.predict(x, verbose=0))
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected_loss = -logp[np.arange(16), y].mean() + 0.1 * _x1(model, x).sum()
    results = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    np.testing.assert_allclose(results["loss"], expected_loss, rtol=1e-4)
    np.testing.assert_allclose(results["std_of_activation"], _x1(model, x).std(), rtol=1e-4)


def test_a_layer_used_only_by_the_added_loss_trains_with_the_model():
    inputs = lamina.Input((4,))
    outputs = lamina.layers.Dense(2, name="main")(inputs)
    side = lamina.layers.Dense(3, name="side")(inputs)
    model = lamina.Model(inputs, outputs)
    n_weights = len(model.trainable_weights)
    model.add_loss(lamina.ops.mean(lamina.ops.square(side)))
    assert "side" in [layer.name for layer in model.layers]
    assert len(model.trainable_weights) == n_weights + 2
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_layer("side").get_weights()[0].copy()
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), epochs=1, batch_size=4, verbose=0)
    assert not np.allclose(before, model.get_layer("side").get_weights()[0])


def test_models_without_symbolic_losses_keep_their_plan():
    inputs = lamina.Input((4,))
    hidden = lamina.layers.Dense(3)(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(2)(hidden))
    plan = list(model._plan)
    assert all(type(step) is _PlanStep for step in plan)
    model.add_loss(lamina.ops.sum(hidden))
    # The outputs' steps are unchanged; the loss only appends its own (here: the sum, then the hand-over).
    assert model._plan[: len(plan)] == plan and len(model._plan) == len(plan) + 2


def test_symbolic_add_loss_and_add_metric_errors():
    inputs = lamina.Input((4,), name="model_input")
    model = lamina.Model(inputs, lamina.layers.Dense(2)(inputs))
    other = lamina.layers.Dense(2)(lamina.Input((4,), name="other_input"))
    with pytest.raises(ValueError, match="cannot be computed from the model's inputs"):
        model.add_loss(lamina.ops.sum(other))
    with pytest.raises(ValueError, match="needs a `name`"):
        model.add_metric(lamina.ops.sum(inputs))
    model.add_metric(lamina.ops.sum(inputs), name="total")
    with pytest.raises(ValueError, match="'total' already exists"):
        model.add_metric(lamina.ops.mean(inputs), name="total")
    with pytest.raises(ValueError, match="aggregation"):
        model.add_metric(lamina.ops.sum(inputs), name="other", aggregation="max")
    clash = lamina.layers.Dense(2, name=model.layers[-1].name)(inputs)
    with pytest.raises(ValueError, match="already has another layer of that name"):
        model.add_loss(lamina.ops.sum(clash))
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(np.ones((4, 4), "float32"), epochs=1, verbose=0)


def test_sequential_add_loss_and_add_metric_on_its_output():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, name="hidden"), lamina.layers.Dense(2, name="out")])
    hidden = model.get_layer("hidden").output
    model.add_loss(0.5 * lamina.ops.mean(lamina.ops.square(model.output)))
    model.add_metric(lamina.ops.max(hidden), name="max_hidden", aggregation="mean")
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    out = _np(model(x))
    kernel, bias = model.get_layer("hidden").get_weights()
    np.testing.assert_allclose(_np(model.losses[0]), 0.5 * np.mean(out**2), rtol=1e-5)
    metric = next(m for m in model.metrics if m.name == "max_hidden")
    np.testing.assert_allclose(_np(metric.result()), (x @ kernel + bias).max(), rtol=1e-5)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, np.zeros((6, 2), "float32"), epochs=1, batch_size=3, verbose=0)
    assert set(history.history) == {"loss", "max_hidden"}
    # Changing the stack rebuilds the graph: the added tensors referred to the old one.
    model.pop()
    model(x)
    assert model.losses == []


def test_symbolic_add_loss_is_refused_outside_models_with_a_graph():
    x = lamina.Input((4,))
    with pytest.raises(ValueError, match="Only a functional or Sequential model"):
        lamina.layers.Dense(2).add_metric(lamina.ops.sum(x), name="s")
    with pytest.raises(ValueError, match="received the symbolic tensor"):
        lamina.layers.Dense(2).add_loss(lamina.ops.sum(x))
    with pytest.raises(ValueError, match="has no graph yet"):
        lamina.Sequential([lamina.layers.Dense(2)]).add_loss(lamina.ops.sum(x))


# --- saving -----------------------------------------------------------------------------------


@pytest.mark.oracle
def test_added_loss_and_metric_are_saved_and_restored(oracle, tmp_path):
    model = _guide_model()
    x = np.random.default_rng(0).normal(size=(4, 10)).astype("float32")
    model(x)
    path = str(tmp_path / "guide.keras")
    model.save(path)
    loaded = lamina.models.load_model(path)
    loaded(x)
    np.testing.assert_allclose(_np(loaded.losses[0]), _np(model.losses[0]), rtol=1e-6)
    metric = next(m for m in loaded.metrics if m.name == "std_of_activation")
    np.testing.assert_allclose(_np(metric.result()), _x1(model, x).std(), rtol=1e-5)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    # The added keys are Lamina's; Keras reads the rest of the file (the same outputs).
    reference = oracle.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(reference(x)), _np(model(x)), rtol=1e-5, atol=1e-6)


def test_autoencoder_with_a_loss_function_add_loss_round_trips(tmp_path):
    inputs = lamina.Input((6,))
    outputs = lamina.layers.Dense(6, activation="sigmoid")(lamina.layers.Dense(2)(inputs))
    model = lamina.Model(inputs, outputs)
    model.add_loss(lamina.ops.mean(lamina.losses.binary_crossentropy(inputs, outputs)) * 6)
    x = np.random.default_rng(0).uniform(size=(5, 6)).astype("float32")
    model(x)
    path = str(tmp_path / "ae.keras")
    model.save(path)
    loaded = lamina.models.load_model(path)
    loaded(x)
    np.testing.assert_allclose(_np(loaded.losses[0]), _np(model.losses[0]), rtol=1e-6)
    loaded.compile(optimizer="adam")
    assert np.isfinite(loaded.fit(x, epochs=1, verbose=0).history["loss"][0])


def test_a_loss_computed_inside_a_nested_model_is_not_saved_with_a_warning(tmp_path):
    vae, _ = _vae()
    path = str(tmp_path / "vae.keras")
    with pytest.warns(UserWarning, match="computed by layers of a nested model and is not saved"):
        vae.save(path)
    loaded = lamina.models.load_model(path, custom_objects={"_sampling": _sampling})
    loaded(np.random.rand(2, 12).astype("float32"))
    assert loaded.losses == []


# --- Keras 2 backend functions on symbolic tensors --------------------------------------------


def test_backend_functions_on_keras_tensors_compute_the_eager_values(tmp_path):
    x = lamina.Input((2, 3))
    y = lamina.layers.Dense(3, activation="sigmoid")(x)
    calls = {
        "flatten": lambda f, a, b: f.flatten(b),
        "batch_flatten": lambda f, a, b: f.batch_flatten(b),
        "clip": lambda f, a, b: f.clip(b, 0.4, 0.6),
        "sqrt": lambda f, a, b: f.sqrt(b - 0.5),
        "l2_normalize": lambda f, a, b: f.l2_normalize(b, axis=-1),
        "argmax": lambda f, a, b: f.argmax(b),
        "relu": lambda f, a, b: f.relu(b - 0.5, alpha=0.1),
        "binary_crossentropy": lambda f, a, b: f.binary_crossentropy(a, b),
        "softmax": lambda f, a, b: f.softmax(b),
    }
    symbolic_outputs = [fn(K, x, y) for fn in calls.values()]
    assert [tuple(t.shape) for t in symbolic_outputs[:2]] == [(None,), (None, 6)]
    model = lamina.Model(x, [y] + symbolic_outputs)
    data = np.random.default_rng(0).uniform(size=(4, 2, 3)).astype("float32")
    y_value, *values = model(data)
    for name, fn, value in zip(calls, calls.values(), values):
        expected = _np(fn(K, torch.as_tensor(data), y_value.detach()))
        np.testing.assert_allclose(_np(value), expected, rtol=1e-6, err_msg=name)
    path = str(tmp_path / "k.keras")
    model.save(path)
    for a, b in zip(lamina.models.load_model(path)(data), [y_value] + values):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6)


def test_keras2_deconv_vae_loss_on_flattened_tensors():
    inputs = lamina.Input((4, 4, 1))
    h = lamina.layers.Conv2D(2, 3, padding="same", activation="relu")(inputs)
    outputs = lamina.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
    model = lamina.Model(inputs, outputs)
    model.add_loss(K.mean(lamina.losses.binary_crossentropy(K.flatten(inputs), K.flatten(outputs)) * 16))
    x = np.random.default_rng(0).uniform(size=(3, 4, 4, 1)).astype("float32")
    out = _np(model(x)).reshape(-1)
    p = np.clip(out, 1e-7, 1 - 1e-7)
    flat = x.reshape(-1)
    expected = -np.mean(flat * np.log(p) + (1 - flat) * np.log(1 - p)) * 16
    np.testing.assert_allclose(_np(model.losses[0]), expected, rtol=1e-5)
    model.compile(optimizer="adam")
    assert np.isfinite(model.fit(x, epochs=1, verbose=0).history["loss"][0])
