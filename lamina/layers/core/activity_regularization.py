"""``ActivityRegularization``: adds an L1/L2 penalty on its input to the layer losses."""

from lamina import regularizers
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class ActivityRegularization(Layer):
    """Returns its input unchanged and adds ``l1 * sum(|x|) + l2 * sum(x**2)`` to ``layer.losses``.

    As for every activity regularizer, the penalty is divided by the batch size (the size of the
    first axis), so it does not grow with the batch.

    Args:
        l1: Non-negative float, the L1 factor.
        l2: Non-negative float, the L2 factor.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary. Use ``input_shape`` (without the batch axis) when it is the first layer of a
        model.

    Output shape:
        Same shape as the input.

    Example:

    >>> layer = lamina.layers.ActivityRegularization(l1=0.1)
    >>> y = layer(np.array([[1.0, -2.0], [3.0, 0.0]]))
    >>> layer.losses  # 0.1 * 6 / batch size 2
    [tensor(0.3000)]
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise ValueError(
                "ActivityRegularization builds its own activity regularizer from `l1` and `l2`; "
                f"do not pass `activity_regularizer`. Received: "
                f"activity_regularizer={kwargs['activity_regularizer']!r}"
            )
        # L1L2 validates both factors (non-negative numbers) and names the bad one.
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
