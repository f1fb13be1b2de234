"""``Minimum``: elementwise minimum of a list of inputs."""

import torch

from lamina.layers.merging.base_merge import Merge, _masked_reduce
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Minimum(Merge):
    """Computes the elementwise minimum of a list of inputs.

    Takes a list of tensors of the same shape and returns, at each position, the smallest value.
    With masks, an entry masked out in one input takes no part in the comparison.

    Example:

    >>> a = lamina.Input((16,))
    >>> b = lamina.Input((16,))
    >>> lamina.layers.Minimum()([a, b]).shape
    (None, 16)
    """

    def _merge_function(self, inputs, masks):
        return _masked_reduce(torch.minimum, inputs, masks)


@register_builtin("keras.layers")
def minimum(inputs, **kwargs):
    """Functional form of ``Minimum``.

    Args:
        inputs: List of tensors of the same shape.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The elementwise minimum of the inputs.
    """
    return Minimum(**kwargs)(inputs)
