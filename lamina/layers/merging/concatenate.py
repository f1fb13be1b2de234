"""``Concatenate``: join a list of inputs along one axis."""

import numbers

import torch

from lamina.layers.merging.base_merge import Merge
from lamina.saving.object_registration import register_builtin


def _normalize_axis(axis, rank, layer_name, shapes):
    if not -rank <= axis < rank:
        raise ValueError(
            f"Layer '{layer_name}': `axis`={axis} is out of range for inputs of rank {rank}. "
            f"Received: input_shape={shapes}"
        )
    return axis % rank


@register_builtin("keras.layers")
class Concatenate(Merge):
    """Concatenates a list of inputs along ``axis``.

    All inputs must have the same rank and the same size on every axis but ``axis``.

    Masks: inputs without a mask count as fully unmasked; a mask one rank below its input is
    broadcast over the input's last axis; the masks are concatenated along ``axis`` and reduced
    with OR over the last axis.

    Args:
        axis: Integer, the axis to concatenate along (negative counts from the end).
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Returns:
        The concatenation of the inputs along ``axis``.

    Example:

    >>> a = lamina.Input((4, 3))
    >>> b = lamina.Input((4, 5))
    >>> lamina.layers.Concatenate(axis=-1)([a, b]).shape
    (None, 4, 8)
    """

    _lift_ranks = False

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"Argument `axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def build(self, input_shape):
        # The batch axis is an ordinary axis here: axis=0 joins batches of different sizes.
        shapes = self._validate_shapes(input_shape, check_batch=False)
        ranks = {len(s) for s in shapes}
        mismatch = ValueError(
            f"A `Concatenate` layer ('{self.name}') requires inputs with matching shapes except "
            f"for the concatenation axis. Received: input_shape={shapes}"
        )
        if len(ranks) != 1:
            raise mismatch
        rank = ranks.pop()
        axis = _normalize_axis(self.axis, rank, self.name, shapes)
        for i in range(rank):
            if i == axis:
                continue
            known = {s[i] for s in shapes} - {None}
            if len(known) > 1:
                raise mismatch
        self.built = True

    def _merge_function(self, inputs, masks):
        return torch.cat(inputs, dim=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = self._validate_shapes(input_shape, check_batch=False)
        output = list(shapes[0])
        axis = _normalize_axis(self.axis, len(output), self.name, shapes)
        sizes = [s[axis] for s in shapes]
        output[axis] = None if None in sizes else sum(sizes)
        return tuple(output)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"Layer '{self.name}' expects lists of inputs and masks. Received: mask={mask!r}"
            )
        if len(mask) != len(inputs):
            raise ValueError(
                f"Layer '{self.name}': the lists `inputs` and `mask` should have the same length. "
                f"Received {len(inputs)} inputs and {len(mask)} masks."
            )
        if all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = torch.ones(x.shape, dtype=torch.bool, device=x.device)
            else:
                m = m.bool()
                if m.dim() < x.dim():
                    m = m.unsqueeze(-1).expand(x.shape)
            full.append(m)
        return torch.cat(full, dim=self.axis).any(dim=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


@register_builtin("keras.layers")
def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of ``Concatenate``.

    Args:
        inputs: List of tensors with equal shapes except along ``axis``.
        axis: The concatenation axis.
        **kwargs: Layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The concatenation of the inputs along ``axis``.
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
