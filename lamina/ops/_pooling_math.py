"""The pooling math shared by ``ops.*_pool`` and the pooling layers: windowed max/average pooling
with TensorFlow/JAX padding, and adaptive pooling to a fixed output size."""

import math

import torch
import torch.nn.functional as F

from lamina.backend import torch_compat

POOL_MODES = ("max", "average")
_TORCH_POOLS = {
    ("max", 1): F.max_pool1d,
    ("max", 2): F.max_pool2d,
    ("max", 3): F.max_pool3d,
    ("average", 1): F.avg_pool1d,
    ("average", 2): F.avg_pool2d,
    ("average", 3): F.avg_pool3d,
}


def pooled_length(size, pool, stride, padding):
    """Length of one spatial axis after pooling (``None`` stays ``None``)."""
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return (size - pool) // stride + 1


def _same_padding(size, pool, stride):
    # TensorFlow/JAX "SAME": the total padding needed for ceil(size / stride) windows, the odd
    # cell going at the end.
    total = max((-(-size // stride) - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


def _real_cells(size, pool, stride, before, out, device):
    """How many non-padding cells each window of one axis covers."""
    starts = torch.arange(out, device=device) * stride - before
    return (starts + pool).clamp(max=size) - starts.clamp(min=0)


def pool(inputs, pool_size, strides, padding, data_format, mode):
    """Max or average pooling over the spatial axes of ``inputs`` (Keras semantics).

    ``"same"`` padding follows TensorFlow/JAX (asymmetric, the extra cell at the end); an average
    window divides by the number of real cells it covers, never counting padding.
    """
    rank = len(pool_size)
    if _tiles(inputs, pool_size, strides, padding, data_format, mode):
        return _tiled_max(inputs, pool_size)
    x = inputs.movedim(-1, 1) if data_format == "channels_last" else inputs
    sizes = tuple(x.shape[2:])
    outs = [pooled_length(n, k, s, padding) for n, k, s in zip(sizes, pool_size, strides)]
    if any(o < 1 for o in outs):
        raise ValueError(
            f"Computed output size would be zero or negative. Received: inputs.shape="
            f"{tuple(inputs.shape)}, pool_size={pool_size}, strides={strides}, padding={padding}"
        )
    pads = [(0, 0)] * rank
    if padding == "same":
        pads = [_same_padding(n, k, s) for n, k, s in zip(sizes, pool_size, strides)]
    padded = any(b or a for b, a in pads)
    if padded:
        if mode == "max":
            fill = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
        else:
            fill = 0.0
        # F.pad lists the last axis first.
        x = F.pad(x, [v for pair in reversed(pads) for v in pair], value=fill)
    out = _TORCH_POOLS[(mode, rank)](x, pool_size, strides)
    if mode == "average" and padded:
        # torch averaged over whole windows (padding included): rescale by window / real cells.
        scale = None
        for axis in range(rank):
            counts = _real_cells(
                sizes[axis], pool_size[axis], strides[axis], pads[axis][0], outs[axis], out.device
            )
            counts = counts.to(out.dtype).view((outs[axis],) + (1,) * (rank - axis - 1))
            scale = counts if scale is None else scale * counts
        out = out * (math.prod(pool_size) / scale)
    return out.movedim(1, -1) if data_format == "channels_last" else out


def _tiles(inputs, pool_size, strides, padding, data_format, mode):
    # Non-overlapping max windows over channels-last data, without autograd (torch.maximum
    # splits the gradient of ties where max pooling gives it to one cell) and outside
    # torch.compile (inductor lowers max pooling itself).
    return (
        mode == "max"
        and tuple(strides) == tuple(pool_size)
        and data_format == "channels_last"
        and not (torch.is_grad_enabled() and inputs.requires_grad)
        and inputs.is_floating_point()
        and inputs.is_contiguous()
        and all(n >= k for n, k in zip(inputs.shape[1:-1], pool_size))
        and (padding == "valid" or all(n % k == 0 for n, k in zip(inputs.shape[1:-1], pool_size)))
        and not torch_compat.is_compiling()
    )


def _tiled_max(inputs, pool_size):
    """Max pooling with ``strides == pool_size`` over contiguous channels-last ``inputs``.

    Each spatial axis of length ``n`` is cut into ``n // k`` whole windows (the "valid" rest
    dropped), and the windows are reduced with elementwise ``torch.maximum`` over strided views:
    no layout change and no index bookkeeping. Measured on this project's 2-core CPU, 1 thread,
    float32 (the Keras MNIST convnet's pools, batch 128): 2x2 pooling of 26x26x32 took 1.10 ms
    against 1.64 ms for ``max_pool2d`` on the channels-first view, 11x11x64 0.19 against 0.28.

    The result is bit-identical to ``max_pool*d``'s, but for the bits of a NaN: ``torch.maximum``
    gives NaN wherever a window holds one, as the pools do (its vectorized NaN may carry another
    sign and payload than the input's); on ties (``-0.0`` against ``0.0``) it keeps its first
    argument, and reducing the innermost window axis first keeps the first maximal cell in
    row-major order, the cell the pools keep.
    """
    outs = [n // k for n, k in zip(inputs.shape[1:-1], pool_size)]
    x = inputs[(slice(None),) + tuple(slice(0, o * k) for o, k in zip(outs, pool_size))]
    shape = [x.shape[0]]
    for o, k in zip(outs, pool_size):
        shape += [o, k]
    x = x.reshape(shape + [x.shape[-1]])
    for axis in reversed(range(len(pool_size))):
        window = 2 + 2 * axis  # the window axis of this spatial axis (later ones already reduced)
        k = pool_size[axis]
        if k == 1:
            x = x.select(window, 0)
            continue
        acc = torch.maximum(x.select(window, 0), x.select(window, 1))
        for i in range(2, k):
            torch.maximum(acc, x.select(window, i), out=acc)
        x = acc
    return x


_ADAPTIVE_POOLS = {
    ("average", 1): F.adaptive_avg_pool1d,
    ("average", 2): F.adaptive_avg_pool2d,
    ("average", 3): F.adaptive_avg_pool3d,
    ("max", 1): F.adaptive_max_pool1d,
    ("max", 2): F.adaptive_max_pool2d,
    ("max", 3): F.adaptive_max_pool3d,
}


def adaptive_pool(inputs, output_size, data_format, mode):
    """Adaptive max or average pooling of the spatial axes of ``inputs`` to ``output_size``.

    Along an axis of length ``n`` pooled to ``m`` cells, output cell ``i`` covers input cells
    ``floor(i * n / m)`` to ``ceil((i + 1) * n / m)`` (exclusive), the rule Keras uses; neighbouring
    windows may overlap by one cell, and when ``m > n`` cells repeat.
    """
    channels_last = data_format == "channels_last"
    x = inputs.movedim(-1, 1) if channels_last else inputs
    out = _ADAPTIVE_POOLS[(mode, len(output_size))](x, output_size)
    return out.movedim(1, -1) if channels_last else out
