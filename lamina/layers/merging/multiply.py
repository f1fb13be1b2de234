"""``Multiply``: elementwise product of a list of inputs."""

import torch

from lamina.layers.merging.base_merge import Merge, _expand_mask
from lamina.saving.object_registration import register_builtin


def _masked_product(inputs, masks):
    """Product in which masked-out entries count as 1; entries masked out in every input are 0."""
    if all(m is None for m in masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = output * x
        return output
    every_masked = all(m is not None for m in masks)
    output = output_mask = None
    for x, m in zip(inputs, masks):
        if m is not None:
            m = _expand_mask(m, x)
            x = torch.where(m, x, torch.ones((), dtype=x.dtype, device=x.device))
            if every_masked:
                output_mask = m if output_mask is None else torch.logical_or(output_mask, m)
        output = x if output is None else output * x
    if every_masked:
        zero = torch.zeros((), dtype=output.dtype, device=output.device)
        output = torch.where(output_mask, output, zero)
    return output


@register_builtin("keras.layers")
class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    Takes a list of tensors of the same shape and returns their product, of the same shape.
    With masks, masked-out entries are left out of the product; where every input is masked
    out the output is 0.

    Example:

    >>> a = lamina.Input((16,))
    >>> b = lamina.Input((16,))
    >>> lamina.layers.Multiply()([a, b]).shape
    (None, 16)
    """

    def _merge_function(self, inputs, masks):
        return _masked_product(inputs, masks)


@register_builtin("keras.layers")
def multiply(inputs, **kwargs):
    """Functional form of ``Multiply``.

    Args:
        inputs: List of tensors of the same shape.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The elementwise product of the inputs.
    """
    return Multiply(**kwargs)(inputs)
