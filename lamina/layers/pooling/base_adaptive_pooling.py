"""``BaseAdaptivePooling``: pool to a fixed output size whatever the input size."""

import numbers

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops._pooling_math import adaptive_pool


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
