import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.regularization.spatial_dropout import (
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

CASES = [
    (SpatialDropout1D, {}, (3, 5, 6), (1,), 2),
    (SpatialDropout2D, {"data_format": "channels_last"}, (3, 4, 5, 6), (1, 2), 3),
    (SpatialDropout2D, {"data_format": "channels_first"}, (3, 6, 4, 5), (2, 3), 1),
    (SpatialDropout3D, {"data_format": "channels_last"}, (3, 2, 3, 4, 6), (1, 2, 3), 4),
    (SpatialDropout3D, {"data_format": "channels_first"}, (3, 6, 2, 3, 4), (2, 3, 4), 1),
]


@pytest.mark.parametrize("cls, kwargs, shape, spatial, channel_axis", CASES)
def test_spatial_dropout_zeroes_whole_channels(cls, kwargs, shape, spatial, channel_axis):
    x = torch.rand(shape) + 1.0
    out = cls(0.5, seed=2, **kwargs)(x, training=True)
    dropped = out == 0
    # A channel of a sample is either dropped everywhere or nowhere.
    assert torch.equal(dropped.all(dim=spatial), dropped.any(dim=spatial))
    assert dropped.any() and not dropped.all()
    torch.testing.assert_close(out[~dropped], x[~dropped] * 2.0)
    # At least one sample keeps some channels and drops others along the channel axis.
    per_channel = dropped.amax(dim=spatial)
    assert per_channel.shape == (shape[0], shape[channel_axis])


@pytest.mark.oracle
def test_spatial_dropout_inference_and_pattern_match_oracle(oracle, rng):
    for cls, kwargs, shape, spatial, _ in CASES:
        x = rng.uniform(1.0, 2.0, size=shape).astype("float32")
        ref = getattr(oracle.layers, cls.__name__)(0.4, seed=1, **kwargs)
        ours = cls(0.4, seed=1, **kwargs)
        np.testing.assert_array_equal(ours(x).numpy(), np.asarray(ref(x)))
        for out in (ours(x, training=True).numpy(), np.asarray(ref(x, training=True))):
            dropped = out == 0
            assert np.array_equal(dropped.all(axis=spatial), dropped.any(axis=spatial))
            np.testing.assert_allclose(out[~dropped], x[~dropped] / 0.6, rtol=1e-6)


def test_spatial_dropout_seed_reproducible():
    x = torch.ones(2, 3, 3, 8)
    a = SpatialDropout2D(0.5, seed=11)(x, training=True)
    b = SpatialDropout2D(0.5, seed=11)(x, training=True)
    torch.testing.assert_close(a, b)


def test_spatial_dropout_rank_checked_and_symbolic_shapes():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        SpatialDropout1D(0.5)(torch.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        SpatialDropout2D(0.5)(lamina.Input((3, 4)))
    with pytest.raises(ValueError, match="expected ndim=5"):
        SpatialDropout3D(0.5)(torch.ones(2, 3, 4, 5))
    assert SpatialDropout2D(0.1)(lamina.Input((None, None, 3))).shape == (None, None, None, 3)
    layer = SpatialDropout3D(0.1, data_format="channels_first")
    assert layer(lamina.Input((2, None, 4, 5))).shape == (None, 2, None, 4, 5)


def test_spatial_dropout_invalid_arguments():
    with pytest.raises(ValueError, match="`rate`"):
        SpatialDropout1D(2.0)
    with pytest.raises(ValueError, match="data_format"):
        SpatialDropout2D(0.5, data_format="channels_middle")
    with pytest.raises(TypeError, match="no `data_format`"):
        SpatialDropout1D(0.5, data_format="channels_first")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        SpatialDropout2D(0.5, rat=0.1)


@pytest.mark.oracle
def test_spatial_dropout_config_matches_oracle(oracle):
    cases = [
        (SpatialDropout1D, {"rate": 0.2, "seed": 3}),
        (SpatialDropout2D, {"rate": 0.2, "data_format": "channels_first"}),
        (SpatialDropout3D, {"rate": 0.5, "seed": 1}),
    ]
    for cls, kwargs in cases:
        ref = getattr(oracle.layers, cls.__name__)(name="sd", **kwargs)
        ours = cls(name="sd", **kwargs)
        assert ours.get_config() == ref.get_config()
        rebuilt = layers.deserialize(oracle.layers.serialize(ref))
        assert type(rebuilt) is cls and rebuilt.get_config() == ref.get_config()
        # A config written here loads in Keras.
        back = getattr(oracle.layers, cls.__name__).from_config(ours.get_config())
        assert back.get_config() == ref.get_config()


def test_spatial_dropout_accepts_keras2_config():
    legacy = {
        "class_name": "SpatialDropout2D",
        "config": {
            "name": "sd2",
            "trainable": True,
            "dtype": "float32",
            "rate": 0.3,
            "noise_shape": None,
            "seed": None,
            "data_format": "channels_first",
        },
    }
    layer = layers.deserialize(legacy)
    assert isinstance(layer, SpatialDropout2D)
    assert (layer.rate, layer.data_format, layer.name) == (0.3, "channels_first", "sd2")
