"""ZeroPadding1D / ZeroPadding2D / ZeroPadding3D."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.reshaping.zero_padding1d import ZeroPadding1D
from lamina.layers.reshaping.zero_padding2d import ZeroPadding2D
from lamina.layers.reshaping.zero_padding3d import ZeroPadding3D

_CLASSES = {1: ZeroPadding1D, 2: ZeroPadding2D, 3: ZeroPadding3D}
# (rank, padding, data_format, spatial shape)
_CASES = [
    (1, 1, "channels_last", (3,)),
    (1, (2, 0), "channels_first", (3,)),
    (1, [0, 3], "channels_last", (3,)),
    (2, 1, "channels_first", (3, 2)),
    (2, (1, 2), "channels_last", (3, 2)),
    (2, ((1, 0), (2, 1)), "channels_first", (3, 2)),
    (2, ((0, 2), 3), "channels_last", (3, 2)),
    (3, 1, "channels_last", (2, 3, 1)),
    (3, (1, 0, 2), "channels_first", (2, 3, 1)),
    (3, ((1, 0), (0, 2), (1, 1)), "channels_last", (2, 3, 1)),
]


def _shape(spatial, data_format, channels=2):
    if data_format == "channels_first":
        return (2, channels, *spatial)
    return (2, *spatial, channels)


@pytest.mark.oracle
def test_zero_padding_matches_oracle(oracle, rng):
    for rank, padding, data_format, spatial in _CASES:
        kwargs = dict(padding=padding, data_format=data_format)
        x = rng.standard_normal(_shape(spatial, data_format)).astype("float32")
        expected = np.asarray(getattr(oracle.layers, f"ZeroPadding{rank}D")(**kwargs)(x))
        layer = _CLASSES[rank](**kwargs)
        out = layer(x)
        np.testing.assert_array_equal(out.numpy(), expected, err_msg=str(kwargs))
        assert layer.compute_output_shape(x.shape) == expected.shape


@pytest.mark.oracle
def test_zero_padding_symbolic_shapes_match_oracle(oracle):
    cases = [
        (1, (2, 1), "channels_last", (None, 3)),
        (2, ((1, 2), (0, 1)), "channels_last", (None, 7, 3)),
        (2, 1, "channels_first", (3, 6, None)),
        (3, (1, 0, 2), "channels_last", (None, 4, None, 2)),
    ]
    for rank, padding, data_format, shape in cases:
        kwargs = dict(padding=padding, data_format=data_format)
        reference = getattr(oracle.layers, f"ZeroPadding{rank}D")(**kwargs)
        expected = reference(oracle.Input(shape)).shape
        assert _CLASSES[rank](**kwargs)(lamina.Input(shape)).shape == expected


def test_zero_padding_values_dtypes_and_gradient():
    x = torch.arange(1, 5, dtype=torch.int32).reshape(1, 2, 2, 1)
    out = ZeroPadding2D(((1, 0), (0, 1)))(x)
    assert out.dtype == torch.int32
    np.testing.assert_array_equal(out[0, :, :, 0].numpy(), [[0, 0, 0], [1, 2, 0], [3, 4, 0]])
    y = torch.randn(1, 3, 2, requires_grad=True)
    ZeroPadding1D(2)(y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.ones((1, 3, 2)))


def test_zero_padding_then_cropping_is_identity():
    from lamina.layers.reshaping.cropping3d import Cropping3D

    x = np.random.default_rng(1).standard_normal((2, 3, 2, 4, 5)).astype("float32")
    pads = ((1, 2), (0, 1), (3, 0))
    for data_format in ("channels_last", "channels_first"):
        padded = ZeroPadding3D(pads, data_format=data_format)(x)
        back = Cropping3D(pads, data_format=data_format)(padded)
        np.testing.assert_array_equal(back.numpy(), x)


@pytest.mark.oracle
def test_zero_padding_config_round_trip(oracle):
    for rank, padding, data_format, _ in _CASES[::3]:
        kwargs = dict(padding=padding, data_format=data_format, name="pad")
        layer = _CLASSES[rank](**kwargs)
        config = layer.get_config()
        assert config == getattr(oracle.layers, f"ZeroPadding{rank}D")(**kwargs).get_config()
        assert _CLASSES[rank].from_config(config).get_config() == config
        reference = getattr(oracle.layers, f"ZeroPadding{rank}D")(**kwargs)
        serialized = oracle.layers.serialize(reference)
        rebuilt = layers.deserialize(serialized)
        assert type(rebuilt) is _CLASSES[rank] and rebuilt.padding == layer.padding


def test_zero_padding_defaults_and_legacy_config():
    assert ZeroPadding1D().padding == (1, 1)
    assert ZeroPadding2D().padding == ((1, 1), (1, 1))
    assert ZeroPadding3D().padding == ((1, 1), (1, 1), (1, 1))
    assert ZeroPadding3D((1, 2, 3)).padding == ((1, 1), (2, 2), (3, 3))
    # A Keras 2 style config (lists from JSON, legacy dtype string).
    legacy = {
        "class_name": "ZeroPadding2D",
        "config": {"name": "zp", "trainable": True, "dtype": "float32",
                   "padding": [[1, 1], [2, 2]], "data_format": "channels_last"},
    }
    layer = layers.deserialize(legacy)
    assert layer.padding == ((1, 1), (2, 2))
    assert layer(np.zeros((1, 2, 2, 1), "float32")).shape == (1, 4, 6, 1)


@pytest.mark.parametrize(
    "cls, padding",
    [
        (ZeroPadding1D, -1),
        (ZeroPadding1D, (1, 2, 3)),
        (ZeroPadding2D, (1, 2, 3)),
        (ZeroPadding2D, ((1, 2), (-1, 2))),
        (ZeroPadding2D, "same"),
        (ZeroPadding3D, ((1, 1), (1, 1))),
        (ZeroPadding3D, 0.5),
    ],
)
def test_invalid_padding(cls, padding):
    with pytest.raises(ValueError, match="padding"):
        cls(padding)


def test_zero_padding_wrong_rank():
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        ZeroPadding2D()(np.zeros((1, 4, 4), "float32"))
