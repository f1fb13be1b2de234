"""``Add``: elementwise sum of a list of inputs."""

from lamina.layers import _inference
from lamina.layers.merging.base_merge import Merge
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Add(Merge):
    """Adds a list of inputs elementwise.

    Takes a list of tensors of the same shape (or shapes that broadcast, see ``Merge``) and
    returns their sum, of the same shape.

    Example:

    >>> a = lamina.Input((16,))
    >>> b = lamina.Input((16,))
    >>> lamina.layers.Add()([a, b]).shape
    (None, 16)
    """

    def _merge_function(self, inputs, masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        if len(inputs) > 1:
            # In predict/evaluate, a ReLU layer reading only this (fresh) sum may be applied here,
            # in place.
            _inference.takes_relu(self, output)
        return output


@register_builtin("keras.layers")
def add(inputs, **kwargs):
    """Functional form of ``Add``: ``add([a, b])`` is ``Add()([a, b])``.

    Args:
        inputs: List of tensors of the same shape.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The elementwise sum of the inputs.
    """
    return Add(**kwargs)(inputs)
