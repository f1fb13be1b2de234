import numpy as np
import pytest

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize("size", [(5, 7), (4, 4), (9, 11), (12, 4), (20, 20)])
def test_center_crop_matches_oracle(oracle, rng, size):
    # Smaller targets crop; a target larger on either axis resizes the aspect-ratio window.
    x = (rng.random((2, 9, 11, 3)) * 255).astype("float32")
    expected = np.asarray(oracle.layers.CenterCrop(*size)(x))
    np.testing.assert_allclose(layers.CenterCrop(*size)(x).numpy(), expected, rtol=1e-5, atol=1e-4)
    expected = np.asarray(oracle.layers.CenterCrop(*size)(x[1]))
    np.testing.assert_allclose(layers.CenterCrop(*size)(x[1]).numpy(), expected, rtol=1e-5, atol=1e-4)
    xf = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    expected = np.asarray(oracle.layers.CenterCrop(*size, data_format="channels_first")(xf))
    out = layers.CenterCrop(*size, data_format="channels_first")(xf)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.oracle
def test_center_crop_integer_images_become_floats(oracle):
    x = np.arange(2 * 5 * 5, dtype="uint8").reshape(2, 5, 5, 1)
    out = layers.CenterCrop(3, 3)(x)
    assert str(out.dtype) == "torch.float32"
    np.testing.assert_array_equal(out.numpy(), np.asarray(oracle.layers.CenterCrop(3, 3)(x)))
    assert out[0, :, :, 0].tolist() == [[6, 7, 8], [11, 12, 13], [16, 17, 18]]


def test_center_crop_shapes_and_config():
    assert layers.CenterCrop(3, 4)(lamina.Input((None, None, 2))).shape == (None, 3, 4, 2)
    assert layers.CenterCrop(3, 4, data_format="channels_first").compute_output_shape((2, 8, 8)) == (2, 3, 4)
    layer = layers.CenterCrop(3, 4, name="cc")
    config = layer.get_config()
    assert {"height": 3, "width": 4, "data_format": "channels_last", "name": "cc"}.items() <= config.items()
    assert layers.CenterCrop.from_config(config).get_config() == config


@pytest.mark.oracle
def test_center_crop_deserializes_oracle_config(oracle):
    restored = layers.deserialize(oracle.layers.serialize(oracle.layers.CenterCrop(3, 4, data_format="channels_first")))
    assert (restored.height, restored.width, restored.data_format) == (3, 4, "channels_first")


def test_center_crop_errors():
    with pytest.raises(ValueError, match="height"):
        layers.CenterCrop(-1, 3)
    with pytest.raises(ValueError, match="width"):
        layers.CenterCrop(3, None)
    with pytest.raises(ValueError, match="center_crop.*rank"):
        layers.CenterCrop(2, 2, name="center_crop")(np.zeros((1, 1, 4, 4, 1), "float32"))
