import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"interpolation": "nearest"},
        {"interpolation": "bicubic", "antialias": True},
        {"interpolation": "lanczos3"},
        {"crop_to_aspect_ratio": True},
        {"pad_to_aspect_ratio": True, "fill_value": 3.0},
    ],
)
def test_resizing_matches_oracle(oracle, rng, kwargs):
    x = (rng.random((3, 9, 11, 2)) * 255).astype("float32")
    for size in ((5, 7), (14, 20)):
        expected = np.asarray(oracle.layers.Resizing(*size, **kwargs)(x))
        out = layers.Resizing(*size, **kwargs)(x)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.oracle
def test_resizing_channels_first_unbatched_and_integers_match_oracle(oracle, rng):
    x = rng.random((2, 3, 8, 6)).astype("float32")
    kwargs = dict(data_format="channels_first", pad_to_aspect_ratio=True)
    expected = np.asarray(oracle.layers.Resizing(4, 5, **kwargs)(x))
    np.testing.assert_allclose(layers.Resizing(4, 5, **kwargs)(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    expected = np.asarray(oracle.layers.Resizing(4, 5)(x[0]))
    np.testing.assert_allclose(layers.Resizing(4, 5)(x[0]).numpy(), expected, rtol=1e-5, atol=1e-5)
    ints = (rng.random((2, 6, 7, 3)) * 255).astype("uint8")
    expected = np.asarray(oracle.layers.Resizing(9, 4)(ints))
    out = layers.Resizing(9, 4)(ints)
    assert out.dtype == torch.uint8 and str(expected.dtype) == "uint8"
    np.testing.assert_allclose(out.numpy().astype(int), expected.astype(int), atol=1)


def test_resizing_symbolic_shapes():
    assert layers.Resizing(4, 5)(lamina.Input((None, None, 3))).shape == (None, 4, 5, 3)
    assert layers.Resizing(4, 5, data_format="channels_first")(lamina.Input((3, 8, 8))).shape == (None, 3, 4, 5)
    assert layers.Resizing(4, 5).compute_output_shape((8, 8, 3)) == (4, 5, 3)
    model = lamina.Sequential([lamina.Input((None, None, 3)), layers.Resizing(4, 5)])
    assert model.predict(np.zeros((2, 7, 9, 3), "float32"), verbose=0).shape == (2, 4, 5, 3)


@pytest.mark.oracle
def test_resizing_config_round_trip(oracle):
    kwargs = dict(interpolation="bicubic", crop_to_aspect_ratio=True, antialias=True, data_format="channels_first")
    layer = layers.Resizing(4, 5, **kwargs)
    config = layer.get_config()
    theirs = oracle.layers.Resizing(4, 5, **kwargs).get_config()
    assert {k: v for k, v in config.items() if k != "dtype"} == {k: v for k, v in theirs.items() if k != "dtype"}
    assert layers.Resizing.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(oracle.layers.Resizing(4, 5, **kwargs)))
    assert isinstance(restored, layers.Resizing) and restored.interpolation == "bicubic"
    assert restored.crop_to_aspect_ratio and restored.data_format == "channels_first"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(height=0, width=4), "height"),
        (dict(height=4, width=2.5), "width"),
        (dict(height=4, width=4, interpolation="area2"), "interpolation"),
        (dict(height=4, width=4, fill_mode="reflect"), "fill_mode"),
        (dict(height=4, width=4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one"),
        (dict(height=4, width=4, fill_value="x"), "fill_value"),
    ],
)
def test_resizing_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Resizing(**kwargs)


def test_resizing_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"resizing.*rank 3.*Received: inputs.shape=\(4, 4\)"):
        layers.Resizing(2, 2)(np.zeros((4, 4), "float32"))
