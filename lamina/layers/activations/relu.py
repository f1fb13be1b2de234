"""``ReLU``: rectified linear unit with optional ceiling, leak and threshold."""

import numbers

from lamina import activations
from lamina.layers import _inference
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _check_non_negative(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(
            f"`{name}` of a ReLU layer cannot be {'a' if allow_none else 'None or a'} negative value; "
            f"expected a non-negative number. Received: {name}={value!r}"
        )


@register_builtin("keras.layers")
class ReLU(Layer):
    """Rectified linear unit activation layer.

    With the defaults it returns ``max(x, 0)``. In general::

        f(x) = max_value                          if x >= max_value
        f(x) = x                                  if threshold <= x < max_value
        f(x) = negative_slope * (x - threshold)   otherwise

    Args:
        max_value: Non-negative float, the largest output value; ``None`` means unbounded.
        negative_slope: Non-negative float, the slope below the threshold.
        threshold: Non-negative float, the value below which the leak applies.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary. Use ``input_shape`` (without the batch axis) when it is the first layer of a
        model.

    Output shape:
        Same shape as the input.

    Example:

    >>> layer = lamina.layers.ReLU(max_value=1.0)
    >>> layer(np.array([-3.0, 0.5, 2.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        _check_non_negative("max_value", max_value, allow_none=True)
        _check_non_negative("negative_slope", negative_slope)
        _check_non_negative("threshold", threshold)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        if _inference.rectified_already(self, inputs):
            return inputs  # the convolution before applied it (predict / evaluate)
        return activations.relu(
            inputs, negative_slope=self.negative_slope, max_value=self.max_value, threshold=self.threshold
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"max_value": self.max_value, "negative_slope": self.negative_slope, "threshold": self.threshold}
        )
        return config
