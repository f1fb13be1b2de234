"""``Dot``: per-sample dot product of two inputs along given axes."""

import math

import torch

from lamina.layers.merging.base_merge import Merge
from lamina.ops._utils import is_int
from lamina.ops.nn import normalize as _l2_normalize
from lamina.saving.object_registration import register_builtin


def _validate_axes(axes):
    if is_int(axes):
        axes = int(axes)
        pair = (axes, axes)
    elif isinstance(axes, (list, tuple)):
        if len(axes) != 2 or not all(is_int(a) for a in axes):
            raise ValueError(
                "Invalid format for argument `axes`: it should be an integer or a pair of "
                f"integers. Received: axes={axes!r}"
            )
        axes = pair = (int(axes[0]), int(axes[1]))
    else:
        raise ValueError(
            f"Invalid type for argument `axes`: it should be an integer or a pair of integers. "
            f"Received: axes={axes!r}"
        )
    if 0 in pair:
        raise ValueError(
            f"Argument `axes` cannot include the batch axis 0. Received: axes={axes!r}"
        )
    return axes


def _batch_dot(x, y, x_axis, y_axis):
    """Contract axis ``x_axis`` of ``x`` with axis ``y_axis`` of ``y``, sample by sample.

    The output axes are the batch axis, the remaining axes of ``x``, then the remaining non-batch
    axes of ``y``; a result with only the batch axis gets a trailing axis of size 1.
    """
    xm = x.movedim(x_axis, -1)
    ym = y.movedim(y_axis, 1)
    batch, depth = xm.shape[0], xm.shape[-1]
    x_rest, y_rest = tuple(xm.shape[1:-1]), tuple(ym.shape[2:])
    # Squash both into (batch, rows, depth) @ (batch, depth, cols): one batched matmul.
    out = torch.matmul(
        xm.reshape(batch, math.prod(x_rest), depth), ym.reshape(batch, depth, math.prod(y_rest))
    )
    return out.reshape((batch,) + (x_rest + y_rest or (1,)))


@register_builtin("keras.layers")
class Dot(Merge):
    """Computes the per-sample dot product of two inputs.

    For inputs ``x`` of shape ``(batch, 3, 5)`` and ``y`` of shape ``(batch, 10, 3)``,
    ``Dot(axes=(1, 2))`` sums over axis 1 of ``x`` and axis 2 of ``y`` and returns shape
    ``(batch, 5, 10)``: the batch axis, the other axes of ``x``, then the other axes of ``y``.

    Args:
        axes: Integer or pair of integers, the axis of each input to contract (an integer uses
            the same axis for both; negative counts from the end). The batch axis 0 cannot be
            used, and the two axes must have the same size.
        normalize: Whether to L2-normalize both inputs along the contracted axes first, which
            turns the output into the cosine similarity.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Returns:
        The per-sample dot products; ``(batch, 1)`` for two 2D inputs.

    Example:

    >>> x = np.arange(10, dtype="float32").reshape(1, 5, 2)
    >>> y = np.arange(10, 20, dtype="float32").reshape(1, 2, 5)
    >>> lamina.layers.Dot(axes=(1, 2))([x, y]).shape
    torch.Size([1, 2, 2])
    """

    _lift_ranks = False
    _num_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = _validate_axes(axes)
        if not isinstance(normalize, bool):
            raise ValueError(
                f"Argument `normalize` must be a boolean. Received: normalize={normalize!r}"
            )
        self.normalize = normalize

    def _resolve_axes(self, shape1, shape2):
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        resolved = []
        for axis, shape in zip(pair, (shape1, shape2)):
            rank = len(shape)
            if rank < 2 or not -rank < axis < rank:
                raise ValueError(
                    f"Layer '{self.name}': `axes`={self.axes} does not fit inputs of shapes "
                    f"{tuple(shape1)} and {tuple(shape2)} (inputs need rank >= 2 and the axes "
                    "must be non-batch axes)."
                )
            resolved.append(axis % rank)
        return resolved

    def build(self, input_shape):
        shape1, shape2 = self._validate_shapes(input_shape)
        a1, a2 = self._resolve_axes(shape1, shape2)
        d1, d2 = shape1[a1], shape2[a2]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"Layer '{self.name}': incompatible input shapes: axis values {d1} (at axis {a1}) "
                f"!= {d2} (at axis {a2}). Full input shapes: {shape1}, {shape2}"
            )
        self.built = True

    def _merge_function(self, inputs, masks):
        x, y = inputs
        a1, a2 = self._resolve_axes(tuple(x.shape), tuple(y.shape))
        if self.normalize:
            x = _l2_normalize(x, axis=a1)
            y = _l2_normalize(y, axis=a2)
        return _batch_dot(x, y, a1, a2)

    def compute_output_shape(self, input_shape):
        shape1, shape2 = self._validate_shapes(input_shape)
        a1, a2 = self._resolve_axes(shape1, shape2)
        x_rest = shape1[:a1] + shape1[a1 + 1 :]
        y_rest = shape2[1:a2] + shape2[a2 + 1 :]
        out = x_rest + y_rest
        return out if len(out) > 1 else out + (1,)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


@register_builtin("keras.layers")
def dot(inputs, axes=-1, **kwargs):
    """Functional form of ``Dot``.

    Args:
        inputs: List of two tensors.
        axes: Integer or pair of integers, the axes to contract.
        **kwargs: ``normalize`` and layer keyword arguments (``name``, ``dtype``...).

    Returns:
        The per-sample dot products of the two inputs.
    """
    return Dot(axes=axes, **kwargs)(inputs)
