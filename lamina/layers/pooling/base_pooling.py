"""``BasePooling``: the windowed max/average pooling layers (their math is in ``lamina.ops``)."""

from lamina.backend.config import standardize_data_format
from lamina.layers import _inference
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops._pooling_math import POOL_MODES, pool, pooled_length
from lamina.utils.argument_validation import standardize_padding, standardize_tuple


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
        if pool_mode not in POOL_MODES:
            raise ValueError(
                f"`pool_mode` must be one of {list(POOL_MODES)}. Received: pool_mode={pool_mode!r}"
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
        if _inference.pooled_already(self, inputs):
            return inputs  # the convolution before pooled its output itself (predict/evaluate)
        # In predict/evaluate, positions no later layer reads may be cut off first.
        inputs = _inference.cropped(self, inputs)
        return self._pool(inputs)

    def _pool(self, inputs):
        out = pool(
            inputs, self.pool_size, self.strides, self.padding, self.data_format, self.pool_mode
        )
        if _inference.relu_deferred(self):
            # The ReLU of the convolution before, left to this layer in predict / evaluate.
            shared = out.untyped_storage().data_ptr() == inputs.untyped_storage().data_ptr()
            out = out.relu() if shared else out.relu_()
        return out

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
