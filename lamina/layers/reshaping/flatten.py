"""``Flatten``: collapse every non-batch axis into one."""

import math

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Flatten(Layer):
    """Flattens the input to ``(batch, features)``; the batch size is unchanged.

    Inputs of shape ``(batch,)`` become ``(batch, 1)``.

    Args:
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (inputs ``(batch, channels, ...)``); ``None`` means
            ``image_data_format()``. With ``"channels_first"`` the input is first put in
            channels_last order, so the flattened features come out in the same order in both
            formats and the next layer's weights can move between them.

    Input shape:
        Tensor of rank >= 1, ``(batch, ...)``.

    Output shape:
        2D tensor ``(batch, product of the non-batch dimensions)``.

    Example:

    >>> x = lamina.Input(shape=(10, 64))
    >>> lamina.layers.Flatten()(x).shape
    (None, 640)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        rank = inputs.dim()
        if self.data_format == "channels_first" and rank > 2:
            inputs = inputs.permute(0, *range(2, rank), 1)
        # An explicit size rather than -1: reshape(0, -1) is ambiguous for an empty batch.
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
