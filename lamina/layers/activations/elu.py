"""``ELU``: exponential linear unit."""

import numbers

from lamina import activations
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: Float, scale of the negative part.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary.

    Output shape:
        Same shape as the input.

    Example:

    >>> lamina.layers.ELU()(np.array([-1.0, 0.0, 1.0]))
    tensor([-0.6321,  0.0000,  1.0000])
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if alpha is None or isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"`alpha` of an ELU layer must be a float. Received: alpha={alpha!r}")
        self.alpha = alpha
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
