"""Conv1D, Conv2D, Conv3D (and their Convolution* aliases)."""

import json
import re

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.backend import config as backend_config
from lamina.layers import convolutional
from lamina.layers.convolutional import Conv1D, Conv2D, Conv3D
from lamina.layers.core.masking import Masking

# Odd sizes, strides that do not divide them, even kernels with "same" (asymmetric padding),
# dilations, groups, causal padding; every class in both data formats.
_CASES = [
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 7, 3)),
    (
        "Conv1D",
        dict(filters=4, kernel_size=4, strides=3, padding="same", data_format="channels_first"),
        (2, 3, 8),
    ),
    (
        "Conv1D",
        dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal", activation="relu"),
        (2, 7, 3),
    ),
    (
        "Conv1D",
        dict(filters=4, kernel_size=2, strides=2, padding="causal", groups=2,
             data_format="channels_first"),
        (2, 4, 9),
    ),
    ("Conv2D", dict(filters=4, kernel_size=(2, 3), strides=(2, 1), padding="same"), (2, 7, 6, 3)),
    ("Conv2D", dict(filters=4, kernel_size=4, padding="same", activation="softmax"), (2, 5, 6, 2)),
    (
        "Conv2D",
        dict(filters=6, kernel_size=3, dilation_rate=(2, 1), groups=3, padding="same",
             data_format="channels_first", activation="tanh"),
        (2, 6, 7, 5),
    ),
    (
        "Conv2D",
        dict(filters=3, kernel_size=(4, 2), strides=3, use_bias=False, activation="softmax",
             data_format="channels_first"),
        (2, 2, 9, 8),
    ),
    (
        "Conv3D",
        dict(filters=2, kernel_size=(2, 3, 2), strides=(1, 2, 2), padding="same"),
        (2, 4, 5, 5, 2),
    ),
    (
        "Conv3D",
        dict(filters=4, kernel_size=2, dilation_rate=2, groups=2, data_format="channels_first"),
        (2, 4, 5, 4, 5),
    ),
]


@pytest.mark.oracle
def test_conv_matches_oracle(compare_with_oracle):
    for name, kwargs, shape in _CASES:
        compare_with_oracle(name, kwargs, shape)


@pytest.mark.oracle
def test_integer_inputs_are_convolved_as_floats(compare_with_oracle, rng):
    x = rng.integers(-3, 4, size=(2, 5, 5, 2)).astype("int32")
    layer = compare_with_oracle("Conv2D", dict(filters=2, kernel_size=3), x.shape, x=x)
    assert layer(x).dtype == torch.float32


@pytest.mark.oracle
def test_symbolic_shapes_keep_unknown_dims(compare_symbolic):
    compare_symbolic(
        "Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (None, None, 3)
    )
    compare_symbolic(
        "Conv2D", dict(filters=4, kernel_size=3, data_format="channels_first"), (3, None, 9)
    )
    compare_symbolic(
        "Conv1D", dict(filters=2, kernel_size=5, strides=2, padding="causal"), (None, 3)
    )
    compare_symbolic("Conv3D", dict(filters=2, kernel_size=2, strides=(1, 2, 3)), (None, 7, 8, 1))


@pytest.mark.oracle
def test_keras_configs_deserialize(compare_deserialization):
    compare_deserialization(
        "Conv2D",
        dict(
            filters=4, kernel_size=(3, 2), strides=2, padding="same", groups=2, activation="relu",
            use_bias=False, kernel_initializer="he_normal", kernel_regularizer="l2",
            activity_regularizer="l1", kernel_constraint="non_neg", name="c",
        ),
    )
    compare_deserialization(
        "Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2)
    )
    compare_deserialization(
        "Conv3D",
        dict(filters=2, kernel_size=2, data_format="channels_first", bias_regularizer="l1"),
    )


def test_aliases_and_legacy_module_path():
    assert convolutional.Convolution1D is Conv1D
    assert convolutional.Convolution2D is Conv2D
    assert convolutional.Convolution3D is Conv3D
    # Keras 2 configs may name the alias.
    config = {"class_name": "Convolution2D", "config": {"filters": 2, "kernel_size": 3}}
    layer = layers.deserialize(config)
    assert type(layer) is Conv2D


def test_keras2_config_loads():
    config = {
        "class_name": "Conv2D",
        "config": {
            "name": "conv2d_1", "trainable": True, "batch_input_shape": [None, 28, 28, 3],
            "dtype": "float32", "filters": 8, "kernel_size": [3, 3], "strides": [1, 1],
            "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
            "groups": 1, "activation": "relu", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None,
        },
    }
    layer = layers.deserialize(config)
    assert (layer.filters, layer.kernel_size) == (8, (3, 3))
    assert layer.activation is lamina.activations.relu
    model = lamina.Sequential([layer])
    assert model.output_shape == (None, 26, 26, 8)


def test_config_round_trip_through_json():
    layer = Conv2D(4, 3, strides=(2, 1), padding="SAME", groups=2, activation="relu")
    config = json.loads(json.dumps(layer.get_config()))
    clone = Conv2D.from_config(config)
    assert clone.get_config() == layer.get_config()
    assert clone.padding == "same" and clone.strides == (2, 1)


def test_seed_002_conv2d_on_images(rng):
    x = rng.standard_normal((4, 28, 28, 3)).astype("float32")
    y = Conv2D(2, 3, activation="relu", input_shape=x.shape[1:])(x)
    assert tuple(y.shape) == (4, 26, 26, 2)
    assert float(y.detach().min()) >= 0.0
    # `from keras.layers.convolutional import Conv2D` in the seed, functional style.
    visible = lamina.Input(shape=(64, 64, 1))
    conv1 = Conv2D(32, kernel_size=4, activation="relu")(visible)
    assert tuple(conv1.shape) == (None, 61, 61, 32)


def test_seed_001_channels_first_then_flatten():
    previous = backend_config.image_data_format()
    backend_config.set_image_data_format("channels_first")
    try:
        model = lamina.Sequential()
        model.add(Conv2D(64, (3, 3), input_shape=(3, 32, 32), padding="same"))
        assert model.output_shape == (None, 64, 32, 32)
        model.add(lamina.layers.Flatten())
        assert model.output_shape == (None, 65536)
        out = model(np.zeros((1, 3, 32, 32), "float32"))
        assert tuple(out.shape) == (1, 65536)
    finally:
        backend_config.set_image_data_format(previous)


def test_seed_003_cropping_around_a_same_conv():
    model = lamina.Sequential()
    model.add(lamina.layers.Cropping2D(cropping=((2, 2), (4, 4)), input_shape=(28, 28, 3)))
    assert model.output_shape == (None, 24, 20, 3)
    model.add(Conv2D(64, (3, 3), padding="same"))
    model.add(lamina.layers.Cropping2D(cropping=((2, 2), (2, 2))))
    assert model.output_shape == (None, 20, 16, 64)


@pytest.mark.oracle
def test_mixed_precision_matches_oracle(oracle, rng):
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    for name, kwargs in [
        ("Conv2D", dict(filters=2, kernel_size=3, padding="same")),
        ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2)),
    ]:
        kwargs.update(dtype="mixed_bfloat16", kernel_initializer="zeros")
        keras_layer = getattr(oracle.layers, name)(**kwargs)
        keras_layer.build(x.shape)
        keras_layer.set_weights([rng.standard_normal(w.shape) for w in keras_layer.weights])
        expected = np.asarray(keras_layer(x), dtype="float32")
        layer = getattr(convolutional, name)(**kwargs)
        layer.build(x.shape)
        layer.set_weights(keras_layer.get_weights())
        out = layer(x)
        # Variables stay float32, the computation runs in bfloat16.
        assert out.dtype == torch.bfloat16 and layer.kernel.dtype == torch.float32
        # bfloat16 keeps 8 bits of mantissa; torch and XLA accumulate in different orders, so a
        # few outputs differ by several bfloat16 steps (measured up to 0.024 at values near 0.5).
        np.testing.assert_allclose(out.float().detach().numpy(), expected, rtol=2e-2, atol=3e-2)


def test_formats_agree_and_outputs_stay_contiguous(rng):
    x = rng.standard_normal((2, 6, 7, 4)).astype("float32")
    last = Conv2D(4, 4, strides=2, padding="same", groups=2)
    first = Conv2D(4, 4, strides=2, padding="same", groups=2, data_format="channels_first")
    out_last = last(x)
    first.build((None, 4, 6, 7))
    first.set_weights(last.get_weights())
    out_first = first(np.moveaxis(x, -1, 1))
    np.testing.assert_allclose(
        out_first.movedim(1, -1).detach().numpy(), out_last.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    # channels_last runs on a zero-copy NCHW view whose result is already channels_last.
    assert out_last.is_contiguous()
    assert Conv1D(2, 3, padding="same")(x[:, 0]).is_contiguous()


def test_causal_padding_never_looks_ahead():
    x = torch.zeros(1, 8, 1)
    x[0, 5, 0] = 1.0
    layer = Conv1D(
        1, 3, padding="causal", dilation_rate=2, kernel_initializer="ones", use_bias=False
    )
    out = layer(x)[0, :, 0]
    # An impulse at t=5 reaches t=5, 7 (taps at t, t-2, t-4), never earlier steps.
    np.testing.assert_array_equal(out.detach().numpy(), [0, 0, 0, 0, 0, 1, 0, 1])


def test_same_padding_puts_the_odd_cell_at_the_end():
    x = torch.arange(1.0, 5.0).reshape(1, 4, 1)
    layer = Conv1D(1, 2, padding="same", kernel_initializer="ones", use_bias=False)
    # Windows [1,2], [2,3], [3,4], [4,pad]: the padding cell is after the input, not before.
    np.testing.assert_array_equal(layer(x)[0, :, 0].detach().numpy(), [3, 5, 7, 4])


def test_tensor_and_float64_inputs_and_gradients():
    layer = Conv2D(2, 3, padding="same", kernel_regularizer="l2")
    x = torch.randn(2, 5, 5, 3, requires_grad=True)
    out = layer(x)
    (out.sum() + sum(layer.losses)).backward()
    assert layer.kernel.grad.shape == (3, 3, 3, 2) and layer.bias.grad.shape == (2,)
    assert x.grad.shape == x.shape
    # float64 numpy input is cast to the layer's float32 compute dtype, as in Keras.
    doubled = layer(x.detach().numpy().astype("float64"))
    assert doubled.dtype == torch.float32
    np.testing.assert_allclose(doubled.detach().numpy(), out.detach().numpy(), rtol=1e-6)


def test_get_set_weights_round_trip(rng):
    layer = Conv3D(3, 2, use_bias=True)
    layer.build((None, 3, 3, 3, 2))
    weights = [rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    for got, want in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        layer.set_weights(weights[:1])


def test_regularizers_constraints_and_no_mask():
    layer = Conv1D(
        2, 3, kernel_regularizer="l2", bias_regularizer="l1", kernel_constraint="non_neg"
    )
    x = np.ones((2, 5, 3), "float32")
    x[0, 3:] = 0
    masked = layer(Masking()(x))
    assert len(layer.losses) == 2
    assert isinstance(layer.kernel.constraint, lamina.constraints.NonNeg)
    # Like Keras, convolutions drop incoming masks.
    assert getattr(masked, "_keras_mask", None) is None


_BAD_ARGUMENTS = [
    (lambda: Conv2D(0, 3), "filters"),
    (lambda: Conv2D(2.5, 3), "filters"),
    (lambda: Conv2D(4, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2D(4, 0), "kernel_size"),
    (lambda: Conv2D(4, "3"), "kernel_size"),
    (lambda: Conv2D(4, 3, strides=(1, 0)), "strides"),
    (lambda: Conv2D(4, 3, dilation_rate=-1), "dilation_rate"),
    (lambda: Conv2D(4, 3, strides=2, dilation_rate=2), "strides > 1"),
    (lambda: Conv2D(4, 3, padding="full"), "padding"),
    (lambda: Conv2D(4, 3, padding="causal"), "padding"),
    (lambda: Conv3D(4, 3, padding="causal"), "padding"),
    (lambda: Conv2D(4, 3, padding=((1, 1), (1, 1))), "padding"),
    (lambda: Conv2D(4, 3, data_format="nhwc"), "data_format"),
    (lambda: Conv2D(4, 3, groups=0), "groups"),
    (lambda: Conv2D(4, 3, groups=3), "divisible by the number of groups"),
    (lambda: Conv2D(4, 3, activation="nope"), "nope"),
    (lambda: Conv2D(4, 3, lora_rank=0), "lora_rank"),
]


@pytest.mark.parametrize("make, match", _BAD_ARGUMENTS)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        make()


def test_build_and_call_errors():
    with pytest.raises(ValueError, match="input channels must be evenly divisible"):
        Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="channel dimension"):
        Conv2D(4, 3)(lamina.Input(shape=(5, 5, None)))
    with pytest.raises(ValueError, match="zero or negative"):
        Conv2D(4, 3)(np.zeros((1, 2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="zero or negative"):
        Conv2D(4, 3)(lamina.Input(shape=(None, 2, 3)))
    with pytest.raises(ValueError, match="zero or negative"):
        Conv1D(4, 3, dilation_rate=3).compute_output_shape((None, 6, 3))
    # Fits at build time, a later smaller input gets the same message rather than torch's.
    layer = Conv2D(4, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="zero or negative"):
        layer(np.zeros((1, 2, 2, 3), "float32"))
    with pytest.raises(ValueError, match="expected ndim=4"):
        layer(np.zeros((1, 5, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1"):
        layer(np.zeros((1, 5, 5, 2), "float32"))
    # Small inputs are fine with "same" padding.
    out = Conv2D(1, 5, padding="same")(np.zeros((1, 2, 2, 1), "float32"))
    assert tuple(out.shape) == (1, 2, 2, 1)


@pytest.mark.oracle
def test_keras_files_round_trip_with_the_oracle(oracle, rng, tmp_path):
    from lamina.saving import saving_api

    x = rng.standard_normal((2, 9, 9, 3)).astype("float32")
    zeros = dict(kernel_initializer="zeros")
    model = oracle.Sequential([
        oracle.Input((9, 9, 3)),
        oracle.layers.Conv2D(4, 3, padding="same", activation="relu", **zeros),
        oracle.layers.SeparableConv2D(3, 3, depth_multiplier=2, pointwise_initializer="zeros"),
        oracle.layers.DepthwiseConv2D(2, depthwise_initializer="zeros"),
        oracle.layers.Conv2DTranspose(2, 3, strides=2, padding="same", **zeros),
    ])
    model.set_weights([rng.standard_normal(w.shape) for w in model.weights])
    model.save(tmp_path / "keras.keras")
    loaded = saving_api.load_model(str(tmp_path / "keras.keras"))
    # Four stacked convolutions with unit-variance weights: float32 rounding in different
    # summation orders reaches ~2e-5 (jax 0.10's CPU convolutions); DESIGN's bound is 1e-4.
    np.testing.assert_allclose(loaded(x).detach().numpy(), np.asarray(model(x)), rtol=1e-4, atol=1e-4)
    saving_api.save_model(loaded, str(tmp_path / "lamina.keras"))
    back = oracle.saving.load_model(tmp_path / "lamina.keras")
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-4)
