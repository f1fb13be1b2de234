"""``GroupNormalization``: normalize each sample over groups of channels."""

import numbers

from lamina import constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.normalization import _axes
from lamina.ops import _normalization_math as _ops
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class GroupNormalization(Layer):
    """Group normalization (Wu & He, 2018).

    The channels (``axis``) are split into ``groups`` groups; each sample is normalized with the
    mean and variance of each group over its channels and every non-batch axis, then scaled and
    shifted per channel. ``groups=1`` gives layer normalization over all non-batch axes, and
    ``groups=-1`` (one group per channel) instance normalization.

    Args:
        groups: Number of groups, dividing the number of channels; ``-1`` means one per channel.
        axis: Integer, the channel axis.
        epsilon: Small float added to the variance to avoid dividing by zero.
        center: If ``True``, add the per-channel offset ``beta``.
        scale: If ``True``, multiply by the per-channel ``gamma``.
        beta_initializer, gamma_initializer: Initializers of the offset and scale.
        beta_regularizer, gamma_regularizer: Optional regularizers of ``beta`` and ``gamma``.
        beta_constraint, gamma_constraint: Optional constraints of ``beta`` and ``gamma``.

    Input shape:
        Arbitrary, with a known size on ``axis``.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.GroupNormalization(groups=2)
    >>> layer(np.random.rand(2, 5, 4).astype("float32")).shape
    torch.Size([2, 5, 4])
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        groups=32,
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
        if (
            not isinstance(groups, numbers.Integral)
            or isinstance(groups, bool)
            or (groups <= 0 and groups != -1)
        ):
            raise ValueError(
                "Received an invalid value for argument `groups`, expected a positive integer (or "
                f"`-1` for instance normalization). Received: groups={groups!r}"
            )
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise ValueError(f"`axis` must be an int. Received: axis={axis!r}")
        super().__init__(**kwargs)
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
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
        _axes.check_axes_in_range(self, self.axis, input_shape)
        if self.axis % len(input_shape) == 0:
            raise ValueError(
                f"The channel axis of GroupNormalization layer '{self.name}' cannot be the batch "
                f"axis. Received: axis={self.axis}"
            )
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"Axis {self.axis} of the input to GroupNormalization layer '{self.name}' should "
                f"have a defined dimension, but the layer received an input with shape "
                f"{tuple(input_shape)}."
            )
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(
                f"Number of groups ({self.groups}) cannot be more than the number of channels "
                f"({dim}) in layer '{self.name}'."
            )
        if dim % self.groups != 0:
            raise ValueError(
                f"The number of channels ({dim}) must be a multiple of the number of groups "
                f"({self.groups}) in layer '{self.name}'."
            )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        if self.scale:
            self.gamma = self.add_weight(
                shape=(dim,),
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(dim,),
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                autocast=False,
            )
        self.built = True

    def call(self, inputs):
        x = _ops.compute_dtype(inputs)
        axis = self.axis % x.dim()
        outputs = _ops.group_norm(x, axis, self.groups, self.gamma, self.beta, self.epsilon)
        return outputs.to(self._compute_torch_dtype)

    def compute_output_shape(self, input_shape):
        _axes.check_axes_in_range(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "groups": self.groups,
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": s(self.beta_initializer),
                "gamma_initializer": s(self.gamma_initializer),
                "beta_regularizer": s(self.beta_regularizer),
                "gamma_regularizer": s(self.gamma_regularizer),
                "beta_constraint": s(self.beta_constraint),
                "gamma_constraint": s(self.gamma_constraint),
            }
        )
        return config
