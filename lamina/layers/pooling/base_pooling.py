"""``BasePooling``: the windowed max/average pooling layers, and the pooling math they share."""

import math

import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.utils.argument_validation import standardize_padding, standardize_tuple

_POOL_MODES = ("max", "average")
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


def _pool(inputs, pool_size, strides, padding, data_format, mode):
    """Max or average pooling over the spatial axes of ``inputs`` (Keras semantics).

    ``"same"`` padding follows TensorFlow/JAX (asymmetric, the extra cell at the end); an average
    window divides by the number of real cells it covers, never counting padding.
    """
    rank = len(pool_size)
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


class BasePooling(Layer):
    """Shared implementation of ``MaxPooling{1,2,3}D`` and ``AveragePooling{1,2,3}D``.

    Args:
        pool_size: Int or tuple of ``pool_dimensions`` ints, the window size.
        strides: Int, tuple of ints, or ``None`` (then equal to ``pool_size``).
        pool_dimensions: Number of spatial axes (1, 2 or 3).
        pool_mode: ``"max"`` or ``"average"``.
        padding: ``"valid"`` (no padding) or ``"same"`` (pad so that
            ``output = ceil(input / strides)``), case-insensitive.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``image_data_format()``.
    """

    def __init__(
        self,
        pool_size,
        strides,
        pool_dimensions,
        pool_mode="max",
        padding="valid",
        data_format=None,
        name=None,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if pool_mode not in _POOL_MODES:
            raise ValueError(
                f"`pool_mode` must be one of {list(_POOL_MODES)}. Received: pool_mode={pool_mode!r}"
            )
        self.pool_size = standardize_tuple(pool_size, pool_dimensions, "pool_size")
        self.strides = standardize_tuple(
            self.pool_size if strides is None else strides, pool_dimensions, "strides"
        )
        self.pool_mode = pool_mode
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        self._build_at_init()

    def call(self, inputs):
        return _pool(
            inputs, self.pool_size, self.strides, self.padding, self.data_format, self.pool_mode
        )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        first = 1 if self.data_format == "channels_last" else 2
        spatial = input_shape[first : first + len(self.pool_size)]
        outs = tuple(
            pooled_length(n, k, s, self.padding)
            for n, k, s in zip(spatial, self.pool_size, self.strides)
        )
        if any(o is not None and o < 1 for o in outs):
            raise ValueError(
                f"Computed output size of layer '{self.name}' would be zero or negative. Received: "
                f"input_shape={input_shape}, pool_size={self.pool_size}, strides={self.strides}, "
                f"padding={self.padding}"
            )
        return input_shape[:first] + outs + input_shape[first + len(outs) :]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "pool_size": self.pool_size,
                "padding": self.padding,
                "strides": self.strides,
                "data_format": self.data_format,
            }
        )
        return config
