"""Keras 2 backend: activations, losses, batch normalization and dropout."""

import torch
import torch.nn.functional as F

from lamina import ops
from lamina.backend import config
from lamina.backend.core import standardize_dtype
from lamina.backend.legacy._common import real, records_backend_node
from lamina.backend.legacy.variables import random_uniform
from lamina.ops._utils import canonical_axis, promote, public_names, tensor


@records_backend_node
def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with options.

    Returns ``x`` above ``threshold`` (capped at ``max_value`` when given) and
    ``alpha * (x - threshold)`` at or below it.
    """
    x = real(x)
    if alpha != 0.0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope=alpha)
    negative_part = torch.relu(threshold - x) if alpha != 0.0 else None
    out = x * (x > threshold).to(x.dtype) if threshold != 0 else torch.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0.0, max_value)
    if negative_part is not None:
        out = out - alpha * negative_part
    return out


def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return ops.elu(x, alpha=alpha)


@records_backend_node
def softmax(x, axis=-1):
    """Softmax over ``axis`` (an int or a tuple of ints); 1-D inputs are rejected as in Keras 2."""
    x = tensor(x)
    if x.ndim <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor of rank {x.ndim}: expected rank >= 2.")
    return ops.softmax(x, axis=axis)


def softplus(x):
    """``log(1 + exp(x))``."""
    return ops.softplus(x)


def softsign(x):
    """``x / (1 + |x|)``."""
    return ops.softsign(x)


def sigmoid(x):
    """Logistic sigmoid."""
    return ops.sigmoid(x)


@records_backend_node
def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)``."""
    return torch.clamp(0.2 * real(x) + 0.5, 0.0, 1.0)


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


# --------------------------------------------------------------------------- losses and training


@records_backend_node
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy (Keras 2: probabilities are clipped to
    ``[epsilon, 1 - epsilon]`` and ``epsilon`` is added inside the logarithms)."""
    target, output = promote(target, output, force_float=True)
    if from_logits:
        return torch.clamp(output, min=0) - output * target + torch.log1p(torch.exp(-torch.abs(output)))
    eps = config.epsilon()
    output = torch.clamp(output, eps, 1.0 - eps)
    return -(target * torch.log(output + eps) + (1.0 - target) * torch.log(1.0 - output + eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot ``target`` and ``output`` along ``axis``."""
    return ops.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


@records_backend_node
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, ignore_class=None):
    """Cross-entropy between integer ids ``target`` and ``output`` along ``axis``.

    Keras 2 clips probabilities (without rescaling them first) and then normalizes in log space.
    Positions whose id equals ``ignore_class`` get a loss of 0.
    """
    output = real(output)
    dim = canonical_axis(axis, output.ndim)
    if not from_logits:
        eps = config.epsilon()
        output = torch.log(torch.clamp(output, eps, 1.0 - eps))
    target = tensor(target).to(device=output.device, dtype=torch.int64)
    valid = None
    if ignore_class is not None:
        valid = target != ignore_class
        target = torch.where(valid, target, torch.zeros_like(target))
    loss = ops.sparse_categorical_crossentropy(target, output, from_logits=True, axis=dim)
    if valid is not None:
        loss = torch.where(valid.reshape(loss.shape), loss, torch.zeros_like(loss))
    return loss


def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta``, with the statistics broadcast against
    ``x`` (``beta`` and ``gamma`` may be None)."""
    x = real(x)
    out = (x - tensor(mean)) * torch.rsqrt(tensor(var) + epsilon)
    if gamma is not None:
        out = out * tensor(gamma)
    return out if beta is None else out + tensor(beta)


def dropout(x, level, noise_shape=None, seed=None):
    """Zero entries of ``x`` with probability ``level`` and scale the rest by ``1 / (1 - level)``.

    ``noise_shape`` (broadcastable to the shape of ``x``) shares the mask along axes of size 1.
    """
    if not 0.0 <= level < 1.0:
        raise ValueError(f"`level` must be in [0, 1). Received: level={level}")
    x = real(x)
    mask_shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if d is None else d for i, d in enumerate(noise_shape)
    )
    keep = random_uniform(mask_shape, dtype=standardize_dtype(x.dtype), seed=seed).to(x.device) >= level
    return x * keep.to(x.dtype) / (1.0 - level)


__all__ = public_names(globals(), __name__)
