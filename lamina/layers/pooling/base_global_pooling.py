"""``BaseGlobalPooling``: reduce every spatial axis to one value per channel."""

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """Shared implementation of the ``GlobalMaxPooling*`` and ``GlobalAveragePooling*`` layers.

    Args:
        pool_dimensions: Number of spatial axes (1, 2 or 3).
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``image_data_format()``.
        keepdims: Whether the reduced spatial axes are kept with size 1.
    """

    def __init__(self, pool_dimensions, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(keepdims, bool):
            raise ValueError(f"`keepdims` must be a boolean. Received: keepdims={keepdims!r}")
        self.data_format = standardize_data_format(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        first = 1 if self.data_format == "channels_last" else 2
        self._spatial_axes = tuple(range(first, first + pool_dimensions))
        self._build_at_init()

    def call(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.keepdims:
            return tuple(1 if i in self._spatial_axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in self._spatial_axes)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
