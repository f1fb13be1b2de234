"""Convolution, pooling and patch functions (``keras.ops`` nn): conv, pools, depth/space moves,
unfold and fold.

Inputs are ``channels_last`` unless ``data_format`` (default ``image_data_format()``) says
otherwise, and kernels are in Keras layouts (``(*kernel_size, in, out)``). Padding follows
TensorFlow/JAX, which define Keras's numbers: ``"same"`` keeps ``ceil(n / stride)`` positions and
puts the odd padded cell at the end; average pooling never counts padded cells. The arithmetic
is shared with the convolution and pooling layers, so ops and layers agree to the bit.
"""

import numbers

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops import _conv_math, _pooling_math
from lamina.ops._utils import promote, public_names, tensor, to_float


def _data_format(data_format):
    return config.standardize_data_format(data_format)


def _tuple(value, rank, name):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise ValueError(f"`{name}` must be an int or a tuple of {rank} ints. Received: {name}={value}")
    return value


def _padding(padding, allowed=("valid", "same")):
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ValueError(f"Invalid `padding`: expected one of {allowed}. Received: padding={padding!r}")
    return value


def _check_rank(inputs, kernel, fn_name):
    if inputs.ndim not in (3, 4, 5) or kernel.ndim != inputs.ndim:
        raise ValueError(
            f"`{fn_name}` expects inputs of rank 3, 4 or 5 and a kernel of the same rank. "
            f"Received: inputs.shape={tuple(inputs.shape)}, kernel.shape={tuple(kernel.shape)}"
        )


def _conv_inputs(inputs, kernel):
    inputs, kernel = tensor(inputs), tensor(kernel)
    # Keras convolves in the promoted dtype of the two operands (floatx for integers).
    return promote(inputs, kernel, force_float=True)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1, 2 or 3 spatial axes).

    Args:
        inputs: ``(batch, *spatial, channels)`` tensor (``(batch, channels, *spatial)`` for
            ``channels_first``).
        kernel: ``(*kernel_size, channels / groups, filters)`` tensor; a smaller input-channel
            axis than ``channels`` makes a grouped convolution.
        strides: Int or tuple, the stride per spatial axis.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: Int or tuple, the dilation per spatial axis.

    Returns:
        The convolved tensor in ``data_format``.
    """
    inputs, kernel = _conv_inputs(inputs, kernel)
    _check_rank(inputs, kernel, "conv")
    rank, data_format = inputs.ndim - 2, _data_format(data_format)
    x = _conv_math.to_channels_first(inputs, data_format)
    channels, kernel_in = x.shape[1], kernel.shape[-2]
    if kernel_in == 0 or channels % kernel_in:
        raise ValueError(
            "The number of input channels must be a multiple of the kernel's input channels. "
            f"Received: inputs.shape={tuple(inputs.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
    out = _conv_math.conv(
        x, _conv_math.torch_kernel(kernel), None, _tuple(strides, rank, "strides"), _padding(padding),
        _tuple(dilation_rate, rank, "dilation_rate"), groups=channels // kernel_in,
    )
    return _conv_math.from_channels_first(out, data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel convolved with its own ``multiplier`` filters.

    ``kernel`` has shape ``(*kernel_size, channels, multiplier)``; output channel
    ``c * multiplier + m`` comes from input channel ``c``.
    """
    inputs, kernel = _conv_inputs(inputs, kernel)
    _check_rank(inputs, kernel, "depthwise_conv")
    rank, data_format = inputs.ndim - 2, _data_format(data_format)
    x = _conv_math.to_channels_first(inputs, data_format)
    out = _conv_math.conv(
        x, _conv_math.torch_depthwise_kernel(kernel), None, _tuple(strides, rank, "strides"),
        _padding(padding), _tuple(dilation_rate, rank, "dilation_rate"), groups=x.shape[1],
    )
    return _conv_math.from_channels_first(out, data_format)


def separable_conv(
    inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
    dilation_rate=1,
):
    """Depthwise convolution followed by a ``1 x ... x 1`` pointwise convolution.

    ``depthwise_kernel`` is ``(*kernel_size, channels, multiplier)`` and ``pointwise_kernel``
    ``(1, ..., 1, channels * multiplier, filters)``; strides, padding and dilation apply to the
    depthwise step.
    """
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(
    inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None, dilation_rate=1
):
    """N-D transposed convolution (the gradient of ``conv`` with respect to its input).

    Args:
        inputs: ``(batch, *spatial, channels)`` tensor (channels first for ``channels_first``).
        kernel: ``(*kernel_size, filters, channels)`` tensor.
        strides, padding, data_format, dilation_rate: As for ``conv``.
        output_padding: ``None`` or an int or tuple: extra cells at the end of each spatial axis
            (each smaller than the stride); ``None`` infers the size.

    Returns:
        The result in ``data_format``, ``filters`` channels.
    """
    inputs, kernel = _conv_inputs(inputs, kernel)
    _check_rank(inputs, kernel, "conv_transpose")
    rank, data_format = inputs.ndim - 2, _data_format(data_format)
    if output_padding is not None:
        output_padding = _tuple(output_padding, rank, "output_padding")
    out = _conv_math.conv_transpose(
        _conv_math.to_channels_first(inputs, data_format), _conv_math.torch_kernel(kernel), None,
        _tuple(strides, rank, "strides"), _padding(padding), output_padding,
        _tuple(dilation_rate, rank, "dilation_rate"),
    )
    return _conv_math.from_channels_first(out, data_format)


# --------------------------------------------------------------------------- pooling


def _pool(inputs, pool_size, strides, padding, data_format, mode):
    inputs = tensor(inputs)
    rank = inputs.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"Pooling expects inputs of rank 3, 4 or 5. Received: inputs.shape={tuple(inputs.shape)}")
    pool_size = _tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, rank, "strides")
    if mode == "average":
        inputs = to_float(inputs)
    return _pooling_math.pool(inputs, pool_size, strides, _padding(padding), _data_format(data_format), mode)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1, 2 or 3 spatial axes (``strides`` defaults to ``pool_size``)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over 1, 2 or 3 spatial axes; padded cells are not counted."""
    return _pool(inputs, pool_size, strides, padding, data_format, "average")


def _adaptive_pool(inputs, output_size, data_format, mode):
    inputs = tensor(inputs)
    rank = inputs.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(
            f"Adaptive pooling expects inputs of rank 3, 4 or 5. Received: inputs.shape={tuple(inputs.shape)}"
        )
    if mode == "average":
        inputs = to_float(inputs)
    return _pooling_math.adaptive_pool(inputs, _tuple(output_size, rank, "output_size"), _data_format(data_format), mode)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed spatial ``output_size`` whatever the input size."""
    return _adaptive_pool(inputs, output_size, data_format, "max")


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed spatial ``output_size`` whatever the input size."""
    return _adaptive_pool(inputs, output_size, data_format, "average")


# --------------------------------------------------------------------------- depth and space


def _check_block(x, block_size, fn_name):
    if block_size < 2:
        raise ValueError(f"`block_size` must be at least 2. Received: block_size={block_size}")
    if x.ndim != 4:
        raise ValueError(f"`{fn_name}` requires a 4D input tensor. Received: x.shape={tuple(x.shape)}")


def depth_to_space(x, block_size, data_format="channels_last"):
    """Move blocks of channels into ``block_size x block_size`` spatial tiles.

    With ``channels_last``, channel ``(i * block_size + j) * C' + c`` of a pixel becomes channel
    ``c`` at offset ``(i, j)`` of its tile (TensorFlow's order), for ``C' = C / block_size**2``.
    """
    x = tensor(x)
    data_format = _data_format(data_format)
    _check_block(x, block_size, "depth_to_space")
    bs = int(block_size)
    if data_format == "channels_last":
        b, h, w, c = x.shape
        out = x.reshape(b, h, w, bs, bs, c // (bs * bs)).permute(0, 1, 3, 2, 4, 5)
        return out.reshape(b, h * bs, w * bs, c // (bs * bs))
    # Channels first, Keras orders the channels the other way round: ``c * block_size**2 + (i *
    # block_size + j)``, which is torch's pixel shuffle.
    return F.pixel_shuffle(x, bs)


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of ``depth_to_space``: ``block_size x block_size`` tiles become channels."""
    x = tensor(x)
    data_format = _data_format(data_format)
    _check_block(x, block_size, "space_to_depth")
    bs = int(block_size)
    if data_format == "channels_last":
        b, h, w, c = x.shape
        _check_divisible(h, w, bs)
        out = x.reshape(b, h // bs, bs, w // bs, bs, c).permute(0, 1, 3, 2, 4, 5)
        return out.reshape(b, h // bs, w // bs, c * bs * bs)
    _check_divisible(x.shape[2], x.shape[3], bs)
    return F.pixel_unshuffle(x, bs)


def _check_divisible(h, w, bs):
    if h % bs or w % bs:
        raise ValueError(f"Height ({h}) and width ({w}) must be divisible by block_size ({bs}).")


# --------------------------------------------------------------------------- patches


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a ``(N, C, H, W)`` tensor as columns: ``(N, C * kh * kw, L)``.

    Args:
        x: 4-D channels-first tensor.
        kernel_size, dilation, padding, stride: Ints or pairs; ``padding`` zero-pads both sides.

    Returns:
        ``(N, C * prod(kernel_size), L)`` where ``L`` is the number of block positions.
    """
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(f"`unfold` requires a 4D (N, C, H, W) input. Received: x.shape={tuple(x.shape)}")
    return F.unfold(x, _tuple(kernel_size, 2, "kernel_size"), _tuple(dilation, 2, "dilation"),
                    _tuple(padding, 2, "padding"), _tuple(stride, 2, "stride"))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of ``unfold``: sum ``(N, C * kh * kw, L)`` columns into a ``(N, C, H, W)`` image.

    Overlapping block cells are added up.
    """
    x = tensor(x)
    if x.ndim != 3:
        raise ValueError(f"`fold` requires a 3D (N, C * kh * kw, L) input. Received: x.shape={tuple(x.shape)}")
    return F.fold(x, _tuple(output_size, 2, "output_size"), _tuple(kernel_size, 2, "kernel_size"),
                  _tuple(dilation, 2, "dilation"), _tuple(padding, 2, "padding"), _tuple(stride, 2, "stride"))


__all__ = public_names(globals(), __name__)
