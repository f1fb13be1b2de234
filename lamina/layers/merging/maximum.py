"""``Maximum``: elementwise maximum of a list of inputs."""

import torch

from lamina.layers.merging.base_merge import Merge, _masked_reduce
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Maximum(Merge):
    """Computes the elementwise maximum of a list of inputs.

    Takes a list of tensors of the same shape and returns, at each position, the largest value.
    With masks, an entry masked out in one input takes no part in the comparison.

    Example:

    >>> a = lamina.Input((16,))
    >>> b = lamina.Input((16,))
    >>> lamina.layers.Maximum()([a, b]).shape
    (None, 16)
    """

    def _merge_function(self, inputs, masks):
        return _masked_reduce(torch.maximum, inputs, masks)


@register_builtin("keras.layers")
def maximum(inputs, **kwargs):
    """Functional form of ``Maximum``.

    Args:
        inputs: List of tensors of the same shape.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The elementwise maximum of the inputs.
    """
    return Maximum(**kwargs)(inputs)
