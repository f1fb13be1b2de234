"""Shared helpers for the convolution tests: build a layer in Keras and Lamina, compare them."""

import json

import numpy as np
import pytest
import torch

from lamina.layers import convolutional


def _plain(config):
    # Tuples vs lists and the layer name are not what these comparisons are about.
    config = json.loads(json.dumps(config))
    config.pop("name", None)
    return config


def _initializer_args(name):
    if name.startswith("Separable"):
        return ("depthwise_initializer", "pointwise_initializer", "bias_initializer")
    if name.startswith("Depthwise"):
        return ("depthwise_initializer", "bias_initializer")
    return ("kernel_initializer", "bias_initializer")


@pytest.fixture
def compare_with_oracle(oracle, rng):
    """``check(name, kwargs, shape)``: same weights and input in both libraries, same output.

    Also checks the weight names, shapes and order, and that ``get_config()`` matches Keras's.
    Returns the Lamina layer.
    """

    def check(name, kwargs, shape, x=None):
        # Keras compiles its random initializers once per weight shape (seconds per layer here);
        # "zeros" is cheap, and the random weights, bias included, are set from numpy instead.
        kwargs = dict(kwargs)
        for arg in _initializer_args(name):
            kwargs.setdefault(arg, "zeros")
        keras_layer = getattr(oracle.layers, name)(**kwargs)
        layer = getattr(convolutional, name)(**kwargs)
        if x is None:
            x = rng.standard_normal(shape).astype("float32")
        keras_layer.build(tuple(x.shape))
        keras_layer.set_weights(
            [rng.standard_normal(w.shape).astype("float32") for w in keras_layer.weights]
        )
        expected = np.asarray(keras_layer(x))
        layer.build(tuple(x.shape))
        assert [(w.name, tuple(w.shape)) for w in layer.weights] == [
            (w.name, tuple(w.shape)) for w in keras_layer.weights
        ], f"{name} {kwargs}"
        layer.set_weights(keras_layer.get_weights())
        out = layer(x)
        assert isinstance(out, torch.Tensor)
        np.testing.assert_allclose(
            out.detach().numpy(), expected, rtol=1e-5, atol=1e-5, err_msg=f"{name} {kwargs}"
        )
        assert layer.compute_output_shape(tuple(x.shape)) == expected.shape
        assert _plain(layer.get_config()) == _plain(keras_layer.get_config())
        return layer

    return check


@pytest.fixture
def compare_symbolic(oracle):
    """``check(name, kwargs, shape)``: the symbolic output shape (``None`` dims kept) matches."""
    import lamina

    def check(name, kwargs, shape):
        kwargs = dict(kwargs, **{arg: "zeros" for arg in _initializer_args(name)})
        expected = getattr(oracle.layers, name)(**kwargs)(oracle.Input(shape=shape)).shape
        out = getattr(convolutional, name)(**kwargs)(lamina.Input(shape=shape))
        assert tuple(out.shape) == tuple(expected), f"{name} {kwargs} {shape}"

    return check


@pytest.fixture
def compare_deserialization(oracle):
    """``check(name, kwargs)``: Keras's serialized layer (also through JSON) loads in Lamina."""
    from lamina import layers

    def check(name, kwargs):
        keras_layer = getattr(oracle.layers, name)(**kwargs)
        serialized = oracle.layers.serialize(keras_layer)
        for form in (serialized, json.loads(json.dumps(serialized))):
            layer = layers.deserialize(form)
            assert type(layer) is getattr(convolutional, name)
            assert layer.name == keras_layer.name
            assert _plain(layer.get_config()) == _plain(keras_layer.get_config())
        # Lamina's own round trip.
        again = type(layer).from_config(layer.get_config())
        assert _plain(again.get_config()) == _plain(layer.get_config())

    return check
