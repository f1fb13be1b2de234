import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_random_crop_training_takes_one_window_per_batch():
    x = np.arange(10 * 12, dtype="float32").reshape(1, 10, 12, 1).repeat(3, axis=0)
    starts = set()
    layer = layers.RandomCrop(4, 5, seed=0)
    for _ in range(200):
        out = layer(x, training=True).numpy()
        top, left = divmod(int(out[0, 0, 0, 0]), 12)
        np.testing.assert_array_equal(out, x[:, top : top + 4, left : left + 5])
        starts.add((top, left))
    # Every offset in [0, 6] x [0, 7] is reachable; most show up in 200 draws.
    tops, lefts = zip(*starts)
    assert min(tops) == 0 and max(tops) == 6 and min(lefts) == 0 and max(lefts) == 7


@pytest.mark.oracle
def test_random_crop_center_crops_at_inference_and_for_small_images(oracle, rng):
    # Keras 3.15 returns the input unchanged at inference (keras-team/keras#21868) and slices a
    # target-sized window from the aspect-ratio box's corner for small images; Lamina does what
    # Keras documents (and Keras 2 did): the centred aspect-ratio window resized, i.e.
    # `smart_resize`, so inference outputs have the target size.
    x = (rng.random((2, 9, 11, 3)) * 255).astype("float32")
    for size, training in (((4, 6), False), ((12, 6), True), ((9, 5), True), ((12, 6), False)):
        expected = np.asarray(oracle.preprocessing.image.smart_resize(x, size))
        out = layers.RandomCrop(*size)(x, training=training)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.oracle
def test_random_crop_window_matches_oracle_slicing(oracle, rng):
    x = rng.random((2, 3, 9, 11)).astype("float32")
    theirs = oracle.layers.RandomCrop(4, 6, data_format="channels_first")
    expected = np.asarray(theirs.transform_images(x, (2, 3), training=True))
    np.testing.assert_array_equal(x[:, :, 2:6, 3:9], expected)
    out = layers.RandomCrop(4, 6, data_format="channels_first", seed=1)(x, training=True)
    assert out.shape == (2, 3, 4, 6)


def test_random_crop_shapes_dtype_and_config():
    layer = layers.RandomCrop(4, 5)
    assert isinstance(layer.seed, int)  # drawn once, as Keras does, so the config is reproducible
    config = layer.get_config()
    assert {"height": 4, "width": 5, "seed": layer.seed, "data_format": "channels_last"}.items() <= config.items()
    assert layers.RandomCrop.from_config(config).get_config() == config
    assert layer(lamina.Input((None, None, 3))).shape == (None, 4, 5, 3)
    out = layer(np.zeros((8, 8, 3), "uint8"), training=True)
    assert out.shape == (4, 5, 3) and out.dtype == torch.float32


@pytest.mark.oracle
def test_random_crop_deserializes_oracle_config(oracle):
    restored = layers.deserialize(oracle.layers.serialize(oracle.layers.RandomCrop(3, 4, seed=9)))
    assert (restored.height, restored.width, restored.seed) == (3, 4, 9)


def test_random_crop_errors():
    with pytest.raises(ValueError, match="height"):
        layers.RandomCrop(0, 3)
    with pytest.raises(ValueError, match="seed"):
        layers.RandomCrop(3, 3, seed=1.5)
