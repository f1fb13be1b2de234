"""Windowed pooling: MaxPooling{1,2,3}D and AveragePooling{1,2,3}D."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers import pooling

# (rank, spatial shape, pool_size, strides, padding, data_format): odd sizes, strides that do not
# divide them, "same" cases needing asymmetric padding. Data formats alternate (each oracle call
# compiles, so the cross product is left to the format-equivalence test below).
_CASES = [
    (1, (7,), 3, None, "valid", "channels_last"),
    (1, (7,), 4, 3, "same", "channels_first"),
    (1, (7,), 2, 1, "same", "channels_last"),
    (2, (5, 7), (2, 3), None, "valid", "channels_first"),
    (2, (5, 7), (3, 3), (2, 1), "same", "channels_last"),
    (2, (5, 7), (2, 2), (3, 2), "same", "channels_first"),
    (3, (5, 4, 3), (2, 2, 2), None, "valid", "channels_last"),
    (3, (5, 4, 3), (3, 2, 2), (2, 2, 1), "same", "channels_first"),
]


def _input_shape(spatial, channels, data_format, batch=2):
    if data_format == "channels_last":
        return (batch, *spatial, channels)
    return (batch, channels, *spatial)


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["Max", "Average"])
def test_pooling_matches_oracle(oracle, rng, mode):
    # One test per mode, looping over the cases: the oracle fixture's session reset is slow.
    for rank, spatial, pool, strides, padding, data_format in _CASES:
        name = f"{mode}Pooling{rank}D"
        kwargs = dict(pool_size=pool, strides=strides, padding=padding, data_format=data_format)
        x = rng.standard_normal(_input_shape(spatial, 3, data_format)).astype("float32")
        expected = np.asarray(getattr(oracle.layers, name)(**kwargs)(x))
        layer = getattr(pooling, name)(**kwargs)
        out = layer(x)
        assert isinstance(out, torch.Tensor)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=str(kwargs))
        assert layer.compute_output_shape(x.shape) == expected.shape


@pytest.mark.parametrize("mode", ["Max", "Average"])
def test_channels_first_equals_channels_last(rng, mode):
    for rank, spatial, pool, strides, padding, _ in _CASES:
        cls = getattr(pooling, f"{mode}Pooling{rank}D")
        x = rng.standard_normal((2, *spatial, 3)).astype("float32")
        last = cls(pool, strides, padding, data_format="channels_last")(x)
        first = cls(pool, strides, padding, data_format="channels_first")(np.moveaxis(x, -1, 1))
        np.testing.assert_allclose(first.movedim(1, -1).numpy(), last.numpy(), rtol=1e-6)


def test_average_same_padding_ignores_padded_cells():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32").reshape(1, 5, 1)
    out = pooling.AveragePooling1D(pool_size=2, padding="same")(x)
    # The last window holds one real cell (5) and one padded cell: its average is 5, not 2.5.
    np.testing.assert_allclose(out[0, :, 0].numpy(), [1.5, 3.5, 5.0])
    # Padding goes at the end when the total is odd (TensorFlow/JAX convention).
    x = np.arange(1.0, 5.0, dtype="float32").reshape(1, 4, 1)
    out = pooling.AveragePooling1D(pool_size=4, strides=3, padding="same")(x)
    np.testing.assert_allclose(out[0, :, 0].numpy(), [2.0, 3.5])
    out = pooling.MaxPooling1D(pool_size=4, strides=3, padding="same")(-x)
    np.testing.assert_allclose(out[0, :, 0].numpy(), [-1.0, -3.0])


def test_pooling_accepts_tensors_and_backpropagates():
    x = torch.randn(2, 4, 4, 3, requires_grad=True)
    out = pooling.MaxPooling2D(pool_size=[2, 2], padding="SAME")(x)
    assert out.shape == (2, 2, 2, 3)
    out.sum().backward()
    # Each window routes its gradient to exactly one cell.
    assert x.grad.sum().item() == pytest.approx(2 * 2 * 2 * 3)
    y = torch.ones(1, 3, 1, requires_grad=True)
    pooling.AveragePooling1D(2, padding="same")(y).sum().backward()
    np.testing.assert_allclose(y.grad[0, :, 0].numpy(), [0.5, 0.5, 1.0])


@pytest.mark.oracle
def test_pooling_symbolic_shapes_match_oracle(oracle):
    cases = [
        ("MaxPooling1D", (None, 3), dict(pool_size=2, padding="same")),
        ("AveragePooling2D", (None, 7, 3), dict(pool_size=3, strides=2, padding="same")),
        ("MaxPooling2D", (9, None, 7), dict(pool_size=(2, 3), data_format="channels_first",
                                            padding="same")),
        ("AveragePooling3D", (5, 4, 6, 2), dict(pool_size=2, strides=(1, 2, 3))),
    ]
    for name, shape, kwargs in cases:
        expected = getattr(oracle.layers, name)(**kwargs)(oracle.Input(shape)).shape
        out = getattr(pooling, name)(**kwargs)(lamina.Input(shape))
        assert tuple(out.shape) == tuple(expected), (name, shape, kwargs)


def test_pooling_symbolic_shapes_keep_unknown_dims():
    # (Keras 3 itself fails on unknown spatial dims with "valid" padding.)
    out = pooling.MaxPooling2D((2, 3), data_format="channels_first")(lamina.Input((9, None, 7)))
    assert tuple(out.shape) == (None, 9, None, 2)
    out = pooling.AveragePooling3D(2)(lamina.Input((None, 5, None, 2)))
    assert tuple(out.shape) == (None, None, 2, None, 2)


@pytest.mark.oracle
def test_pooling_config_round_trip(oracle):
    cases = [
        ("MaxPooling1D", dict(pool_size=3, strides=1, padding="same")),
        ("MaxPooling3D", dict(pool_size=(1, 2, 3), data_format="channels_first")),
        ("AveragePooling2D", dict(pool_size=(2, 3), strides=(1, 2))),
    ]
    for name, kwargs in cases:
        cls = getattr(pooling, name)
        layer = cls(**kwargs, name="pool")
        config = layer.get_config()
        reference = getattr(oracle.layers, name)(**kwargs, name="pool").get_config()
        assert set(config) == set(reference)
        for key in ("pool_size", "strides", "padding", "data_format", "name", "dtype"):
            assert config[key] == reference[key], key
        assert cls.from_config(config).get_config() == config
        serialized = oracle.layers.serialize(getattr(oracle.layers, name)(**kwargs))
        rebuilt = layers.deserialize(serialized)
        assert type(rebuilt) is cls
        assert rebuilt.pool_size == layer.pool_size and rebuilt.strides == layer.strides


def test_aliases_and_legacy_names():
    assert pooling.MaxPool1D is pooling.MaxPooling1D
    assert pooling.MaxPool2D is pooling.MaxPooling2D
    assert pooling.MaxPool3D is pooling.MaxPooling3D
    assert pooling.AvgPool1D is pooling.AveragePooling1D
    assert pooling.AvgPool2D is pooling.AveragePooling2D
    assert pooling.AvgPool3D is pooling.AveragePooling3D
    layer = layers.deserialize({"class_name": "MaxPool2D", "config": {"pool_size": [3, 3]}})
    assert type(layer) is pooling.MaxPooling2D and layer.pool_size == (3, 3)
    # Keras 2 gave AveragePooling a default pool size of 2.
    assert pooling.AveragePooling2D().pool_size == (2, 2)
    assert pooling.MaxPooling2D(3).strides == (3, 3)


def test_default_data_format_follows_image_data_format():
    try:
        lamina.backend.set_image_data_format("channels_first")
        layer = pooling.MaxPooling2D()
    finally:
        lamina.backend.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer(np.zeros((1, 3, 4, 6), "float32")).shape == (1, 3, 2, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pool_size=0), "pool_size"),
        (dict(pool_size=(2, 2, 2)), "pool_size"),
        (dict(pool_size="2"), "pool_size"),
        (dict(pool_size=2.0), "pool_size"),
        (dict(strides=-1), "strides"),
        (dict(strides=(1, 0)), "strides"),
        (dict(padding="full"), r"padding.*\['valid', 'same'\].*full"),
        (dict(padding=1), "padding"),
        (dict(data_format="nhwc"), "data_format"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pooling.MaxPooling2D(**kwargs)


def test_wrong_rank_and_too_small_inputs():
    layer = pooling.MaxPooling2D()
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        layer(np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match="zero or negative"):
        pooling.AveragePooling1D(5)(np.zeros((1, 3, 2), "float32"))
    with pytest.raises(ValueError, match="max_pooling1d.*zero or negative"):
        pooling.MaxPooling1D(5)(lamina.Input((3, 2)))
    # "same" never produces an empty output.
    out = pooling.MaxPooling1D(5, padding="same")(np.zeros((1, 3, 2), "float32"))
    assert out.shape == (1, 1, 2)
