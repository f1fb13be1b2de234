import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _twin_layers(oracle, rng, kwargs, shape):
    ref = oracle.layers.BatchNormalization(**kwargs)
    ref.build(shape)
    weights = [rng.standard_normal(tuple(v.shape)).astype("float32") for v in ref.weights]
    for i, v in enumerate(ref.weights):
        if "variance" in v.name or "stddev" in v.name:
            weights[i] = np.abs(weights[i]) + 0.5
    ref.set_weights(weights)
    layer = layers.BatchNormalization(**kwargs)
    layer.build(shape)
    layer.set_weights(weights)
    return ref, layer


def _assert_same_weights(layer, ref):
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    for a, b, v in zip(layer.get_weights(), ref.get_weights(), ref.weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=v.name)


@pytest.mark.oracle
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (8, 5)),
        ({}, (4, 6, 6, 3)),
        ({"axis": 1}, (4, 3, 6, 6)),
        ({"axis": 2, "momentum": 0.9}, (4, 3, 5, 2)),
        ({"axis": -1, "epsilon": 0.1}, (2, 3, 4, 5, 3)),
        ({"center": False}, (4, 6, 3)),
        ({"scale": False, "center": False}, (5, 4)),
        ({"renorm": True}, (8, 3, 4)),
        ({"renorm": True, "renorm_clipping": {"rmax": 1.5, "rmin": 0.8, "dmax": 0.3}, "scale": False}, (8, 4)),
    ],
)
def test_batch_normalization_matches_oracle_over_steps(oracle, rng, kwargs, shape, training):
    ref, layer = _twin_layers(oracle, rng, kwargs, shape)
    for _ in range(3):
        x = (rng.standard_normal(shape) * 2 + 1).astype("float32")
        expected = np.asarray(ref(x, training=training))
        np.testing.assert_allclose(layer(x, training=training).detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    _assert_same_weights(layer, ref)


@pytest.mark.oracle
def test_batch_normalization_mask_and_single_sample_match_oracle(oracle, rng):
    shape = (4, 5, 3)
    ref, layer = _twin_layers(oracle, rng, {}, shape)
    mask = rng.random(shape[:-1]) > 0.3
    for _ in range(2):
        x = rng.standard_normal(shape).astype("float32")
        expected = np.asarray(ref(x, training=True, mask=mask))
        actual = layer(x, training=True, mask=torch.as_tensor(mask))
        np.testing.assert_allclose(actual.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    _assert_same_weights(layer, ref)
    # A mask carried by the input tensor is used the same way.
    x = torch.as_tensor(rng.standard_normal(shape).astype("float32"))
    x._keras_mask = torch.as_tensor(mask)
    np.testing.assert_allclose(
        layer(x, training=True).detach().numpy(), np.asarray(ref(x.numpy(), training=True, mask=mask)),
        rtol=1e-5, atol=1e-5,
    )
    # A batch of one has zero variance (torch's fused kernel refuses it; Keras does not).
    ref, layer = _twin_layers(oracle, rng, {}, (1, 4))
    x = rng.standard_normal((1, 4)).astype("float32")
    np.testing.assert_allclose(
        layer(x, training=True).detach().numpy(), np.asarray(ref(x, training=True)), atol=1e-5
    )
    _assert_same_weights(layer, ref)


@pytest.mark.oracle
def test_batch_normalization_gradients_match_oracle(oracle, rng):
    import jax

    shape = (6, 4, 3)
    ref, layer = _twin_layers(oracle, rng, {}, shape)
    x = rng.standard_normal(shape).astype("float32")
    target = rng.standard_normal(shape).astype("float32")

    def loss(trainable, inputs):
        out, _ = ref.stateless_call(trainable, [v.value for v in ref.non_trainable_variables], inputs, training=True)
        return ((out - target) ** 2).sum()

    grads = jax.grad(loss, argnums=(0, 1))([v.value for v in ref.trainable_variables], x)
    xt = torch.tensor(x, requires_grad=True)
    ((layer(xt, training=True) - torch.as_tensor(target)) ** 2).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), np.asarray(grads[1]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.gamma.grad.numpy(), np.asarray(grads[0][0]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.beta.grad.numpy(), np.asarray(grads[0][1]), rtol=1e-4, atol=1e-4)


@pytest.mark.oracle
def test_batch_normalization_trainable_false_runs_in_inference_mode(oracle, rng):
    ref, layer = _twin_layers(oracle, rng, {}, (6, 3))
    ref.trainable = False
    layer.trainable = False
    x = rng.standard_normal((6, 3)).astype("float32")
    before = layer.get_weights()
    np.testing.assert_allclose(
        layer(x, training=True).detach().numpy(), np.asarray(ref(x, training=True)), rtol=1e-5, atol=1e-5
    )
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_normalization_axis_list_keras2_layout():
    layer = layers.BatchNormalization(axis=[1, 3])
    x = torch.randn(4, 2, 3, 5) * 3 + 2
    y = layer(x, training=True)
    assert tuple(layer.gamma.shape) == (1, 2, 1, 5)
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    var, mean = torch.var_mean(x, dim=(0, 2), correction=0, keepdim=True)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(layer.moving_mean, 0.01 * mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(layer.moving_variance, 0.99 + 0.01 * var, rtol=1e-5, atol=1e-6)
    assert layers.BatchNormalization(axis=[3]).axis == 3
    assert layer.get_config()["axis"] == [1, 3]


def test_batch_normalization_keras2_arguments():
    layer = layers.BatchNormalization(fused=True, virtual_batch_size=None, adjustment=None, trainable=False)
    assert not layer.trainable
    with pytest.raises(ValueError, match="virtual_batch_size"):
        layers.BatchNormalization(virtual_batch_size=2)
    with pytest.raises(ValueError, match="adjustment"):
        layers.BatchNormalization(adjustment=lambda shape: (1.0, 0.0))
    with pytest.raises(ValueError, match="fused"):
        layers.BatchNormalization(fused="yes")
    assert "fused" not in layer.get_config()


def test_batch_normalization_errors():
    with pytest.raises(ValueError, match="axis"):
        layers.BatchNormalization(axis="channels")
    with pytest.raises(ValueError, match="renorm_clipping"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"rmaxx": 1.0})
    with pytest.raises(ValueError, match="rmax should be greater"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 1.0, "rmin": 2.0})
    with pytest.raises(ValueError, match="dmax"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"dmax": -1.0})
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        layers.BatchNormalization(moment=0.9)
    layer = layers.BatchNormalization(axis=3, name="bn")
    with pytest.raises(ValueError, match="out of bounds.*'bn'"):
        layer(np.ones((2, 3), "float32"))
    layer = layers.BatchNormalization(name="bn2")
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r'"bn2".*axis -1.*value 3.*\(2, 4\)'):
        layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="bn2.*ndim=2"):
        layer(np.ones((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="mask.*bn2.*one dimension less"):
        layer(np.ones((2, 3), "float32"), training=True, mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="defined dimension"):
        layers.BatchNormalization()(lamina.Input((4, None)), training=True)


def test_batch_normalization_symbolic_call_never_updates_statistics():
    layer = layers.BatchNormalization()
    x = lamina.Input((None, 3))
    y = layer(x, training=True)
    assert y.shape == (None, None, 3)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.moving_variance.numpy(), np.ones(3))
    model = lamina.Model(x, y)
    data = np.random.rand(2, 4, 3).astype("float32")
    model(data, training=True)
    assert not np.allclose(layer.moving_mean.numpy(), 0)
    assert layers.BatchNormalization(axis=1).compute_output_shape((None, 4, 5)) == (None, 4, 5)


def test_batch_normalization_layouts_and_dtypes():
    torch.manual_seed(0)
    base = torch.randn(4, 3, 5, 6)
    # The same data as contiguous NHWC and as an NHWC view of NCHW memory give the same result.
    a, b = layers.BatchNormalization(), layers.BatchNormalization()
    ya = a(base.permute(0, 2, 3, 1).contiguous(), training=True)
    yb = b(base.permute(0, 2, 3, 1), training=True)
    torch.testing.assert_close(ya, yb)
    torch.testing.assert_close(a.moving_variance, b.moving_variance)
    # float16 inputs are normalized in float32 and come back in the layer's compute dtype.
    layer = layers.BatchNormalization(dtype="mixed_float16")
    out = layer(torch.randn(8, 4).half(), training=True)
    assert out.dtype == torch.float16 and layer.moving_mean.dtype == torch.float32
    # Gradients reach the input, gamma and beta in both modes.
    for training in (True, False):
        x = torch.randn(5, 4, requires_grad=True)
        layer = layers.BatchNormalization()
        layer(x, training=training).pow(2).sum().backward()
        assert x.grad is not None and layer.gamma.grad is not None and layer.beta.grad is not None


@pytest.mark.oracle
def test_batch_normalization_config_matches_oracle(oracle):
    kwargs = dict(axis=1, momentum=0.9, epsilon=0.01, center=False, gamma_regularizer="l2",
                  beta_constraint="non_neg", renorm=True, renorm_clipping={"rmax": 2.0}, renorm_momentum=0.8)
    ours = layers.BatchNormalization(**kwargs, name="bn").get_config()
    theirs = oracle.layers.BatchNormalization(**kwargs, name="bn").get_config()
    assert sorted(ours) == sorted(theirs)
    for key in ("axis", "momentum", "epsilon", "center", "scale", "synchronized", "renorm",
                "renorm_clipping", "renorm_momentum", "dtype", "name"):
        assert ours[key] == theirs[key], key
    assert ours["gamma_regularizer"]["class_name"] == theirs["gamma_regularizer"]["class_name"]
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.BatchNormalization(**kwargs)))
    assert isinstance(rebuilt, layers.BatchNormalization) and rebuilt.renorm and rebuilt.momentum == 0.9
    again = layers.BatchNormalization.from_config(ours)
    assert again.get_config() == ours


def test_batch_normalization_module_paths():
    import lamina.layers.normalization as normalization

    assert normalization.BatchNormalization is layers.BatchNormalization
    assert lamina.layers.BatchNormalization is layers.BatchNormalization


def test_batch_normalization_synchronized_single_process_group(tmp_path):
    import torch.distributed as dist

    from lamina.ops import _normalization_math as ops

    # Combining per-part statistics gives those of the whole batch.
    x = torch.randn(10, 3)
    parts = [x[:3], x[3:]]
    counts = torch.stack([torch.full((3,), float(len(p))) for p in parts])
    means = torch.stack([p.mean(0) for p in parts])
    variances = torch.stack([p.var(0, correction=0) for p in parts])
    mean, var, count = ops.combine_moments(counts, means, variances)
    torch.testing.assert_close(mean, x.mean(0))
    torch.testing.assert_close(var, x.var(0, correction=0))
    assert count.tolist() == [10.0] * 3

    plain = layers.BatchNormalization()
    synced = layers.BatchNormalization(synchronized=True)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        torch.testing.assert_close(synced(x, training=True), plain(x, training=True))
        ys = ops.all_reduce_moments(*ops.batch_moments(x, [1])[:2], ops.batch_moments(x, [1])[2])
        torch.testing.assert_close(ys[0], x.mean(0, keepdim=True))
    finally:
        dist.destroy_process_group()
    torch.testing.assert_close(synced.moving_variance, plain.moving_variance)


@pytest.mark.parametrize("shape", [(4, 5, 6, 3), (2, 3, 4, 5, 3)])
def test_batch_normalization_channels_last_training_keeps_the_layout(shape):
    # No contiguous copy on CPU: torch's channels-last kernels run on the permuted view, so the
    # output and the input's gradient stay channels_last and the next layers' backward passes
    # see matching layouts (the copy cost a ResNet-style block a quarter of its step time).
    layer = layers.BatchNormalization()
    x = torch.randn(*shape, requires_grad=True)
    y = layer(x, training=True)
    assert y.is_contiguous()
    y.backward(torch.randn(*shape))
    assert x.grad.is_contiguous()
    moved = x.detach().movedim(-1, 1)
    expected = torch.nn.functional.batch_norm(
        moved.contiguous(), None, None, None, None, True, 0.0, layer.epsilon
    ).movedim(1, -1)
    np.testing.assert_allclose(y.detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
