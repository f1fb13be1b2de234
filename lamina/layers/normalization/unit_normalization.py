"""``UnitNormalization``: scale each sample to unit L2 norm over its feature axes."""

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.normalization import _axes
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class UnitNormalization(Layer):
    """Normalizes each sample so that its L2 norm over ``axis`` is 1.

    ``output = x / max(sqrt(sum(x ** 2 over axis)), 1e-12)``.

    Args:
        axis: Integer or list of integers, the axes along which the norm is taken.

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.UnitNormalization()
    >>> layer(np.array([[3.0, 4.0]], "float32"))
    tensor([[0.6000, 0.8000]])
    """

    _promotes_non_float_inputs = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes.standardize_axes_argument(axis)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        _axes.check_axes_in_range(self, self.axis, inputs.shape)
        return ops.normalize(inputs, axis=self.axis, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        _axes.check_axes_in_range(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
