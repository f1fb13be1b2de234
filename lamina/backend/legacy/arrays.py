"""Keras 2 backend: reshaping, joining, indexing, selection, padding and resizing."""

import numpy as np
import torch
import torch.nn.functional as F

from lamina import ops
from lamina.backend import config
from lamina.backend.legacy._common import records_backend_node
from lamina.ops._utils import promote, public_names, tensor


def reshape(x, shape):
    """Give ``x`` a new shape (one entry may be -1)."""
    return ops.reshape(x, shape)


def permute_dimensions(x, pattern):
    """Permute the axes of ``x``, e.g. ``pattern=(0, 2, 1)``."""
    return ops.transpose(x, pattern)


def expand_dims(x, axis=-1):
    """Insert a size-1 axis at ``axis``."""
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    """Remove the size-1 axis ``axis``."""
    return ops.squeeze(x, axis=axis)


@records_backend_node
def flatten(x):
    """Flatten to one axis."""
    return tensor(x).reshape(-1)


@records_backend_node
def batch_flatten(x):
    """Flatten every axis but the first: ``(batch, ...) -> (batch, n)``."""
    x = tensor(x)
    return x.reshape(x.shape[0], -1)


def concatenate(tensors, axis=-1):
    """Join tensors along ``axis`` (the last axis by default)."""
    return ops.concatenate(tensors, axis=axis)


def stack(x, axis=0):
    """Join same-shape tensors along a new axis."""
    return ops.stack(x, axis=axis)


def tile(x, n):
    """Repeat ``x`` ``n[i]`` times along axis ``i``."""
    return ops.tile(x, n)


def repeat(x, n):
    """Repeat a 2-D tensor along a new axis 1: ``(batch, d) -> (batch, n, d)``."""
    x = tensor(x)
    if x.ndim != 2:
        raise ValueError(f"`repeat` expects a tensor of rank 2. Received rank {x.ndim}.")
    return x.unsqueeze(1).expand(-1, n, -1).clone()


def repeat_elements(x, rep, axis):
    """Repeat each slice of ``x`` along ``axis`` ``rep`` times (``np.repeat``)."""
    return ops.repeat(x, rep, axis=axis)


def reverse(x, axes):
    """Reverse ``x`` along ``axes`` (an int or a list of ints)."""
    return ops.flip(x, axis=axes)


def gather(reference, indices):
    """Rows of ``reference`` at ``indices`` (along axis 0)."""
    return ops.take(reference, indices, axis=0)


def slice(x, start, size):
    """The block of ``x`` of shape ``size`` starting at ``start``; -1 in ``size`` takes the rest."""
    x = tensor(x)
    size = [x.shape[i] - s if n == -1 else n for i, (s, n) in enumerate(zip(start, size))]
    return ops.slice(x, start, size)


def one_hot(indices, num_classes):
    """One-hot encode integer ids along a new last axis (``floatx()``)."""
    return ops.one_hot(indices, num_classes)


def switch(condition, then_expression, else_expression):
    """Pick ``then_expression`` where ``condition`` holds and ``else_expression`` elsewhere.

    Either expression may be a callable. A Python bool picks (and evaluates) one branch. A tensor
    condition of lower rank than the expressions selects along their leading axes.
    """
    if isinstance(condition, (bool, np.bool_)):
        chosen = then_expression if condition else else_expression
        return tensor(chosen() if callable(chosen) else chosen)
    then_value = then_expression() if callable(then_expression) else then_expression
    else_value = else_expression() if callable(else_expression) else else_expression
    then_value, else_value = promote(then_value, else_value)
    condition = tensor(condition).to(device=then_value.device, dtype=torch.bool)
    if condition.ndim > then_value.ndim:
        raise ValueError(
            f"Rank of `condition` ({condition.ndim}) must not exceed the rank of `then_expression` "
            f"({then_value.ndim})."
        )
    condition = condition.reshape(tuple(condition.shape) + (1,) * (then_value.ndim - condition.ndim))
    return torch.where(condition, then_value, else_value)


def stop_gradient(variables):
    """The value(s) with no gradient flowing back (a list for a list)."""
    if isinstance(variables, (list, tuple)):
        return [ops.stop_gradient(v) for v in variables]
    return ops.stop_gradient(variables)


def in_top_k(predictions, targets, k):
    """Whether each target id is among the ``k`` highest ``predictions`` of its row."""
    return ops.in_top_k(targets, predictions, k)


def bias_add(x, bias, data_format=None):
    """Add ``bias`` (1-D over the channels, or the shape of a sample) to ``x``."""
    data_format = config.standardize_data_format(data_format)
    x, bias = promote(x, bias)
    if bias.ndim not in (1, x.ndim - 1):
        raise ValueError(f"Unexpected bias rank {bias.ndim}: expected 1 or {x.ndim - 1}.")
    if data_format == "channels_first" and x.ndim > 2:
        if bias.ndim == 1:
            return x + bias.reshape((1, -1) + (1,) * (x.ndim - 2))
        return x + torch.movedim(bias, -1, 0).unsqueeze(0)
    return x + bias


def _check_pairs(padding, count):
    if len(padding) != count or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in padding):
        raise ValueError(f"`padding` must be {count} (before, after) pairs. Received: padding={padding!r}")


def _spatial_pad(x, widths, data_format):
    data_format = config.standardize_data_format(data_format)
    pairs = [(0, 0)] + [tuple(w) for w in widths]
    pairs = pairs + [(0, 0)] if data_format == "channels_last" else [(0, 0)] + pairs
    return ops.pad(x, pairs)


def temporal_padding(x, padding=(1, 1)):
    """Zero-pad the middle axis of a 3-D tensor by ``(left, right)``."""
    if len(padding) != 2:
        raise ValueError(f"`padding` must be a pair of ints. Received: padding={padding!r}")
    return ops.pad(x, [(0, 0), tuple(padding), (0, 0)])


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zero-pad the two spatial axes of a 4-D tensor."""
    _check_pairs(padding, 2)
    return _spatial_pad(x, padding, data_format)


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zero-pad the three spatial axes of a 5-D tensor."""
    _check_pairs(padding, 3)
    return _spatial_pad(x, padding, data_format)


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Upsample the spatial axes of a 4-D tensor by integer factors (``"nearest"`` or
    ``"bilinear"``)."""
    data_format = config.standardize_data_format(data_format)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Invalid `interpolation`: {interpolation!r}. Expected 'nearest' or 'bilinear'.")
    x = tensor(x)
    if data_format == "channels_last":
        x = x.permute(0, 3, 1, 2)
    if interpolation == "nearest":
        x = x.repeat_interleave(height_factor, dim=2).repeat_interleave(width_factor, dim=3)
    else:
        size = (x.shape[2] * height_factor, x.shape[3] * width_factor)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return x.permute(0, 2, 3, 1) if data_format == "channels_last" else x


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Nearest-neighbour upsampling of the three spatial axes of a 5-D tensor."""
    first = 2 if config.standardize_data_format(data_format) == "channels_first" else 1
    for offset, factor in enumerate((depth_factor, height_factor, width_factor)):
        x = repeat_elements(x, factor, axis=first + offset)
    return x


__all__ = public_names(globals(), __name__)
