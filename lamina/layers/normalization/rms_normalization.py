"""``RMSNormalization``: scale each sample by the inverse root mean square over its feature axes."""

from lamina.layers.layer import Layer
from lamina.layers.normalization import _axes
from lamina.ops import _normalization_math as _ops
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RMSNormalization(Layer):
    """Root Mean Square normalization (Zhang & Sennrich, 2019).

    ``output = x / sqrt(mean(x ** 2 over axis) + epsilon) * scale``: no centering and no offset,
    with a learned ``scale`` sized over ``axis``.

    Args:
        axis: Integer or list of integers, the axes to normalize over.
        epsilon: Small float added inside the square root to avoid dividing by zero.

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RMSNormalization()
    >>> layer(np.ones((2, 4), "float32"))
    tensor([[1.0000, 1.0000, 1.0000, 1.0000],
            [1.0000, 1.0000, 1.0000, 1.0000]], grad_fn=<...>)
    """

    _promotes_non_float_inputs = True

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes.standardize_axes_argument(axis)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        axes, shape, _ = _axes.weight_spec(self, self.axis, input_shape)
        self.axis = axes
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, x):
        _axes.check_axes_in_range(self, self.axis, x.shape)
        original = x.dtype
        x = _ops.compute_dtype(x)
        return _ops.rms_norm(x, self.axis, self.scale, self.epsilon).to(original)

    def compute_output_shape(self, input_shape):
        _axes.check_axes_in_range(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config
