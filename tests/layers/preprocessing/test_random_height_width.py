"""RandomHeight / RandomWidth: Keras 2 layers (Keras 3 dropped them)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize("name, axis", [("RandomHeight", 1), ("RandomWidth", 2)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic"])
def test_fixed_factor_resizes_like_oracle_resize(oracle, rng, name, axis, interpolation):
    x = rng.random((2, 8, 10, 3)).astype("float32")
    for factor in ((0.5, 0.5), (-0.35, -0.35)):
        out = getattr(layers, name)(factor, interpolation=interpolation)(x, training=True)
        size = [8, 10]
        size[axis - 1] = int(np.float32(1 + factor[0]) * np.float32(size[axis - 1]))
        expected = np.asarray(oracle.ops.image.resize(x, tuple(size), interpolation=interpolation))
        assert out.shape[axis] == size[axis - 1]
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_one_draw_per_call_within_range():
    x = np.zeros((3, 20, 30, 1), "float32")
    layer = layers.RandomHeight((-0.5, 0.5), seed=0)
    heights = {layer(x, training=True).shape[1] for _ in range(200)}
    assert min(heights) >= 10 and max(heights) <= 30 and len(heights) > 10
    widths = {layers.RandomWidth(0.2, seed=s)(x, training=True).shape[2] for s in range(50)}
    assert min(widths) >= 24 and max(widths) <= 36


def test_inference_shapes_and_unbatched():
    x = np.random.default_rng(0).random((2, 6, 8, 3))
    out = layers.RandomWidth(0.5)(x, training=False)
    assert out.dtype == torch.float32 and np.allclose(out.numpy(), x)
    assert layers.RandomHeight((1.0, 1.0))(x[0], training=True).shape == (12, 8, 3)
    assert layers.RandomHeight(0.2)(lamina.Input((6, 8, 3))).shape == (None, None, 8, 3)
    assert layers.RandomWidth(0.2).compute_output_shape((6, 8, 3)) == (6, None, 3)


def test_config_round_trip_has_keras2_keys():
    layer = layers.RandomHeight((-0.2, 0.3), interpolation="nearest", seed=4, name="rh")
    config = layer.get_config()
    assert {k: config[k] for k in ("factor", "interpolation", "seed", "name")} == {
        "factor": (-0.2, 0.3),
        "interpolation": "nearest",
        "seed": 4,
        "name": "rh",
    }
    assert "data_format" not in config
    assert layers.RandomHeight.from_config(config).get_config() == config
    restored = layers.deserialize(layers.serialize(layers.RandomWidth(0.1, seed=2)))
    assert isinstance(restored, layers.RandomWidth) and restored.seed == 2


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomHeight((0.3, 0.1)), "upper bound"),
        (lambda: layers.RandomWidth((-1.5, -1.2)), "larger than -1"),
        (lambda: layers.RandomWidth((-1.2, 0.1)), "larger than -1"),
        (lambda: layers.RandomHeight("x"), "factor"),
        (lambda: layers.RandomHeight(0.1, interpolation="gaussian"), "interpolation"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
