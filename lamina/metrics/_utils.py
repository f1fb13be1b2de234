"""Tensor helpers shared by the metrics: conversion, rank matching, masks and weighted reduction.

Everything here is plain tensor math on the device of its inputs: no ``.item()``, no host copies and
no Python branching on tensor values, so a training loop can update metrics every batch without
waiting for the device. Python branches only look at static facts (ranks, shapes, ``None``).
"""

import numbers

import numpy as np
import torch

from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import squeeze_or_expand_to_same_rank


def to_tensor(x, dtype=None, device=None):
    """``x`` as a detached tensor (metrics never take part in autograd), optionally cast and moved."""
    t = convert_to_tensor(x, dtype=dtype, device=device)
    if t.ndim == 1 and not isinstance(x, torch.Tensor) and np.ndim(x) == 0:
        # A Python scalar must stay 0-d.
        t = t.reshape(())
    return t.detach() if t.requires_grad else t


def keras_mask(x):
    """The Keras mask a layer attached to ``x``, if any."""
    return getattr(x, "_keras_mask", None)


def divide_no_nan(x, y):
    """``x / y`` with 0 where ``y`` is 0 (metric values only: no gradient flows through it)."""
    return torch.where(y == 0, 0.0, x / y)


def apply_mask(sample_weight, mask, dtype):
    """Fold a boolean ``mask`` into ``sample_weight`` (``None`` means all ones): masked entries get 0."""
    if mask is None:
        return sample_weight
    float_mask = mask.to(to_torch_dtype(dtype))
    if sample_weight is None:
        return float_mask
    sample_weight = to_tensor(sample_weight, dtype, device=float_mask.device)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_to_samplewise(values, sample_weight, reduce_fn, dtype):
    """Weight ``values`` and reduce them to one value per sample (the first axis).

    The weights are matched to the values' rank, the values reduced down to the weights' rank with
    ``reduce_fn``, then multiplied. Returns ``(values, sample_weight)``; the weights are reduced the
    same way so their sum counts samples (a Python number weight is returned as is).
    """
    mask = keras_mask(values)
    values = to_tensor(values, dtype)
    if isinstance(sample_weight, numbers.Real) and mask is None:
        # A Python number weighs the batch's mean; kept on the host side of the multiplication so
        # no tensor has to be copied to the device for it.
        return (reduce_fn(values) if values.ndim else values) * sample_weight, sample_weight
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype, device=values.device)
        sample_weight = apply_mask(sample_weight, mask, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, dim=tuple(range(weight_ndim, values.ndim)))
        sample_weight = torch.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.ndim)))
    return values, sample_weight


def check_in_range(name, value, low=0, high=1):
    """Raise a ``ValueError`` naming ``name`` unless ``low <= value <= high``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"Argument `{name}` must be in the range [{low}, {high}]. Received: {name}={value!r}")
