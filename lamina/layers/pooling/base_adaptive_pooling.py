"""``BaseAdaptivePooling``: pool to a fixed output size whatever the input size."""

import numbers

import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

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


def _is_positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def _standardize_output_size(output_size, rank, class_name):
    if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
        output_size = (output_size,) * rank
    if (
        not isinstance(output_size, (tuple, list))
        or len(output_size) != rank
        or not all(_is_positive_int(d) for d in output_size)
    ):
        raise ValueError(
            f"`output_size` of {class_name} must be a positive integer or a tuple of {rank} "
            f"positive integers. Received: output_size={output_size!r}"
        )
    return tuple(int(d) for d in output_size)


class BaseAdaptivePooling(Layer):
    """Shared implementation of the ``AdaptiveMaxPooling*`` and ``AdaptiveAveragePooling*`` layers.

    Args:
        output_size: Int or tuple of ``pool_dimensions`` positive ints, the spatial output size.
        pool_dimensions: Number of spatial axes (1, 2 or 3).
        pool_mode: ``"max"`` or ``"average"``.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``image_data_format()``.
    """

    def __init__(self, output_size, pool_dimensions, pool_mode, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = _standardize_output_size(
            output_size, pool_dimensions, type(self).__name__
        )
        self.pool_mode = pool_mode
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def call(self, inputs):
        return adaptive_pool(inputs, self.output_size, self.data_format, self.pool_mode)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self):
        config = super().get_config()
        config.update({"output_size": self.output_size, "data_format": self.data_format})
        return config
