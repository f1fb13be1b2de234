"""``RepeatVector``: repeat a 2D input ``n`` times along a new axis."""

import numbers

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RepeatVector(Layer):
    """Repeats the input ``n`` times: ``(batch, features)`` becomes ``(batch, n, features)``.

    Args:
        n: Positive integer, the repetition factor.

    Input shape:
        2D tensor ``(batch_size, features)``.

    Output shape:
        3D tensor ``(batch_size, n, features)``.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Dense(32, input_dim=32))
    >>> model.add(lamina.layers.RepeatVector(3))
    >>> model.output_shape
    (None, 3, 32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n!r}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        # A real copy, not a stride-0 `expand` view: later in-place ops or `.view` calls on the
        # output must not see n rows aliasing one memory location.
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
