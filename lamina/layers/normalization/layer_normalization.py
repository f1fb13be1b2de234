"""``LayerNormalization``: normalize each sample over its feature axes."""

import warnings

from lamina import constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.normalization import _axes
from lamina.ops import _normalization_math as _ops
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class LayerNormalization(Layer):
    """Normalizes each sample independently over ``axis``, then scales and shifts.

    For every sample the mean and (biased) variance over ``axis`` are computed and the output is
    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``, with ``gamma`` and ``beta`` sized
    over ``axis``. Training and inference behave the same.

    Args:
        axis: Integer or list of integers, the axes to normalize over (typically the features
            axis, ``-1``).
        epsilon: Small float added to the variance to avoid dividing by zero.
        center: If ``True``, add the offset ``beta``.
        scale: If ``True``, multiply by ``gamma``.
        beta_initializer, gamma_initializer: Initializers of the offset and scale.
        beta_regularizer, gamma_regularizer: Optional regularizers of ``beta`` and ``gamma``.
        beta_constraint, gamma_constraint: Optional constraints of ``beta`` and ``gamma``.
        rms_scaling: Deprecated (as in Keras): divide by the standard deviation without centering
            and without ``beta``. ``RMSNormalization`` is the real RMS normalization.

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.LayerNormalization(axis=[1, 2])
    >>> layer(np.random.rand(2, 3, 4).astype("float32")).shape
    torch.Size([2, 3, 4])
    >>> layer.gamma.shape
    torch.Size([3, 4])
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        rms_scaling = bool(kwargs.pop("rms_scaling", False))
        if rms_scaling:
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated: it scales the input by the "
                "variance, not the root mean square. Use `lamina.layers.RMSNormalization` for RMS "
                "normalization."
            )
        super().__init__(**kwargs)
        self.axis = _axes.standardize_axes_argument(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        # Statistics are computed in float32 whatever the policy; inputs are not cast down first.
        self._autocast = False
        self._set_dtype_policy(self._dtype_policy)
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        axes, shape, spec_axes = _axes.weight_spec(self, self.axis, input_shape)
        self.axis = axes
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma",
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                autocast=False,
            )
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta",
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                autocast=False,
            )
        self.input_spec = InputSpec(min_ndim=_axes.min_rank(axes), axes=spec_axes)
        self.built = True

    def call(self, inputs):
        x = _ops.compute_dtype(inputs)
        outputs = _ops.layer_norm(x, self.axis, self.gamma, self.beta, self.epsilon, self.rms_scaling)
        return outputs.to(self._compute_torch_dtype)

    def compute_output_shape(self, input_shape):
        _axes.check_axes_in_range(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "rms_scaling": self.rms_scaling,
                "beta_initializer": s(self.beta_initializer),
                "gamma_initializer": s(self.gamma_initializer),
                "beta_regularizer": s(self.beta_regularizer),
                "gamma_regularizer": s(self.gamma_regularizer),
                "beta_constraint": s(self.beta_constraint),
                "gamma_constraint": s(self.gamma_constraint),
            }
        )
        return config
