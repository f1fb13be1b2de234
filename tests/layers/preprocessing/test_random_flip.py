import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.preprocessing.random_flip import flip_images


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_forced_flips_match_oracle(oracle, rng, mode, data_format):
    x = rng.random((4, 3, 5, 2)).astype("float32")
    flips = np.array([True, False, True, False])
    theirs = oracle.layers.RandomFlip(mode, data_format=data_format)
    expected = np.asarray(theirs.transform_images(x, {"flips": flips[:, None, None, None]}, training=True))
    out = flip_images(torch.from_numpy(x), torch.from_numpy(flips), mode, data_format)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_random_flip_draws_per_image_about_half_the_time():
    x = np.arange(3 * 4, dtype="float32").reshape(1, 3, 4, 1).repeat(400, axis=0)
    out = layers.RandomFlip("horizontal", seed=3)(x, training=True).numpy()
    flipped = (out == x[:, :, ::-1]).all(axis=(1, 2, 3))
    assert ((out == x).all(axis=(1, 2, 3)) | flipped).all()
    assert 150 < flipped.sum() < 250
    both = layers.RandomFlip(seed=3)(x, training=True).numpy()
    assert ((both == x).all(axis=(1, 2, 3)) | (both == x[:, ::-1, ::-1]).all(axis=(1, 2, 3))).all()


def test_random_flip_training_inference_and_seeds():
    x = np.random.default_rng(0).random((8, 4, 4, 3))
    layer = layers.RandomFlip(seed=1)
    inference = layer(x, training=False)
    assert inference.dtype == torch.float32
    np.testing.assert_allclose(inference.numpy(), x.astype("float32"))
    # As in Keras 3, calling the layer directly augments (call's `training` defaults to True).
    assert not np.allclose(layer(x).numpy(), x)
    np.testing.assert_array_equal(
        layers.RandomFlip(seed=5)(x, training=True).numpy(), layers.RandomFlip(seed=5)(x, training=True).numpy()
    )
    assert layers.RandomFlip(seed=1)(x[0], training=True).shape == (4, 4, 3)


@pytest.mark.oracle
def test_random_flip_config_and_shapes(oracle):
    layer = layers.RandomFlip("vertical", seed=2)
    config = layer.get_config()
    theirs = oracle.layers.RandomFlip("vertical", seed=2).get_config()
    assert {k: v for k, v in config.items() if k != "dtype"} == {k: v for k, v in theirs.items() if k != "dtype"}
    assert layers.RandomFlip.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(oracle.layers.RandomFlip("horizontal", seed=7)))
    assert (restored.mode, restored.seed) == ("horizontal", 7)
    assert layer(lamina.Input((None, None, 3))).shape == (None, None, None, 3)


def test_random_flip_errors():
    with pytest.raises(ValueError, match="mode"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="seed"):
        layers.RandomFlip(seed="a")
    with pytest.raises(ValueError, match="rank"):
        layers.RandomFlip()(np.zeros((4, 4), "float32"))
