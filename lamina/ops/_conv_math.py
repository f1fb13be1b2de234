"""The convolution math shared by ``ops.conv*`` and the convolution layers: argument checks, output
lengths, padding, torch calls.

Layers keep their kernels in Keras layouts (``(*kernel_size, in, out)``); the functions here turn
them into torch's ``(out, in, *kernel_size)`` views and run ``torch.nn.functional`` convolutions
on channels-first views of the inputs. A channels_last input permuted to channels-first order is
already in torch's ``channels_last`` memory format, so the layout change copies nothing at either
end (only padding that torch cannot express, asymmetric ``"same"`` or ``"causal"``, pads a copy).

Padding follows TensorFlow/JAX, which define Keras's numbers: ``"same"`` pads
``max((ceil(n / s) - 1) * s + k_eff - n, 0)`` cells, putting the odd one at the end, and
``"causal"`` pads ``dilation * (kernel - 1)`` cells at the start only.
"""

import itertools

import torch
import torch.nn.functional as F

from lamina.ops._pooling_math import pooled_length
from lamina.ops._utils import is_int

_CONV = {2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {2: F.conv_transpose2d, 3: F.conv_transpose3d}


# --- argument checks --------------------------------------------------------------------------


def standardize_padding(padding, allowed):
    """Lower-case ``padding`` and check it is one of ``allowed``."""
    value = padding.lower() if isinstance(padding, str) else padding
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"Invalid value for argument `padding`. Expected one of {allowed}. "
            f"Received: padding={padding!r}"
        )
    return value


def standardize_positive_int(value, name):
    """Check ``value`` is an integer > 0 and return it as a Python int."""
    if not is_int(value):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a positive integer. "
            f"Received {name}={value!r}."
        )
    if value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive value. "
            f"Received {name}={value}."
        )
    return int(value)


def standardize_groups(groups):
    """Check ``groups`` is an integer > 0 and return it as a Python int."""
    if not is_int(groups) or groups <= 0:
        raise ValueError(
            f"The number of groups must be a positive integer. Received: groups={groups!r}."
        )
    return int(groups)


def pop_legacy_groups(kwargs, class_name):
    """Drop the ``groups=1`` that tf.keras 2 wrote in the configs of layers without groups."""
    groups = kwargs.pop("groups", 1)
    if groups != 1:
        raise ValueError(
            f"{class_name} does not support `groups`; only groups=1 (found in Keras 2 configs) is "
            f"accepted. Received: groups={groups!r}"
        )


def check_strides_and_dilation(strides, dilation_rate):
    """TensorFlow's kernels reject a stride and a dilation both above 1; Keras keeps the rule."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
            f"Received: strides={strides} and dilation_rate={dilation_rate}"
        )


# --- shapes -----------------------------------------------------------------------------------


def _effective_size(kernel_size, dilation):
    return (kernel_size - 1) * dilation + 1


def conv_output_length(length, kernel_size, stride, padding, dilation):
    """Spatial length after a convolution; ``None`` (unknown) stays ``None``."""
    if length is None:
        return None
    if padding == "valid":
        return (length - _effective_size(kernel_size, dilation)) // stride + 1
    # "same" and "causal" both keep ceil(length / stride) positions.
    return (length + stride - 1) // stride


def window_input_extent(out_length, window, stride, dilation=1):
    """How many leading input positions ``out_length`` leading outputs of a ``"valid"`` window op
    (convolution or pooling) read: the positions after them are never used."""
    return (out_length - 1) * stride + _effective_size(window, dilation)


def conv_transpose_output_length(length, kernel_size, stride, padding, output_padding, dilation):
    """Spatial length after a transposed convolution (the shape inverse of ``conv``).

    With ``output_padding=None`` it is ``length * stride`` for ``"same"`` and
    ``length * stride + max(k_eff - stride, 0)`` for ``"valid"``; otherwise
    ``(length - 1) * stride + k_eff - 2 * pad + output_padding`` with ``pad = k_eff // 2`` for
    ``"same"`` and ``0`` for ``"valid"``.
    """
    if length is None:
        return None
    k_eff = _effective_size(kernel_size, dilation)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(k_eff - stride, 0)
        return length * stride
    pad = k_eff // 2 if padding == "same" else 0
    return (length - 1) * stride + k_eff - 2 * pad + output_padding


def spatial_shape(input_shape, rank, data_format, layer_name):
    """The spatial dims of ``input_shape``, checking its rank."""
    input_shape = tuple(input_shape)
    if len(input_shape) != rank + 2:
        raise ValueError(
            f"Layer '{layer_name}' expects inputs of rank {rank + 2} ({data_format}). "
            f"Received input_shape={input_shape}"
        )
    return input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]


def input_channels(input_shape, rank, data_format, layer_name):
    """The channel count of ``input_shape``; it must be known to size the kernel."""
    spatial_shape(input_shape, rank, data_format, layer_name)
    channels = input_shape[-1 if data_format == "channels_last" else 1]
    if channels is None:
        raise ValueError(
            f"The channel dimension of the inputs to layer '{layer_name}' should be defined. "
            f"Found None. Full input shape received: {tuple(input_shape)}"
        )
    return int(channels)


def output_shape(input_shape, lengths, channels, data_format):
    """``input_shape`` with new spatial ``lengths`` and ``channels``."""
    if data_format == "channels_last":
        return (input_shape[0],) + tuple(lengths) + (channels,)
    return (input_shape[0], channels) + tuple(lengths)


def check_output_lengths(lengths, input_shape, kernel_size, strides, dilation_rate, padding):
    """Raise when a kernel does not fit in the (valid-padded) input."""
    if any(n is not None and n <= 0 for n in lengths):
        raise ValueError(
            "Computed output size would be zero or negative. Received "
            f"`inputs shape={tuple(input_shape)}`, `kernel_size={kernel_size}`, "
            f"`dilation_rate={dilation_rate}`, `strides={strides}`, `padding={padding}`."
        )


def conv_output_shape(
    input_shape, channels, kernel_size, strides, padding, dilation_rate, data_format, layer_name
):
    """Output shape of a convolution with ``channels`` output channels; ``None`` dims stay."""
    spatial = spatial_shape(input_shape, len(kernel_size), data_format, layer_name)
    lengths = tuple(
        conv_output_length(n, k, s, padding, d)
        for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)
    )
    check_output_lengths(lengths, input_shape, kernel_size, strides, dilation_rate, padding)
    return output_shape(input_shape, lengths, channels, data_format)


def _same_pads(length, k_eff, stride):
    total = max(((length + stride - 1) // stride - 1) * stride + k_eff - length, 0)
    return total // 2, total - total // 2


def _transpose_crop(k_eff, stride, padding, output_padding):
    """Cells dropped at the start of the full transposed convolution.

    The full result has ``(n - 1) * s + k_eff`` cells; Keras keeps a window of it. ``"valid"``
    starts at the first cell; ``"same"`` centres the window like the gradient of a ``"same"``
    convolution, never starting before the first cell.
    """
    if padding == "valid":
        return 0
    if output_padding is None:
        return max((k_eff - stride) // 2, 0)
    return max((2 * (k_eff // 2) - output_padding) // 2, 0)


# --- layouts ----------------------------------------------------------------------------------


def to_channels_first(x, data_format):
    """A channels-first view of ``x`` (no copy)."""
    if data_format == "channels_first":
        return x
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def from_channels_first(x, data_format):
    """Undo ``to_channels_first`` (no copy)."""
    if data_format == "channels_first":
        return x
    return x.permute(0, *range(2, x.dim()), 1)


def torch_kernel(kernel):
    """A Keras ``(*kernel_size, a, b)`` kernel as torch's ``(b, a, *kernel_size)`` view.

    This is torch's conv weight for a Keras conv kernel ``(*k, in, out)`` and torch's
    transposed-conv weight for a Keras transposed kernel ``(*k, filters, in)``.
    """
    rank = kernel.dim() - 2
    return kernel.permute(rank + 1, rank, *range(rank))


def torch_depthwise_kernel(kernel):
    """A Keras depthwise kernel ``(*k, in, multiplier)`` as a grouped torch weight.

    torch's grouped convolution numbers output channels ``c * multiplier + m``, as Keras does, so
    flattening the last two axes gives the ``(in * multiplier, 1, *k)`` weight for ``groups=in``.
    """
    rank = kernel.dim() - 2
    flat = kernel.reshape(*kernel.shape[:rank], -1)
    return flat.permute(rank, *range(rank)).unsqueeze(1)


# --- convolutions -----------------------------------------------------------------------------


def _as_float(x, weight):
    # Keras convolves integer inputs in the kernel's dtype rather than failing.
    return x if x.is_floating_point() else x.to(weight.dtype)


def conv(x, weight, bias, strides, padding, dilation_rate, groups=1):
    """Convolve a channels-first ``x`` with a torch-layout ``weight``, Keras padding rules.

    Args:
        x: ``(batch, channels, *spatial)`` tensor (any memory format).
        weight: ``(out, in / groups, *kernel_size)`` tensor.
        bias: ``(out,)`` tensor or ``None``.
        strides, dilation_rate: Tuples with one int per spatial axis.
        padding: ``"valid"``, ``"same"`` or ``"causal"`` (last spatial axis only).
        groups: Number of channel groups.

    Returns:
        The channels-first result.
    """
    x = _as_float(x, weight)
    if x.dim() == 3:
        # A unit height turns 1D into 2D: torch's 2D kernels handle the channels_last view that
        # a (batch, steps, channels) input gives without copying it, and ran 1.4-15x faster than
        # conv1d on it (measured on CPU).
        out = conv(
            x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + tuple(strides), padding,
            (1,) + tuple(dilation_rate), groups,
        )
        return out.squeeze(2)
    kernel_size = weight.shape[2:]
    pads = 0
    if padding == "causal":
        x = F.pad(x, (dilation_rate[-1] * (kernel_size[-1] - 1), 0))
    elif padding == "same":
        befores, extras = [], []
        for length, k, s, d in zip(x.shape[2:], kernel_size, strides, dilation_rate):
            before, after = _same_pads(length, _effective_size(k, d), s)
            befores.append(before)
            extras.append(after - before)
        pads = tuple(befores)
        if any(extras):
            # torch pads both sides alike; the odd cell TensorFlow adds at the end is padded here.
            x = F.pad(x, [p for extra in reversed(extras) for p in (0, extra)])
    return _CONV[x.dim() - 2](x, weight, bias, tuple(strides), pads, tuple(dilation_rate), groups)


def conv_transpose(x, weight, bias, strides, padding, output_padding, dilation_rate):
    """Transposed convolution of a channels-first ``x`` with Keras's output size and alignment.

    Args:
        x: ``(batch, in, *spatial)`` tensor.
        weight: ``(in, filters, *kernel_size)`` tensor (torch's transposed layout).
        bias: ``(filters,)`` tensor or ``None``.
        strides, dilation_rate: Tuples with one int per spatial axis.
        padding: ``"valid"`` or ``"same"``.
        output_padding: ``None`` or a tuple of ints (each smaller than the stride).

    Returns:
        The channels-first result, sized by ``conv_transpose_output_length``.
    """
    x = _as_float(x, weight)
    if x.dim() == 3:
        out = conv_transpose(
            x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + tuple(strides), padding,
            None if output_padding is None else (0,) + tuple(output_padding),
            (1,) + tuple(dilation_rate),
        )
        return out.squeeze(2)
    rank = x.dim() - 2
    kernel_size = weight.shape[2:]
    ops = (None,) * rank if output_padding is None else output_padding
    crops, extras, targets = [], [], []
    for length, k, s, op, d in zip(x.shape[2:], kernel_size, strides, ops, dilation_rate):
        k_eff = _effective_size(k, d)
        target = conv_transpose_output_length(length, k, s, padding, op, d)
        crop = _transpose_crop(k_eff, s, padding, op)
        crops.append(crop)
        targets.append(target)
        # torch returns full - 2 * crop + output_padding cells; what is missing at the end comes
        # from its output_padding, one cell too many (odd "same" windows) is sliced off.
        extras.append(target - ((length - 1) * s + k_eff - 2 * crop))
    out = _CONV_TRANSPOSE[rank](
        x, weight, bias, tuple(strides), tuple(crops), tuple(max(e, 0) for e in extras), 1,
        tuple(dilation_rate),
    )
    for axis, (extra, target) in enumerate(zip(extras, targets)):
        if extra < 0:
            out = out.narrow(axis + 2, 0, target)
    return out


# --- a convolution and the max pooling after it, as one elementwise expression ----------------


def max_pooled_conv(x, kernel, bias, strides, dilation_rate, pool_size, pool_strides, activation):
    """``max_pool(activation(conv(x)))`` for ``"valid"`` windows, written as sums of products of
    strided views of ``x`` with kernel rows, so that a compiler (inductor) fuses everything into one
    loop: each pooled output is computed in registers, and neither the convolution's output nor
    its activation is ever stored. For few input channels (the first layer of an image model) this
    replaces a convolution that writes ``prod(pool_size)`` times the pooled output's size, and a
    pooling that reads it back. Run eagerly it would be slow: one tensor per product.

    Args:
        x: Channels-last input ``(batch, *spatial, in_channels)``.
        kernel: Keras-layout kernel ``(*kernel_size, in_channels, filters)``.
        bias: ``(filters,)`` or ``None``.
        strides, dilation_rate: The convolution's, one per spatial axis.
        pool_size, pool_strides: The max pooling's, one per spatial axis.
        activation: Elementwise function applied to the convolution's output, or ``None``. It
            runs after the maximum: only monotone non-decreasing functions (linear, ReLU) may be
            passed.

    Returns:
        The pooled output, channels-last ``(batch, *pooled, filters)``; equal to the unfused
        layers' up to float rounding (the products are added in another order).
    """
    kernel_size = tuple(kernel.shape[:-2])
    spatial = x.shape[1:-1]
    pooled = []
    for n, k, s, d, p, ps in zip(
        spatial, kernel_size, strides, dilation_rate, pool_size, pool_strides
    ):
        pooled.append(pooled_length(conv_output_length(n, k, s, "valid", d), p, ps, "valid"))
    best = None
    for offset in itertools.product(*(range(p) for p in pool_size)):
        acc = bias
        for tap in itertools.product(*(range(k) for k in kernel_size)):
            index = [slice(None)]
            for o, t, n, s, d, ps in zip(offset, tap, pooled, strides, dilation_rate, pool_strides):
                start = o * s + t * d
                index.append(slice(start, start + (n - 1) * ps * s + 1, ps * s))
            window = x[tuple(index)]
            rows = kernel[tap]
            for c in range(rows.shape[0]):
                term = window[..., c : c + 1] * rows[c]
                acc = term if acc is None else acc + term
        best = acc if best is None else torch.maximum(best, acc)
    return best if activation is None else activation(best)
