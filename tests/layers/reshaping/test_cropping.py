"""Cropping1D / Cropping2D / Cropping3D."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.reshaping.cropping1d import Cropping1D
from lamina.layers.reshaping.cropping2d import Cropping2D
from lamina.layers.reshaping.cropping3d import Cropping3D

_CLASSES = {1: Cropping1D, 2: Cropping2D, 3: Cropping3D}
# (rank, cropping, data_format, spatial shape)
_CASES = [
    (1, 1, None, (6,)),
    (1, (2, 0), None, (6,)),
    (1, [0, 3], None, (6,)),
    (2, 1, "channels_last", (5, 7)),
    (2, (1, 2), "channels_first", (5, 7)),
    (2, ((1, 0), (2, 1)), "channels_last", (5, 7)),
    (2, ((0, 2), 3), "channels_first", (5, 7)),
    (3, 1, "channels_first", (4, 5, 3)),
    (3, (1, 0, 2), "channels_last", (4, 5, 6)),
    (3, ((1, 0), (0, 2), (1, 1)), "channels_first", (4, 5, 3)),
]


def _kwargs(cropping, data_format):
    return {"cropping": cropping} if data_format is None else dict(
        cropping=cropping, data_format=data_format
    )


def _shape(spatial, data_format, channels=2):
    if data_format == "channels_first":
        return (2, channels, *spatial)
    return (2, *spatial, channels)


@pytest.mark.oracle
def test_cropping_matches_oracle(oracle, rng):
    for rank, cropping, data_format, spatial in _CASES:
        kwargs = _kwargs(cropping, data_format)
        x = rng.standard_normal(_shape(spatial, data_format)).astype("float32")
        expected = np.asarray(getattr(oracle.layers, f"Cropping{rank}D")(**kwargs)(x))
        layer = _CLASSES[rank](**kwargs)
        out = layer(x)
        np.testing.assert_array_equal(out.numpy(), expected, err_msg=str(kwargs))
        assert layer.compute_output_shape(x.shape) == expected.shape
        reference = getattr(oracle.layers, f"Cropping{rank}D")(**kwargs)
        assert layer.get_config()["cropping"] == reference.get_config()["cropping"]


@pytest.mark.oracle
def test_cropping_symbolic_shapes_match_oracle(oracle):
    cases = [
        (1, (2, 1), None, (None, 3)),
        (2, ((1, 2), (0, 1)), "channels_last", (None, 7, 3)),
        (2, 1, "channels_first", (3, 6, None)),
        (3, (1, 0, 2), "channels_last", (None, 4, None, 2)),
    ]
    for rank, cropping, data_format, shape in cases:
        kwargs = _kwargs(cropping, data_format)
        expected = getattr(oracle.layers, f"Cropping{rank}D")(**kwargs)(oracle.Input(shape)).shape
        assert _CLASSES[rank](**kwargs)(lamina.Input(shape)).shape == expected


def test_cropping_is_a_view_and_backpropagates():
    x = torch.randn(2, 5, 6, 3, requires_grad=True)
    out = Cropping2D(((1, 2), (0, 3)))(x)
    assert out.shape == (2, 2, 3, 3)
    torch.testing.assert_close(out, x[:, 1:3, 0:3, :])
    out.sum().backward()
    assert x.grad.sum().item() == 2 * 2 * 3 * 3


def test_seed_cropping2d_model_example():
    # Seed 003: Cropping2D at the input of a Sequential model, then Conv2D and another crop.
    model = lamina.Sequential()
    model.add(Cropping2D(cropping=((2, 2), (4, 4)), input_shape=(28, 28, 3)))
    assert model.output_shape == (None, 24, 20, 3)
    model.add(layers.Conv2D(64, (3, 3), padding="same"))
    model.add(Cropping2D(cropping=((2, 2), (2, 2))))
    assert model.output_shape == (None, 20, 16, 64)
    assert model(np.zeros((1, 28, 28, 3), "float32")).shape == (1, 20, 16, 64)


@pytest.mark.oracle
def test_cropping_config_round_trip(oracle):
    for rank, cropping, data_format, _ in _CASES[::3]:
        kwargs = _kwargs(cropping, data_format)
        layer = _CLASSES[rank](**kwargs, name="crop")
        config = layer.get_config()
        reference = getattr(oracle.layers, f"Cropping{rank}D")(**kwargs, name="crop")
        assert config == reference.get_config()
        assert _CLASSES[rank].from_config(config).get_config() == config
        serialized = oracle.layers.serialize(getattr(oracle.layers, f"Cropping{rank}D")(**kwargs))
        rebuilt = layers.deserialize(serialized)
        assert type(rebuilt) is _CLASSES[rank] and rebuilt.cropping == layer.cropping


def test_cropping_defaults():
    assert Cropping1D().cropping == (1, 1)
    assert Cropping2D().cropping == ((0, 0), (0, 0))
    assert Cropping3D().cropping == ((1, 1), (1, 1), (1, 1))
    assert Cropping3D(2).cropping == ((2, 2), (2, 2), (2, 2))
    assert Cropping2D((np.int64(1), 2)).cropping == ((1, 1), (2, 2))


@pytest.mark.parametrize(
    "cls, cropping",
    [
        (Cropping1D, -1),
        (Cropping1D, (1, 2, 3)),
        (Cropping1D, "1"),
        (Cropping2D, -1),
        (Cropping2D, (1, 2, 3)),
        (Cropping2D, ((1, 2), (1, 2, 3))),
        (Cropping2D, ((1, -2), 1)),
        (Cropping2D, 1.5),
        (Cropping3D, (1, 2)),
        (Cropping3D, ((1, 1), (1, 1), "a")),
    ],
)
def test_invalid_cropping(cls, cropping):
    with pytest.raises(ValueError, match="cropping"):
        cls(cropping)


def test_cropping_too_much_and_wrong_rank():
    with pytest.raises(ValueError, match=r"cropping.*removes 4 cells from axis 1, which has 4"):
        Cropping1D((2, 2))(np.zeros((1, 4, 2), "float32"))
    with pytest.raises(ValueError, match="cropping"):
        Cropping2D(((0, 0), (3, 3)), data_format="channels_first")(lamina.Input((2, 8, 6)))
    with pytest.raises(ValueError, match="data_format"):
        Cropping2D(1, data_format="channels")
    with pytest.raises(ValueError, match="expected ndim=5, found ndim=4"):
        Cropping3D()(np.zeros((1, 4, 4, 4), "float32"))
