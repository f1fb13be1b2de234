"""Keras 2 backend: convolution, pooling and locally connected (unshared-weight) convolution.

Kernels use the TensorFlow layouts Keras 2 passed around: ``(*kernel_size, in, out)`` for
``conv*``, ``(*kernel_size, in, multiplier)`` for depthwise kernels and ``(*kernel_size, out, in)``
for ``conv2d_transpose``. ``data_format`` defaults to ``image_data_format()``. ``"same"`` padding
puts the odd padded cell at the end and average pooling does not count padded cells, as in
TensorFlow.
"""

import numbers

import torch
import torch.nn.functional as F

from lamina import ops
from lamina.backend import config
from lamina.ops._utils import promote, public_names, tensor


def _data_format(data_format):
    if data_format is None:
        data_format = config.image_data_format()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            f"Unknown data_format: {data_format!r}. Expected 'channels_first' or 'channels_last'."
        )
    return data_format


def _padding(padding, allowed=("same", "valid")):
    if padding not in allowed:
        raise ValueError(f"Invalid padding: {padding!r}. Expected one of {allowed}.")
    return padding


def _ints(value, rank, name):
    if isinstance(value, numbers.Integral):
        return (int(value),) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise ValueError(f"`{name}` must be a tuple of {rank} integers. Received: {name}={value}")
    return value


def _check_rank(x, rank, fn_name):
    if x.ndim != rank + 2:
        raise ValueError(
            f"`{fn_name}` expects an input of rank {rank + 2}. Received: x.shape={tuple(x.shape)}"
        )


def _conv(x, kernel, rank, strides, padding, data_format, dilation_rate, fn_name):
    x, kernel = tensor(x), tensor(kernel)
    _check_rank(x, rank, fn_name)
    data_format = _data_format(data_format)
    if padding == "causal":
        if rank != 1:
            raise ValueError(f"`{fn_name}` does not support causal padding.")
        # Keras 2: left-pad by the dilated kernel extent, then a valid convolution.
        left = int(dilation_rate if isinstance(dilation_rate, numbers.Integral) else dilation_rate[0])
        left *= kernel.shape[0] - 1
        time_axis = 1 if data_format == "channels_last" else 2
        pad = [0, 0] * (x.ndim - 1 - time_axis) + [left, 0]
        x, padding = F.pad(x, pad), "valid"
    return ops.conv(
        x, kernel, _ints(strides, rank, "strides"), _padding(padding), data_format,
        _ints(dilation_rate, rank, "dilation_rate"),
    )


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1D convolution.

    Args:
        x: ``(batch, steps, channels)`` tensor (channels first for ``"channels_first"``).
        kernel: ``(kernel_size, channels, filters)`` kernel.
        strides: Stride (int).
        padding: ``"valid"``, ``"same"`` or ``"causal"`` (left-padded, output step ``t`` sees
            only inputs up to ``t``).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: Dilation (int).

    Returns:
        The convolved tensor, in ``data_format``.
    """
    return _conv(x, kernel, 1, strides, padding, data_format, dilation_rate, "conv1d")


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """2D convolution of ``x`` with a ``(rows, cols, in, out)`` kernel.

    Example:

    >>> x = np.ones((1, 4, 4, 1), "float32")
    >>> K.conv2d(x, np.ones((3, 3, 1, 2), "float32")).shape
    torch.Size([1, 2, 2, 2])
    """
    return _conv(x, kernel, 2, strides, padding, data_format, dilation_rate, "conv2d")


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None, dilation_rate=(1, 1, 1)):
    """3D convolution of ``x`` with a ``(d1, d2, d3, in, out)`` kernel."""
    return _conv(x, kernel, 3, strides, padding, data_format, dilation_rate, "conv3d")


def depthwise_conv2d(
    x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)
):
    """Depthwise 2D convolution: each input channel is convolved with its own
    ``depthwise_kernel[..., c, :]`` (kernel ``(rows, cols, in, multiplier)``), giving
    ``in * multiplier`` channels."""
    x = tensor(x)
    _check_rank(x, 2, "depthwise_conv2d")
    return ops.depthwise_conv(
        x, depthwise_kernel, _ints(strides, 2, "strides"), _padding(padding), _data_format(data_format),
        _ints(dilation_rate, 2, "dilation_rate"),
    )


def separable_conv2d(
    x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid", data_format=None,
    dilation_rate=(1, 1),
):
    """Depthwise 2D convolution followed by a 1x1 convolution with ``pointwise_kernel``
    (``(1, 1, in * multiplier, filters)``); strides, padding and dilation apply to the
    depthwise step."""
    if isinstance(strides, numbers.Integral) or len(strides) != 2:
        raise ValueError(f"`strides` must be a tuple of 2 integers. Received: strides={strides}")
    x = tensor(x)
    _check_rank(x, 2, "separable_conv2d")
    return ops.separable_conv(
        x, depthwise_kernel, pointwise_kernel, tuple(strides), _padding(padding),
        _data_format(data_format), _ints(dilation_rate, 2, "dilation_rate"),
    )


def _transpose_start_and_pad(in_len, out_len, kernel, stride, dilation, padding):
    # The transposed convolution is the gradient of the forward convolution whose input has
    # `out_len` cells; its full result covers (in_len - 1) * stride + extent cells, of which the
    # forward convolution's leading padding is dropped and the tail beyond `out_len` cut (or
    # zero-filled when `out_len` asks for more, as the forward convolution ignores those cells).
    extent = (kernel - 1) * dilation + 1
    expected = -(-out_len // stride) if padding == "same" else (out_len - extent) // stride + 1
    if expected != in_len:
        raise ValueError(
            f"`output_shape` entry {out_len} is not reachable from an input of {in_len} cells with "
            f"kernel {kernel}, stride {stride}, dilation {dilation} and padding {padding!r} "
            f"(a convolution of {out_len} cells gives {expected})."
        )
    full = (in_len - 1) * stride + extent
    before = 0
    if padding == "same":
        before = max(full - out_len, 0) // 2
    return before, full


def conv2d_transpose(
    x, kernel, output_shape, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)
):
    """2D transposed convolution (the gradient of ``conv2d`` with respect to its input).

    Args:
        x: ``(batch, rows, cols, channels)`` tensor (channels first for ``"channels_first"``).
        kernel: ``(rows, cols, filters, channels)`` kernel.
        output_shape: The full output shape, in ``data_format`` (the batch entry may be
            ``None``).
        strides: Tuple of 2 integers.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: Tuple of 2 equal integers.

    Returns:
        A tensor of shape ``output_shape``.
    """
    data_format = _data_format(data_format)
    padding = _padding(padding)
    strides = _ints(strides, 2, "strides")
    dilation_rate = _ints(dilation_rate, 2, "dilation_rate")
    if dilation_rate[0] != dilation_rate[1]:
        raise ValueError(
            "Expected the 2 dimensions of the `dilation_rate` argument to be equal to each other. "
            f"Received: dilation_rate={dilation_rate}"
        )
    x, kernel = promote(tensor(x), tensor(kernel), force_float=True)
    _check_rank(x, 2, "conv2d_transpose")
    output_shape = tuple(None if d is None else int(d) for d in output_shape)
    if len(output_shape) != 4:
        raise ValueError(f"`output_shape` must have 4 entries. Received: output_shape={output_shape}")
    if data_format == "channels_last":
        x = x.permute(0, 3, 1, 2)
        out_rows, out_cols, filters = output_shape[1], output_shape[2], output_shape[3]
    else:
        filters, out_rows, out_cols = output_shape[1], output_shape[2], output_shape[3]
    if kernel.shape[2] != filters or kernel.shape[3] != x.shape[1]:
        raise ValueError(
            f"`kernel` of shape {tuple(kernel.shape)} does not map {x.shape[1]} input channels to "
            f"{filters} output channels (expected (rows, cols, {filters}, {x.shape[1]}))."
        )
    full = F.conv_transpose2d(x, kernel.permute(3, 2, 0, 1), stride=strides, dilation=dilation_rate)
    pieces = []
    for axis, (n, out_len) in enumerate(zip(x.shape[2:], (out_rows, out_cols))):
        before, length = _transpose_start_and_pad(n, out_len, kernel.shape[axis], strides[axis],
                                                  dilation_rate[axis], padding)
        pieces.append((axis + 2, before, length, out_len))
    for dim, before, length, out_len in pieces:
        keep = min(out_len, length - before)
        full = full.narrow(dim, before, keep)
        if keep < out_len:
            pad = [0, 0] * (full.ndim - 1 - dim) + [0, out_len - keep]
            full = F.pad(full, pad)
    return full.permute(0, 2, 3, 1) if data_format == "channels_last" else full


def _pool(x, pool_size, strides, padding, data_format, pool_mode, rank, fn_name):
    data_format = _data_format(data_format)
    pool_size = _ints(pool_size, rank, "pool_size")
    strides = _ints(strides, rank, "strides")
    padding = _padding(padding)
    x = tensor(x)
    _check_rank(x, rank, fn_name)
    if pool_mode == "max":
        return ops.max_pool(x, pool_size, strides, padding, data_format)
    if pool_mode == "avg":
        return ops.average_pool(x, pool_size, strides, padding, data_format)
    raise ValueError(f"Invalid pooling mode: {pool_mode!r}. Expected 'max' or 'avg'.")


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2D max (``pool_mode="max"``) or average (``"avg"``) pooling; ``pool_size`` and
    ``strides`` are tuples of 2 integers."""
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 2, "pool2d")


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    """3D max (``pool_mode="max"``) or average (``"avg"``) pooling; ``pool_size`` and
    ``strides`` are tuples of 3 integers."""
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 3, "pool3d")


# --------------------------------------------------------------------------- unshared weights


def _local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format):
    data_format = _data_format(data_format)
    inputs, kernel = promote(tensor(inputs), tensor(kernel), force_float=True)
    rank = len(output_shape)
    _check_rank(inputs, rank, f"local_conv{rank}d")
    kernel_size = _ints(kernel_size, rank, "kernel_size")
    strides = _ints(strides, rank, "strides")
    output_shape = tuple(int(d) for d in output_shape)
    items, feature_dim, channels_out = kernel.shape
    if items != int(torch.tensor(output_shape).prod()):
        raise ValueError(
            f"`kernel` has {items} output positions but `output_shape` {output_shape} has "
            f"{int(torch.tensor(output_shape).prod())}."
        )
    first_spatial = 2 if data_format == "channels_first" else 1
    # One patch per output position, flattened in memory order ((channels, *window) for
    # channels_first, (*window, channels) for channels_last) to match Keras 2's kernel rows.
    patches = []
    for position in torch.cartesian_prod(*[torch.arange(n) for n in output_shape]).reshape(-1, rank):
        patch = inputs
        for d in range(rank):
            start = int(position[d]) * strides[d]
            patch = patch.narrow(first_spatial + d, start, kernel_size[d])
        patches.append(patch.reshape(inputs.shape[0], -1))
    stacked = torch.stack(patches)
    if stacked.shape[-1] != feature_dim:
        raise ValueError(
            f"`kernel` expects {feature_dim} features per position; the window gives {stacked.shape[-1]}."
        )
    out = torch.bmm(stacked, kernel)  # (items, batch, channels_out)
    out = out.reshape(*output_shape, inputs.shape[0], channels_out)
    spatial = list(range(rank))
    if data_format == "channels_first":
        return out.permute(rank, rank + 1, *spatial)
    return out.permute(rank, *spatial, rank + 1)


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """1D convolution with unshared weights.

    Args:
        inputs: ``(batch, steps, channels)`` tensor (channels first for ``"channels_first"``).
        kernel: ``(output_length, kernel_size[0] * channels, filters)`` weights, one matrix per
            output step.
        kernel_size: Tuple of 1 integer.
        strides: Tuple of 1 integer.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        ``(batch, output_length, filters)`` (``(batch, filters, output_length)`` for
        ``"channels_first"``).
    """
    kernel = tensor(kernel)
    return _local_conv(inputs, kernel, kernel_size, strides, (kernel.shape[0],), data_format)


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """2D convolution with unshared weights.

    Args:
        inputs: ``(batch, rows, cols, channels)`` tensor (channels first for
            ``"channels_first"``).
        kernel: ``(output_rows * output_cols, rows * cols * channels, filters)`` weights.
        kernel_size: Tuple of 2 integers.
        strides: Tuple of 2 integers.
        output_shape: ``(output_rows, output_cols)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        ``(batch, output_rows, output_cols, filters)`` (channels first for
        ``"channels_first"``).
    """
    return _local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format)


__all__ = public_names(globals(), __name__)
