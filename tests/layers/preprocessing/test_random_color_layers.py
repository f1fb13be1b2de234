"""RandomContrast and RandomBrightness."""

import numpy as np
import pytest
import torch

from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_fixed_contrast_matches_oracle(oracle, rng, data_format):
    x = (rng.random((3, 6, 7, 3)) * 255).astype("float32")
    # factor=(-a, a) draws c from [1 + a, 1 + a]: a fixed contrast factor.
    for factor, value_range in (((-0.4, 0.4), (0, 255)), ((-0.9, 0.9), (20, 200))):
        kwargs = dict(value_range=value_range, data_format=data_format)
        expected = np.asarray(oracle.layers.RandomContrast(factor, **kwargs)(x, training=True))
        out = layers.RandomContrast(factor, **kwargs)(x, training=True)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.oracle
def test_fixed_brightness_matches_oracle(oracle, rng):
    x = (rng.random((3, 6, 7, 3)) * 255).astype("float32")
    for factor, value_range in (((0.1, 0.1), (0, 255)), ((-0.3, -0.3), (255, 0)), ((0.5, 0.5), [0, 1])):
        expected = np.asarray(oracle.layers.RandomBrightness(factor, value_range)(x, training=True))
        out = layers.RandomBrightness(factor, value_range)(x, training=True)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(out[0].numpy(), expected[0], rtol=1e-5, atol=1e-4)


def test_contrast_factor_range_follows_keras3():
    # One number f gives factor (0, f): contrast factors in [1, 1 + f] (Keras 3.15).
    x = np.zeros((2000, 2, 1, 1), "float32")
    x[:, 1] = 100.0
    out = layers.RandomContrast(0.5, value_range=(-1e6, 1e6), seed=0)(x, training=True).numpy()
    factors = (out[:, 1, 0, 0] - out[:, 0, 0, 0]) / 100.0
    assert 1.0 <= factors.min() < 1.01 and 1.49 < factors.max() <= 1.5
    out = layers.RandomContrast((0.2, 0.3), value_range=(-1e6, 1e6), seed=0)(x, training=True).numpy()
    factors = (out[:, 1, 0, 0] - out[:, 0, 0, 0]) / 100.0
    assert 0.8 <= factors.min() < 0.81 and 1.29 < factors.max() <= 1.3


def test_brightness_delta_range_and_clipping():
    x = np.full((2000, 2, 2, 1), 100.0, "float32")
    out = layers.RandomBrightness(0.2, seed=0)(x, training=True).numpy()
    deltas = out[:, 0, 0, 0] - 100.0
    assert -51.0 <= deltas.min() < -50 and 50 < deltas.max() <= 51.0
    assert (out == out[:, :1, :1]).all()  # one delta per image
    clipped = layers.RandomBrightness((0.9, 1.0), seed=0)(x, training=True).numpy()
    assert clipped.max() == 255.0
    ints = layers.RandomBrightness((-0.9, -0.9), seed=0)(x.astype("uint8"), training=True)
    assert ints.dtype == torch.uint8 and int(ints.min()) == 0  # no unsigned wrap-around


def test_inference_is_identity_and_default_call_augments():
    x = (np.random.default_rng(0).random((2, 4, 4, 3)) * 255).astype("uint8")
    for layer in (layers.RandomContrast(0.5, seed=1), layers.RandomBrightness(0.5, seed=1)):
        out = layer(x, training=False)
        assert out.dtype == torch.uint8 and np.array_equal(out.numpy(), x)
        assert not np.array_equal(layer(x.astype("float32")).numpy(), x)
    assert layers.RandomContrast(0.5)(x, training=True).dtype == torch.float32


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["RandomContrast", "RandomBrightness"])
def test_config_matches_oracle(oracle, name):
    for args in ((0.3,), ((0.1, 0.4), (0, 1)), ((0.2, -0.1), [255, 0])):
        if name == "RandomContrast" and args[0] == (0.2, -0.1):
            continue
        ours, theirs = getattr(layers, name)(*args, seed=5), getattr(oracle.layers, name)(*args, seed=5)
        config, their_config = ours.get_config(), theirs.get_config()
        for key in ("factor", "value_range", "seed", "data_format"):
            assert config[key] == their_config[key], key
        assert getattr(layers, name).from_config(config).get_config() == config
        restored = layers.deserialize(oracle.layers.serialize(theirs))
        assert tuple(restored.factor) == tuple(config["factor"])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomContrast(1.5), "factor"),
        (lambda: layers.RandomContrast(-0.1), "factor"),
        (lambda: layers.RandomContrast((1.5, 2.0)), "factor"),
        (lambda: layers.RandomContrast(0.1, value_range=5), "value_range"),
        (lambda: layers.RandomBrightness(1.2), "factor"),
        (lambda: layers.RandomBrightness((0.1, 0.2, 0.3)), "factor"),
        (lambda: layers.RandomBrightness(0.1, value_range=(0, 1, 2)), "value_range"),
        (lambda: layers.RandomBrightness("x"), "factor"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
