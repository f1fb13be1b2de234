"""``PReLU``: leaky ReLU whose negative slope is a learned weight."""

from lamina import activations, constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class PReLU(Layer):
    """Parametric rectified linear unit: ``x`` for ``x >= 0``, ``alpha * x`` otherwise.

    ``alpha`` is a weight of shape ``input_shape[1:]``, with size 1 along ``shared_axes``.

    Args:
        alpha_initializer: Initializer for the ``alpha`` weight.
        alpha_regularizer: Regularizer for the ``alpha`` weight.
        alpha_constraint: Constraint for the ``alpha`` weight.
        shared_axes: Integer or list of integers, the axes (1 = first axis after the batch) along
            which ``alpha`` is shared. For feature maps ``(batch, height, width, channels)`` use
            ``shared_axes=[1, 2]`` to learn one slope per channel.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary, with every non-shared axis after the batch axis known.

    Output shape:
        Same shape as the input.

    Example:

    >>> layer = lamina.layers.PReLU(shared_axes=[1, 2])
    >>> layer.build((None, 8, 8, 3))
    >>> tuple(layer.alpha.shape)
    (1, 1, 3)
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(not isinstance(a, int) or isinstance(a, bool) or a < 1 for a in axes):
                raise ValueError(
                    "`shared_axes` of a PReLU layer must be positive integers (axis 0 is the batch "
                    f"axis). Received: shared_axes={shared_axes!r}"
                )
            self.shared_axes = axes

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        shared = set(self.shared_axes or ())
        if shared and max(shared) >= len(input_shape):
            raise ValueError(
                f"PReLU layer '{self.name}' has shared_axes={self.shared_axes}, out of range for "
                f"inputs of rank {len(input_shape)}. Received input shape: {input_shape}"
            )
        param_shape = [1 if i in shared else input_shape[i] for i in range(1, len(input_shape))]
        if any(d is None for d in param_shape):
            raise ValueError(
                f"PReLU layer '{self.name}' needs every non-shared axis after the batch axis to be "
                f"known to create `alpha`. Received input shape: {input_shape} "
                f"(shared_axes={self.shared_axes})"
            )
        self.alpha = self.add_weight(
            shape=param_shape,
            name="alpha",
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in shared}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        # relu(x) - alpha * relu(-x), as Keras composes it (not torch's prelu, whose weight is
        # laid out per channel on axis 1).
        return activations.relu(inputs) - self.alpha * activations.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "alpha_initializer": s(self.alpha_initializer),
                "alpha_regularizer": s(self.alpha_regularizer),
                "alpha_constraint": s(self.alpha_constraint),
                "shared_axes": self.shared_axes,
            }
        )
        return config
