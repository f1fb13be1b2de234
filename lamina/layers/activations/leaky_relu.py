"""``LeakyReLU``: ``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""

import numbers
import warnings

from lamina import activations
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class LeakyReLU(Layer):
    """Leaky version of the rectified linear unit.

    Args:
        negative_slope: Non-negative float, the slope for negative inputs.
        alpha: Keras 2 name of ``negative_slope``; accepted with a deprecation warning and saved
            as ``negative_slope``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary.

    Output shape:
        Same shape as the input.

    Example:

    >>> layer = lamina.layers.LeakyReLU(negative_slope=0.5)
    >>> layer(np.array([-2.0, 0.0, 2.0]))
    tensor([-1.,  0.,  2.])
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if (
            negative_slope is None
            or isinstance(negative_slope, bool)
            or not isinstance(negative_slope, numbers.Real)
            or negative_slope < 0
        ):
            raise ValueError(
                "The `negative_slope` of a LeakyReLU layer must be a non-negative float. "
                f"Received: negative_slope={negative_slope!r}"
            )
        self.negative_slope = negative_slope
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config
