"""DepthwiseConv1D and DepthwiseConv2D."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.convolutional import DepthwiseConv1D, DepthwiseConv2D

# Keras allows a stride and a dilation above 1 together for depthwise layers (TensorFlow's rule
# only binds regular and transposed convolutions), so that case is compared too.
_CASES = [
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2), (2, 7, 3)),
    (
        "DepthwiseConv1D",
        dict(kernel_size=4, strides=3, padding="same", data_format="channels_first"),
        (2, 3, 8),
    ),
    (
        "DepthwiseConv1D",
        dict(kernel_size=2, strides=2, dilation_rate=3, padding="same", activation="relu"),
        (2, 9, 2),
    ),
    (
        "DepthwiseConv2D",
        dict(kernel_size=(2, 3), strides=(2, 1), padding="same", depth_multiplier=3),
        (2, 5, 6, 2),
    ),
    (
        "DepthwiseConv2D",
        dict(kernel_size=3, dilation_rate=(2, 1), data_format="channels_first", use_bias=False,
             activation="softmax"),
        (2, 3, 7, 5),
    ),
    (
        "DepthwiseConv2D",
        dict(kernel_size=4, strides=2, dilation_rate=2, padding="same", depth_multiplier=2,
             data_format="channels_first"),
        (2, 2, 7, 6),
    ),
]


@pytest.mark.oracle
def test_depthwise_matches_oracle(compare_with_oracle):
    for name, kwargs, shape in _CASES:
        compare_with_oracle(name, kwargs, shape)


@pytest.mark.oracle
def test_symbolic_shapes_and_configs(compare_symbolic, compare_deserialization):
    compare_symbolic(
        "DepthwiseConv2D",
        dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2),
        (None, None, 3),
    )
    compare_symbolic(
        "DepthwiseConv1D", dict(kernel_size=3, data_format="channels_first"), (4, None)
    )
    compare_deserialization(
        "DepthwiseConv2D",
        dict(kernel_size=3, depth_multiplier=2, padding="same", activation="relu",
             depthwise_regularizer="l2", depthwise_constraint="non_neg", name="dw"),
    )
    compare_deserialization("DepthwiseConv1D", dict(kernel_size=2, strides=2, use_bias=False))


def test_channels_are_never_mixed():
    # Channel c of the output (c * multiplier + m) only depends on input channel c.
    layer = DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    x = torch.zeros(1, 4, 4, 3)
    x[..., 1] = 1.0
    out = layer(x)
    assert tuple(layer.kernel.shape) == (3, 3, 3, 2)
    assert torch.count_nonzero(out[..., [0, 1, 4, 5]]) == 0
    assert torch.count_nonzero(out[..., [2, 3]]) > 0


def test_weights_gradients_and_keras2_config():
    layer = DepthwiseConv1D(3, depth_multiplier=2)
    x = torch.randn(2, 6, 4, requires_grad=True)
    out = layer(x)
    names_shapes = [(w.name, tuple(w.shape)) for w in layer.weights]
    assert names_shapes == [("kernel", (3, 4, 2)), ("bias", (8,))]
    out.sum().backward()
    assert layer.kernel.grad.shape == (3, 4, 2) and x.grad.shape == x.shape
    # tf.keras 2 wrote groups=1 in DepthwiseConv2D configs; Keras 3 rejects it, Lamina accepts it.
    config = {
        "class_name": "DepthwiseConv2D",
        "config": {"kernel_size": [3, 3], "groups": 1, "depth_multiplier": 2, "dtype": "float32"},
    }
    loaded = layers.deserialize(config)
    assert isinstance(loaded, DepthwiseConv2D) and loaded.depth_multiplier == 2


_BAD_ARGUMENTS = [
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=1.5), "depth_multiplier"),
    (lambda: DepthwiseConv1D(3, padding="causal"), "padding"),
    (lambda: DepthwiseConv2D((3, 3, 3)), "kernel_size"),
    (lambda: DepthwiseConv2D(3, strides=0), "strides"),
    (lambda: DepthwiseConv2D(3, groups=2), "groups"),
    (lambda: DepthwiseConv2D(3, data_format="nchw"), "data_format"),
]


@pytest.mark.parametrize("make, match", _BAD_ARGUMENTS)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_build_and_call_errors():
    with pytest.raises(ValueError, match="zero or negative"):
        DepthwiseConv2D(3)(np.zeros((1, 2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="channel dimension"):
        DepthwiseConv2D(3)(lamina.Input(shape=(5, 5, None)))
    layer = DepthwiseConv2D(3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="zero or negative"):
        layer(np.zeros((1, 5, 2, 3), "float32"))
    with pytest.raises(ValueError, match="expected ndim=4"):
        layer(np.zeros((1, 5, 5, 5, 3), "float32"))
