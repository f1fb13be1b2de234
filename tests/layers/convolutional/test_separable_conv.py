"""SeparableConv1D and SeparableConv2D (and their SeparableConvolution* aliases)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers import convolutional
from lamina.layers.convolutional import DepthwiseConv2D, SeparableConv1D, SeparableConv2D

_CASES = [
    ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2), (2, 7, 3)),
    (
        "SeparableConv1D",
        dict(filters=2, kernel_size=4, strides=3, padding="same", data_format="channels_first",
             activation="relu"),
        (2, 3, 8),
    ),
    (
        "SeparableConv1D",
        dict(filters=3, kernel_size=2, dilation_rate=2, padding="same", use_bias=False),
        (2, 6, 2),
    ),
    (
        "SeparableConv2D",
        dict(filters=4, kernel_size=(2, 3), strides=(2, 1), padding="same", depth_multiplier=2,
             activation="softmax"),
        (2, 5, 6, 3),
    ),
    (
        "SeparableConv2D",
        dict(filters=2, kernel_size=3, dilation_rate=(1, 2), data_format="channels_first"),
        (2, 3, 5, 7),
    ),
    (
        "SeparableConv2D",
        dict(filters=3, kernel_size=3, strides=2, dilation_rate=2, padding="same"),
        (2, 7, 6, 2),
    ),
]


@pytest.mark.oracle
def test_separable_matches_oracle(compare_with_oracle):
    for name, kwargs, shape in _CASES:
        compare_with_oracle(name, kwargs, shape)


@pytest.mark.oracle
def test_symbolic_shapes_and_configs(compare_symbolic, compare_deserialization):
    compare_symbolic(
        "SeparableConv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (None, 9, 3)
    )
    compare_symbolic(
        "SeparableConv1D", dict(filters=2, kernel_size=3, data_format="channels_first"), (4, None)
    )
    compare_deserialization(
        "SeparableConv2D",
        dict(filters=4, kernel_size=3, depth_multiplier=2, activation="relu",
             pointwise_regularizer="l2", depthwise_constraint="non_neg",
             pointwise_initializer="he_uniform", name="sep"),
    )
    compare_deserialization(
        "SeparableConv1D", dict(filters=2, kernel_size=3, padding="same", use_bias=False)
    )


def test_equals_depthwise_then_pointwise(rng):
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    sep = SeparableConv2D(
        4, 3, depth_multiplier=2, padding="same", bias_initializer="random_normal"
    )
    out = sep(x)
    depthwise = DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    depthwise.build(x.shape)
    depthwise.set_weights([sep.depthwise_kernel.detach().numpy()])
    mid = depthwise(x)
    want = mid @ sep.pointwise_kernel[0, 0] + sep.bias
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_weights_order_aliases_and_gradients():
    assert convolutional.SeparableConvolution1D is SeparableConv1D
    assert convolutional.SeparableConvolution2D is SeparableConv2D
    config = {"class_name": "SeparableConvolution2D", "config": {"filters": 2, "kernel_size": 3}}
    loaded = layers.deserialize(config)
    assert type(loaded) is SeparableConv2D
    layer = SeparableConv1D(5, 3, depth_multiplier=2, pointwise_regularizer="l2")
    x = torch.randn(2, 7, 4, requires_grad=True)
    out = layer(x)
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [
        ("depthwise_kernel", (3, 4, 2)), ("pointwise_kernel", (1, 8, 5)), ("bias", (5,))
    ]
    (out.sum() + sum(layer.losses)).backward()
    assert all(w.grad is not None and w.grad.shape == w.shape for w in layer.weights)
    assert len(layer.losses) == 1


_BAD_ARGUMENTS = [
    (lambda: SeparableConv2D(4, 3, depth_multiplier=0), "depth_multiplier"),
    (lambda: SeparableConv2D(0, 3), "filters"),
    (lambda: SeparableConv1D(4, 3, padding="causal"), "padding"),
    (lambda: SeparableConv2D(4, (3,)), "kernel_size"),
    (lambda: SeparableConv2D(4, 3, dilation_rate=(1, 0)), "dilation_rate"),
    (lambda: SeparableConv2D(4, 3, groups=2), "groups"),
]


@pytest.mark.parametrize("make, match", _BAD_ARGUMENTS)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_build_and_call_errors():
    with pytest.raises(ValueError, match="zero or negative"):
        SeparableConv2D(2, 3)(lamina.Input(shape=(2, None, 3)))
    with pytest.raises(ValueError, match="channel dimension"):
        SeparableConv1D(2, 3)(lamina.Input(shape=(5, None)))
    layer = SeparableConv1D(2, 3)
    layer(np.zeros((1, 5, 3), "float32"))
    with pytest.raises(ValueError, match="zero or negative"):
        layer(np.zeros((1, 2, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1"):
        layer(np.zeros((1, 5, 4), "float32"))
