"""``ThresholdedReLU`` (Keras 2): ``x`` where ``x > theta``, 0 elsewhere."""

import numbers

import torch

from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class ThresholdedReLU(Layer):
    """Thresholded rectified linear unit: ``f(x) = x if x > theta else 0``.

    Keras 3 dropped this layer in favour of ``ReLU(threshold=theta)``, which computes the same
    thing; Lamina keeps the Keras 2 layer (and its config) for old code.

    Args:
        theta: Non-negative float, the threshold (exclusive) above which inputs pass through.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary.

    Output shape:
        Same shape as the input.

    Example:

    >>> lamina.layers.ThresholdedReLU(theta=1.0)(np.array([0.5, 1.0, 1.5]))
    tensor([0.0000, 0.0000, 1.5000])
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None or isinstance(theta, bool) or not isinstance(theta, numbers.Real):
            raise ValueError(
                f"`theta` of a ThresholdedReLU layer must be a float. Received: theta={theta!r}"
            )
        if theta < 0:
            raise ValueError(
                f"`theta` of a ThresholdedReLU layer must be >= 0. Received: theta={theta!r}"
            )
        # Keras 2 stores theta as a floatx number (an int argument comes back as a float).
        self.theta = float(theta)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        # `where` rather than Keras 2's `x * (x > theta)`: identical on finite inputs, and -inf
        # gives 0 instead of NaN.
        return torch.where(inputs > self.theta, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config
