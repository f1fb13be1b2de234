"""Tests for the AdaptiveAveragePooling{1,2,3}D and AdaptiveMaxPooling{1,2,3}D layers."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

NAMES = [f"Adaptive{mode}Pooling{rank}D" for mode in ("Average", "Max") for rank in (1, 2, 3)]

# (input spatial shape, output_size) per rank: downsampling with uneven, overlapping windows,
# identity, a single cell, and upsampling where Keras's JAX result is well defined.
SHAPES = {
    1: [((10,), 3), ((7,), (4,)), ((5,), 5), ((9,), 1), ((2,), 3), ((1,), 4)],
    2: [((7, 5), (3, 2)), ((8, 6), 4), ((5, 9), (5, 1))],
    3: [((5, 7, 4), (2, 3, 4)), ((6, 6, 6), 3)],
}
CASES = [(name, shape, size) for name in NAMES for shape, size in SHAPES[int(name[-2])]]


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name,spatial,output_size", CASES)
def test_matches_oracle(oracle, name, spatial, output_size, data_format):
    rng = np.random.default_rng(0)
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    x = rng.normal(size=shape).astype("float32")
    expected = np.asarray(getattr(oracle.layers, name)(output_size, data_format=data_format)(x))
    got = getattr(layers, name)(output_size, data_format=data_format)(x)
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
def test_config_matches_oracle_and_round_trips(oracle, name):
    rank = int(name[-2])
    k = getattr(oracle.layers, name)(3, data_format="channels_first", name="pool")
    ours = getattr(layers, name)(3, data_format="channels_first", name="pool")
    config = ours.get_config()
    assert config == k.get_config()
    assert config["output_size"] == (3,) * rank
    again = type(ours).from_config(config)
    assert again.get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(k))
    assert type(restored) is type(ours) and restored.get_config() == config


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_shapes(name):
    rank = int(name[-2])
    cls = getattr(layers, name)
    out = cls(2)(lamina.Input((None,) * rank + (4,)))
    assert out.shape == (None,) + (2,) * rank + (4,)
    out = cls(2, data_format="channels_first")(lamina.Input((4,) + (7,) * rank))
    assert out.shape == (None, 4) + (2,) * rank


def test_pooling_in_a_model_trains():
    inputs = lamina.Input((None, None, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.AdaptiveAveragePooling2D((2, 2))(x)
    outputs = layers.Dense(1)(layers.Flatten()(x))
    model = lamina.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(8, 9, 7, 3)).astype("float32")
    model.fit(x, np.ones((8, 1), "float32"), epochs=1, verbose=0)
    # Any input size gives the same output size.
    assert tuple(model.predict(x[:, :5, :6], verbose=0).shape) == (8, 1)


def test_max_pooling_gradient_flows_to_the_maximum():
    x = torch.tensor([[[1.0], [3.0], [2.0], [0.0]]], requires_grad=True)
    layers.AdaptiveMaxPooling1D(2)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [0, 1, 1, 0])


@pytest.mark.parametrize("bad", [0, -1, (2,), (2, 2, 2), "2", 2.5, True, (2, None)])
def test_invalid_output_size(bad):
    with pytest.raises(ValueError, match="AdaptiveAveragePooling2D.*output_size"):
        layers.AdaptiveAveragePooling2D(bad)


def test_invalid_data_format():
    with pytest.raises(ValueError, match="data_format"):
        layers.AdaptiveMaxPooling1D(2, data_format="channels_middle")


def test_wrong_rank_names_the_layer():
    layer = layers.AdaptiveMaxPooling2D(2, name="pool2d")
    with pytest.raises(ValueError, match="pool2d"):
        layer(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="pool2d"):
        layer(lamina.Input((5, 3)))


def test_bins_follow_the_floor_ceil_rule_when_upsampling():
    # Cell i covers [floor(i * n / m), ceil((i + 1) * n / m)). Keras's JAX backend returns NaN
    # for some of these cells (3 -> 7); Lamina returns the values the rule defines.
    x = np.arange(3, dtype="float32").reshape(1, 3, 1)
    n, m = 3, 7
    windows = [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]
    avg = layers.AdaptiveAveragePooling1D(m)(x).numpy().ravel()
    top = layers.AdaptiveMaxPooling1D(m)(x).numpy().ravel()
    np.testing.assert_allclose(avg, [x[0, a:b, 0].mean() for a, b in windows])
    np.testing.assert_allclose(top, [x[0, a:b, 0].max() for a, b in windows])
