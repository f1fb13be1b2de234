"""ContrastLimitedAdaptiveHistogramEqualization against Keras."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

CLAHE = layers.ContrastLimitedAdaptiveHistogramEqualization


@pytest.mark.oracle
@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((2, 32, 32, 3), {}),
        ((2, 30, 27, 2), dict(tile_grid_size=(4, 3), clip_limit=2.0)),
        ((2, 17, 13, 1), dict(clip_limit=0, tile_grid_size=(3, 5))),
        ((2, 3, 20, 22), dict(data_format="channels_first", value_range=(0, 1))),
        ((18, 20, 3), dict(tile_grid_size=(2, 2), value_range=(-1, 1))),
    ],
)
def test_matches_oracle(oracle, rng, shape, kwargs):
    low, high = kwargs.get("value_range", (0, 255))
    x = (rng.random(shape) * (high - low) + low).astype("float32")
    x[..., :5, :, :] = low + (x[..., :5, :, :] - low) * 0.3  # uneven contrast across tiles
    expected = np.asarray(oracle.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)(x))
    np.testing.assert_allclose(CLAHE(**kwargs)(x).numpy(), expected, rtol=1e-5, atol=1e-4 * (high - low))


def test_deterministic_in_training_and_inference_and_shapes():
    x = (np.random.default_rng(0).random((2, 16, 16, 3)) * 255).astype("float32")
    layer = CLAHE(tile_grid_size=(2, 2))
    torch.testing.assert_close(layer(x, training=True), layer(x, training=False))
    assert not np.allclose(layer(x).numpy(), x)
    flat = layer(np.full((8, 8, 1), 9.0, "float32")).numpy()
    np.testing.assert_allclose(flat, flat.flat[0])  # identical tiles, identical mappings
    assert layer(lamina.Input((None, None, 3))).shape == (None, None, None, 3)
    assert layer(x.astype("uint8")).dtype == torch.float32


@pytest.mark.oracle
def test_config_matches_oracle_and_round_trips(oracle):
    kwargs = dict(value_range=(0, 1), clip_limit=2.5, tile_grid_size=(4, 6), data_format="channels_first")
    ours, theirs = CLAHE(**kwargs), oracle.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    drop = ("dtype", "name")
    assert {k: v for k, v in ours.get_config().items() if k not in drop} == {
        k: v for k, v in theirs.get_config().items() if k not in drop
    }
    restored = layers.deserialize(oracle.layers.serialize(theirs))
    assert type(restored) is CLAHE and restored.get_config()["tile_grid_size"] in ((4, 6), [4, 6])
    assert CLAHE.from_config(ours.get_config()).get_config() == ours.get_config()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tile_grid_size=(0, 2)), "tile_grid_size"),
        (dict(tile_grid_size=4), "tile_grid_size"),
        (dict(clip_limit="high"), "clip_limit"),
        (dict(value_range=(1,)), "value_range"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CLAHE(**kwargs)
