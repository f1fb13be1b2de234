"""``Subtract``: elementwise difference of exactly two inputs."""

from lamina.layers.merging.base_merge import Merge
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Subtract(Merge):
    """Subtracts two inputs elementwise: ``inputs[0] - inputs[1]``.

    Takes a list of exactly two tensors of the same shape and returns their difference.

    Example:

    >>> a = lamina.Input((16,))
    >>> b = lamina.Input((16,))
    >>> lamina.layers.Subtract()([a, b]).shape
    (None, 16)
    """

    _num_inputs = 2

    def _merge_function(self, inputs, masks):
        return inputs[0] - inputs[1]


@register_builtin("keras.layers")
def subtract(inputs, **kwargs):
    """Functional form of ``Subtract``: ``subtract([a, b])`` is ``a - b``.

    Args:
        inputs: List of exactly two tensors of the same shape.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The elementwise difference of the inputs.
    """
    return Subtract(**kwargs)(inputs)
