"""Keras 2 backend: batch statistics and moving averages (``K.normalize_batch_in_training``,
``K.moving_average_update``) and randomly initialized variables."""

import numpy as np
import torch

from lamina.backend.legacy._common import real
from lamina.backend.legacy.variables import random_normal, random_uniform, variable
from lamina.ops._utils import public_names, tensor

# TensorFlow's fused batch norm (which Keras 2 uses for NHWC batches) raises epsilon to this.
_FUSED_MIN_EPSILON = 1.001e-5


def moving_average_update(x, value, momentum):
    """Update the variable ``x`` in place to ``x * momentum + value * (1 - momentum)`` and return
    it.

    Example:

    >>> x = K.variable(0.0)
    >>> K.get_value(K.moving_average_update(x, 2.0, 0.9))
    array(0.2, dtype=float32)
    """
    if not hasattr(x, "assign"):
        raise TypeError(f"`x` must be a variable (from `K.variable` or a layer weight). Received: {type(x)}")
    current = x.detach()
    value = tensor(value).to(device=current.device, dtype=current.dtype)
    momentum = torch.as_tensor(momentum, dtype=current.dtype, device=current.device)
    x.assign(current - (current - value) * (1 - momentum))
    return x


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """Normalize ``x`` with the mean and variance of the batch over ``reduction_axes``.

    Args:
        x: Input tensor.
        gamma: Scale (``None`` for 1), broadcast along the kept axes.
        beta: Offset (``None`` for 0).
        reduction_axes: The axes the statistics are taken over.
        epsilon: Added to the variance.

    Returns:
        ``(normalized, mean, variance)``; ``mean`` and ``variance`` have the reduced axes
        removed. As in tf-keras on CPU, a 4D input reduced over ``(0, 1, 2)`` (channels last)
        takes TensorFlow's fused path, which returns the *unbiased* variance (the normalization
        itself uses the biased one) and raises ``epsilon`` to at least 1.001e-5.
    """
    x = real(x)
    axes = sorted(int(a) % x.ndim for a in reduction_axes)
    fused = x.ndim == 4 and list(reduction_axes) == [0, 1, 2]
    if fused:
        epsilon = max(epsilon, _FUSED_MIN_EPSILON)
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    kept_shape = [1 if a in axes else x.shape[a] for a in range(x.ndim)]
    out = (x - mean) * torch.rsqrt(var + epsilon)
    if gamma is not None:
        out = out * tensor(gamma).to(device=x.device, dtype=x.dtype).reshape(kept_shape)
    if beta is not None:
        out = out + tensor(beta).to(device=x.device, dtype=x.dtype).reshape(kept_shape)
    mean, var = mean.squeeze(axes), var.squeeze(axes)
    if fused:
        count = int(np.prod([x.shape[a] for a in axes]))
        var = var * (count / max(count - 1, 1))
    return out, mean, var


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    """A variable of ``shape`` drawn uniformly from ``[low, high)``; without a ``seed`` one is
    drawn from NumPy's global generator (so ``np.random.seed`` makes it reproducible)."""
    if seed is None:
        seed = int(np.random.randint(10e8))
    return variable(random_uniform(shape, low, high, dtype=dtype, seed=seed), dtype=dtype, name=name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    """A variable of ``shape`` drawn from ``N(mean, scale ** 2)``; without a ``seed`` one is
    drawn from NumPy's global generator."""
    if seed is None:
        seed = int(np.random.randint(10e8))
    return variable(random_normal(shape, mean, scale, dtype=dtype, seed=seed), dtype=dtype, name=name)


__all__ = public_names(globals(), __name__)
