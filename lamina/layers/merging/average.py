"""``Average``: elementwise mean of a list of inputs."""

from lamina.layers.merging.base_merge import Merge
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Average(Merge):
    """Averages a list of inputs elementwise.

    Takes a list of tensors of the same shape and returns their mean, of the same shape
    (integer inputs give a float result).

    Example:

    >>> a = lamina.Input((16,))
    >>> b = lamina.Input((16,))
    >>> lamina.layers.Average()([a, b]).shape
    (None, 16)
    """

    def _merge_function(self, inputs, masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output / len(inputs)


@register_builtin("keras.layers")
def average(inputs, **kwargs):
    """Functional form of ``Average``.

    Args:
        inputs: List of tensors of the same shape.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The elementwise mean of the inputs.
    """
    return Average(**kwargs)(inputs)
