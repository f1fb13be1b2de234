"""Layers are torch modules: hooks fire, torch.nn.utils.prune works, `.to(dtype)` casts compute."""

import numpy as np
import pytest
import torch
from torch.nn.utils import prune

import lamina as keras
from lamina import layers


def _model():
    inputs = keras.Input((6, 6, 2))
    x = layers.Conv2D(3, 3, activation="relu", name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(2, name="head")(x)
    return keras.Model(inputs, outputs)


def test_pre_hooks_and_hooks_fire_eagerly_and_inside_models():
    model = _model()
    seen = []
    head = model.get_layer("head")
    pre = head.register_forward_pre_hook(lambda m, args: seen.append(("pre", tuple(args[0].shape))))
    post = model.get_layer("conv").register_forward_hook(lambda m, args, out: seen.append(("conv", tuple(out.shape))))
    x = np.random.default_rng(0).random((4, 6, 6, 2)).astype("float32")
    model(x)
    assert seen == [("conv", (4, 4, 4, 3)), ("pre", (4, 48))]
    seen.clear()
    model.predict(x, batch_size=2, verbose=0)
    assert seen.count(("pre", (2, 48))) == 2
    pre.remove()
    post.remove()
    seen.clear()
    model(x)
    assert seen == []


def test_hook_can_replace_the_output_and_kwargs_hooks_work():
    dense = layers.Dense(2, kernel_initializer="ones")
    dense.register_forward_hook(lambda m, args, out: out * 0)
    assert float(np.abs(np.asarray(dense(np.ones((1, 3), "float32")))).sum()) == 0.0
    other = layers.Dense(2)
    got = {}
    other.register_forward_pre_hook(lambda m, args, kwargs: got.update(kwargs), with_kwargs=True)
    other(np.ones((1, 3), "float32"), training=True)
    assert got == {"training": True}


def test_global_module_hooks_fire():
    names = []
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, a, o: names.append(type(m).__name__))
    try:
        keras.Sequential([keras.Input((3,)), layers.Dense(2)])(np.ones((1, 3), "float32"))
    finally:
        handle.remove()
    assert "Dense" in names and "Sequential" in names


def test_backward_hooks_fire():
    dense = layers.Dense(2)
    grads = []
    dense.register_full_backward_hook(lambda m, grad_in, grad_out: grads.append(grad_out[0].shape))
    x = torch.ones(3, 4, requires_grad=True)
    dense(x).sum().backward()
    assert grads == [torch.Size([3, 2])]


@pytest.mark.parametrize("make,shape", [(lambda: layers.Dense(4), (3, 5)), (lambda: layers.Conv2D(4, 3), (2, 6, 6, 3))])
def test_prune_l1_unstructured(make, shape):
    layer = make()
    x = torch.tensor(np.random.default_rng(0).standard_normal(shape), dtype=torch.float32)
    layer.build(shape)
    kernel = layer.kernel.detach().clone()
    prune.l1_unstructured(layer, name="kernel", amount=0.5)
    assert int((layer.kernel == 0).sum()) == kernel.numel() // 2
    reference = make()
    reference.build(shape)
    reference.set_weights([np.asarray(kernel * layer.kernel_mask), layer.bias.detach().numpy()])
    torch.testing.assert_close(layer(x), reference(x))
    # Training updates the original weight; the mask keeps pruned entries at zero.
    layer(x).sum().backward()
    assert layer.kernel_orig.grad is not None
    prune.remove(layer, "kernel")
    torch.testing.assert_close(layer(x), reference(x))


@pytest.mark.parametrize(
    "cast,dtype",
    [
        (lambda m: m.to(torch.bfloat16), torch.bfloat16),
        (lambda m: m.half(), torch.float16),
        (lambda m: m.double(), torch.float64),
        (lambda m: m.to(dtype=torch.float64).float(), torch.float32),
    ],
)
def test_casting_a_model_makes_it_compute_in_that_dtype(cast, dtype):
    model = _model()
    x = np.random.default_rng(0).random((4, 6, 6, 2)).astype("float32")
    reference = np.asarray(model(x))
    cast(model)
    assert model.get_layer("head").kernel.dtype == dtype
    out = model(x)
    assert out.dtype == dtype
    tolerance = {torch.bfloat16: 0.1, torch.float16: 1e-2}.get(dtype, 1e-5)
    np.testing.assert_allclose(np.asarray(out, dtype="float32"), reference, rtol=tolerance, atol=tolerance)
    assert model.predict(x, verbose=0).shape == (4, 2)
    model.compile("sgd", "mse")
    history = model.fit(x, np.zeros((4, 2)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.get_layer("head").dtype == keras.backend.standardize_dtype(dtype)
