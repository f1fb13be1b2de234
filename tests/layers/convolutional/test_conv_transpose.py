"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose (and their Convolution*Transpose aliases)."""

import itertools

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers import convolutional
from lamina.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3DTranspose,
)

# "same" with even and odd kernels, kernels smaller than the stride, output_padding (also with
# "same", where Keras's window start moves), dilation; every class in both data formats.
_CASES = [
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2), (2, 5, 2)),
    (
        "Conv1DTranspose",
        dict(filters=2, kernel_size=4, strides=3, padding="same", output_padding=2,
             data_format="channels_first"),
        (2, 3, 4),
    ),
    ("Conv1DTranspose", dict(filters=2, kernel_size=1, strides=3, padding="same"), (2, 4, 3)),
    (
        "Conv1DTranspose",
        dict(filters=2, kernel_size=3, dilation_rate=2, padding="same", activation="relu"),
        (2, 6, 3),
    ),
    (
        "Conv2DTranspose",
        dict(filters=3, kernel_size=(4, 3), strides=(2, 3), padding="same"),
        (2, 3, 4, 2),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=(3, 2), strides=(3, 2), output_padding=(2, 1),
             data_format="channels_first"),
        (2, 3, 4, 3),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=5, strides=2, padding="same", output_padding=1),
        (2, 3, 3, 2),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=2, strides=3, padding="valid", use_bias=False,
             activation="softmax"),
        (2, 3, 2, 2),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=(2, 3), dilation_rate=(3, 2), padding="same",
             data_format="channels_first"),
        (2, 2, 4, 5),
    ),
    (
        "Conv3DTranspose",
        dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 3), padding="same"),
        (2, 3, 2, 3, 2),
    ),
    (
        "Conv3DTranspose",
        dict(filters=2, kernel_size=3, strides=2, output_padding=(1, 0, 1),
             data_format="channels_first"),
        (2, 2, 2, 3, 2),
    ),
]


@pytest.mark.oracle
def test_conv_transpose_matches_oracle(compare_with_oracle):
    for name, kwargs, shape in _CASES:
        compare_with_oracle(name, kwargs, shape)


@pytest.mark.oracle
def test_symbolic_shapes_keep_unknown_dims(compare_symbolic):
    up2, up1, up3 = "Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose"
    cases = [
        (up2, dict(filters=4, kernel_size=3, strides=2, padding="same"), (None, 5, 3)),
        (up2, dict(filters=4, kernel_size=4, strides=3, output_padding=2), (7, None, 3)),
        (up1, dict(filters=2, kernel_size=3, data_format="channels_first"), (3, None)),
        (up3, dict(filters=2, kernel_size=2, strides=(1, 2, 3)), (None, 4, 5, 1)),
    ]
    for name, kwargs, shape in cases:
        compare_symbolic(name, kwargs, shape)


@pytest.mark.oracle
def test_keras_configs_deserialize(compare_deserialization):
    compare_deserialization(
        "Conv2DTranspose",
        dict(filters=4, kernel_size=3, strides=2, padding="same", output_padding=1,
             activation="relu", kernel_regularizer="l2", bias_constraint="non_neg", name="up"),
    )
    compare_deserialization("Conv1DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2))
    compare_deserialization(
        "Conv3DTranspose", dict(filters=2, kernel_size=2, data_format="channels_first")
    )


def test_output_length_formula_from_the_seed():
    # new_rows = (rows - 1) * strides + kernel_size - 2 * padding + output_padding, with
    # padding = kernel_size // 2 for "same" and 0 for "valid".
    grid = itertools.product((3, 4), (1, 2, 3, 4), (1, 2, 3), ("valid", "same"))
    for rows, k, s, padding in grid:
        for op in range(s):
            layer = Conv2DTranspose(
                1, (k, 1), strides=(s, 1), padding=padding, output_padding=(op, 0)
            )
            pad = k // 2 if padding == "same" else 0
            want = (rows - 1) * s + k - 2 * pad + op
            assert layer.compute_output_shape((None, rows, 5, 2)) == (None, want, 5, 1)
            assert tuple(layer(np.zeros((1, rows, 5, 2), "float32")).shape) == (1, want, 5, 1)


def test_transpose_is_the_shape_inverse_of_conv():
    for n, k, s, padding in itertools.product(range(4, 9), (1, 2, 3), (1, 2, 3), ("valid", "same")):
        conv = Conv1D(2, k, strides=s, padding=padding)
        (_, m, _) = conv.compute_output_shape((None, n, 3))
        if padding == "same":
            base = (m - 1) * s + k - 2 * (k // 2)
        else:
            base = (m - 1) * s + k
        op = n - base
        if 0 <= op < s:
            up = Conv1DTranspose(3, k, strides=s, padding=padding, output_padding=op)
            assert up.compute_output_shape((None, m, 2)) == (None, n, 3), (n, k, s, padding)
    # Without output_padding the inverse is exact when the stride divides the size.
    x = np.zeros((1, 8, 6, 3), "float32")
    down = Conv2D(4, 3, strides=2, padding="same")(x)
    assert tuple(Conv2DTranspose(3, 3, strides=2, padding="same")(down).shape) == x.shape


@pytest.mark.parametrize(
    "kernel, padding, spatial",
    [
        ((3, 5), "valid", (7, 6)),
        ((3, 5), "same", (7, 6)),
        ((4, 2), "same", (6, 8)),
        ((4, 2), "valid", (7, 6)),
    ],
)
def test_transpose_is_the_adjoint_of_conv(rng, kernel, padding, spatial):
    # <conv(x), y> == <x, conv_transpose(y)> with the same kernel array: the Keras layouts
    # (*k, in, out) and (*k, filters=in, in=out) line up, and so do the paddings.
    x = torch.tensor(rng.standard_normal((2, *spatial, 3)), dtype=torch.float32)
    conv = Conv2D(4, kernel, strides=2, padding=padding, use_bias=False)
    y_shape = conv.compute_output_shape(tuple(x.shape))
    y = torch.tensor(rng.standard_normal(y_shape), dtype=torch.float32)
    pad = (lambda k: k // 2) if padding == "same" else (lambda k: 0)
    ops = tuple(
        n - ((m - 1) * 2 + k - 2 * pad(k)) for n, m, k in zip(spatial, y_shape[1:3], kernel)
    )
    if not all(0 <= op < 2 for op in ops):
        # Even "same" kernels: the inferred size (m * stride) is the inverse instead.
        assert all(m * 2 == n for m, n in zip(y_shape[1:3], spatial))
        ops = None
    up = Conv2DTranspose(3, kernel, strides=2, padding=padding, output_padding=ops, use_bias=False)
    conv.build(tuple(x.shape))
    up.build(y_shape)
    up.set_weights(conv.get_weights())
    assert up(y).shape == x.shape
    lhs = (conv(x) * y).sum()
    rhs = (x * up(y)).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-4)


def test_conv3d_transpose_accepts_keras2_positional_order():
    # Keras 2: (filters, kernel_size, strides, padding, output_padding, data_format).
    layer = Conv3DTranspose(2, 3, 2, "same", 1, "channels_first")
    assert layer.output_padding == (1, 1, 1) and layer.data_format == "channels_first"
    # Keras 3: (..., padding, data_format, output_padding).
    layer = Conv3DTranspose(2, 3, 2, "same", "channels_first", 1)
    assert layer.output_padding == (1, 1, 1) and layer.data_format == "channels_first"
    assert Conv3DTranspose(2, 3, 2, "same", None, 1).output_padding == (1, 1, 1)


def test_aliases_weights_and_gradients():
    assert convolutional.Convolution1DTranspose is Conv1DTranspose
    assert convolutional.Convolution2DTranspose is Conv2DTranspose
    assert convolutional.Convolution3DTranspose is Conv3DTranspose
    config = {"class_name": "Convolution2DTranspose", "config": {"filters": 1, "kernel_size": 2}}
    assert type(layers.deserialize(config)) is Conv2DTranspose
    layer = Conv2DTranspose(5, (2, 4), strides=2, padding="same")
    x = torch.randn(2, 3, 4, 6, requires_grad=True)
    out = layer(x)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert tuple(layer.kernel.shape) == (2, 4, 5, 6)
    out.sum().backward()
    assert layer.kernel.grad.shape == layer.kernel.shape and x.grad.shape == x.shape
    # No copy at either end when the "same" window needs no trimming.
    assert out.is_contiguous()


_BAD_ARGUMENTS = [
    (lambda: Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: Conv2DTranspose(4, 3, output_padding=1), "output_padding"),
    (lambda: Conv2DTranspose(4, 3, output_padding=(1, -1), strides=2), "output_padding"),
    (lambda: Conv2DTranspose(4, 3, strides=2, dilation_rate=2), "strides > 1"),
    (lambda: Conv1DTranspose(4, 3, padding="causal"), "padding"),
    (lambda: Conv2DTranspose(0, 3), "filters"),
    (lambda: Conv2DTranspose(4, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2DTranspose(4, 3, groups=2), "groups"),
    (lambda: Conv3DTranspose(4, 3, data_format="channels_middle"), "data_format"),
]


@pytest.mark.parametrize("make, match", _BAD_ARGUMENTS)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_call_errors():
    layer = Conv2DTranspose(2, 3)
    layer(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="expected ndim=4"):
        layer(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1"):
        layer(np.zeros((1, 4, 4, 2), "float32"))
    with pytest.raises(ValueError, match="channel dimension"):
        Conv1DTranspose(2, 3)(lamina.Input(shape=(4, None)))
    # Keras 2 configs carry groups=1, which is accepted.
    assert Conv2DTranspose.from_config({"filters": 2, "kernel_size": 3, "groups": 1}).filters == 2
