"""The private math of the convolution layers: argument checks, lengths, layouts."""

import numpy as np
import pytest
import torch

from lamina.ops import _conv_math as _conv_ops
from lamina.utils.argument_validation import standardize_tuple


def test_standardize_tuple():
    assert standardize_tuple(3, 2, "kernel_size") == (3, 3)
    assert standardize_tuple([2, np.int64(4)], 2, "strides") == (2, 4)
    assert standardize_tuple((0, 1), 2, "output_padding", allow_zero=True) == (0, 1)
    for bad in ((1, 2, 3), "3", 2.0, True, (1, 0), None):
        with pytest.raises(ValueError, match="`kernel_size` argument must be a tuple of 2"):
            standardize_tuple(bad, 2, "kernel_size")


def test_standardize_padding():
    assert _conv_ops.standardize_padding("SAME", ("valid", "same")) == "same"
    with pytest.raises(ValueError, match=r"padding.*\('valid', 'same'\).*'causal'"):
        _conv_ops.standardize_padding("causal", ("valid", "same"))
    with pytest.raises(ValueError, match="padding"):
        _conv_ops.standardize_padding(1, ("valid", "same"))


@pytest.mark.parametrize(
    "length, k, s, d, valid, same",
    [
        (7, 3, 1, 1, 5, 7),
        (7, 3, 2, 1, 3, 4),
        (8, 4, 3, 1, 2, 3),
        (7, 3, 1, 3, 1, 7),
        (2, 3, 1, 1, 0, 2),
    ],
)
def test_conv_output_length(length, k, s, d, valid, same):
    assert _conv_ops.conv_output_length(length, k, s, "valid", d) == valid
    assert _conv_ops.conv_output_length(length, k, s, "same", d) == same
    assert _conv_ops.conv_output_length(length, k, s, "causal", d) == same
    assert _conv_ops.conv_output_length(None, k, s, "valid", d) is None


def test_same_padding_is_asymmetric_at_the_end():
    assert _conv_ops._same_pads(4, 2, 1) == (0, 1)
    assert _conv_ops._same_pads(7, 4, 2) == (1, 2)
    assert _conv_ops._same_pads(8, 3, 2) == (0, 1)
    assert _conv_ops._same_pads(5, 1, 3) == (0, 0)


def test_conv_transpose_output_length():
    length = _conv_ops.conv_transpose_output_length
    assert length(5, 3, 2, "valid", None, 1) == 11
    assert length(5, 1, 3, "valid", None, 1) == 15
    assert length(5, 3, 2, "same", None, 1) == 10
    assert length(5, 3, 2, "same", 1, 1) == 10
    assert length(5, 4, 3, "valid", 2, 1) == 18
    assert length(5, 3, 1, "valid", None, 2) == 9
    assert length(None, 3, 2, "same", None, 1) is None


def test_kernel_layouts():
    kernel = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    weight = _conv_ops.torch_kernel(kernel)
    assert weight.shape == (5, 4, 2, 3) and weight[1, 2, 0, 1] == kernel[0, 1, 2, 1]
    depthwise = _conv_ops.torch_depthwise_kernel(kernel)
    # Output channel c * multiplier + m holds kernel[..., c, m].
    assert depthwise.shape == (20, 1, 2, 3) and depthwise[2 * 5 + 3, 0, 1, 2] == kernel[1, 2, 2, 3]


def test_layout_views_do_not_copy():
    x = torch.randn(2, 5, 6, 3)
    cf = _conv_ops.to_channels_first(x, "channels_last")
    assert cf.shape == (2, 3, 5, 6) and cf.data_ptr() == x.data_ptr()
    assert cf.is_contiguous(memory_format=torch.channels_last)
    assert _conv_ops.from_channels_first(cf, "channels_last").is_contiguous()
    assert _conv_ops.to_channels_first(x, "channels_first") is x
