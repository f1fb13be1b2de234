"""Neural-network functions (``keras.ops`` nn): activations, one-hot encodings, cross-entropies,
moments and normalization."""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops import linalg
from lamina.ops._utils import (
    canonical_axes,
    canonical_axis,
    dtype_or_floatx,
    promote,
    public_names,
    reduce_dims,
    tensor,
    to_float,
)

# --------------------------------------------------------------------------- activations


def relu(x):
    """Rectified linear unit: ``max(x, 0)``."""
    x = tensor(x)
    return torch.relu(x.to(torch.int32) if x.dtype == torch.bool else x)


def relu6(x):
    """Rectified linear unit capped at 6: ``min(max(x, 0), 6)``."""
    return torch.clamp(tensor(x), 0, 6)


def sigmoid(x):
    """Logistic sigmoid: ``1 / (1 + exp(-x))``."""
    return torch.sigmoid(to_float(x))


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed without underflow."""
    return F.logsigmoid(to_float(x))


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: ``relu6(x + 3) / 6``."""
    return F.hardsigmoid(to_float(x))


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    return F.hardswish(to_float(x))


hard_swish = hard_silu


def softplus(x):
    """``log(1 + exp(x))``."""
    return F.softplus(to_float(x))


def softsign(x):
    """``x / (1 + |x|)``."""
    return F.softsign(to_float(x))


def silu(x):
    """Sigmoid linear unit (swish): ``x * sigmoid(x)``."""
    return F.silu(to_float(x))


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit; the tanh approximation when ``approximate`` is True."""
    return F.gelu(to_float(x), approximate="tanh" if approximate else "none")


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return F.elu(to_float(x), alpha=alpha)


def selu(x):
    """Scaled exponential linear unit (Klambauer et al., 2017)."""
    return F.selu(to_float(x))


def leaky_relu(x, negative_slope=0.2):
    """``x`` if ``x >= 0`` else ``negative_slope * x``."""
    return F.leaky_relu(to_float(x), negative_slope=negative_slope)


def softmax(x, axis=-1):
    """Softmax over ``axis`` (an int, a tuple of ints, or ``None`` for all axes)."""
    x = to_float(x)
    if isinstance(axis, int):
        return torch.softmax(x, dim=canonical_axis(axis, x.ndim))
    dims = reduce_dims(x, axis)
    e = torch.exp(x - torch.amax(x, dim=dims, keepdim=True).detach())
    return e / torch.sum(e, dim=dims, keepdim=True)


def log_softmax(x, axis=-1):
    """Logarithm of the softmax over ``axis`` (int, tuple of ints, or ``None``)."""
    x = to_float(x)
    if isinstance(axis, int):
        return torch.log_softmax(x, dim=canonical_axis(axis, x.ndim))
    dims = reduce_dims(x, axis)
    return x - torch.logsumexp(x, dim=dims, keepdim=True)


# --------------------------------------------------------------------------- encodings


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encode integer class ids.

    Args:
        x: Integer tensor of class ids. Ids outside ``[0, num_classes)`` give all-zero vectors.
        num_classes: Number of classes (size of the new axis).
        axis: Position of the new class axis in the result.
        dtype: Result dtype (default ``floatx()``).
        sparse: Only ``False`` is supported.

    Returns:
        A tensor with one more axis than ``x``.
    """
    if sparse:
        raise ValueError("`sparse=True` is not supported: Lamina tensors are dense torch tensors.")
    x = tensor(x)
    if x.is_floating_point():
        x = x.to(torch.int64)
    classes = torch.arange(int(num_classes), device=x.device)
    out = (x.unsqueeze(-1) == classes).to(dtype_or_floatx(dtype))
    return torch.movedim(out, -1, canonical_axis(axis, out.ndim))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encode: one vector per sample with ones at each listed class id.

    A 1-D ``inputs`` is a single sample; otherwise the last axis lists the ids of each sample.
    """
    num_classes = kwargs.pop("num_tokens", num_classes)
    if kwargs:
        raise TypeError(f"Unexpected arguments: {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("`num_classes` is required.")
    x = tensor(inputs)
    encoded = one_hot(x, num_classes, axis=-1, dtype=dtype, sparse=sparse)
    reduced = torch.amax(encoded, dim=-2)
    return torch.movedim(reduced, -1, canonical_axis(axis, reduced.ndim))


# --------------------------------------------------------------------------- losses


def _check_same_shape(target, output):
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy.

    Args:
        target: Labels in ``[0, 1]``, same shape as ``output``.
        output: Probabilities (clipped to ``[epsilon, 1 - epsilon]``) or, with ``from_logits``,
            logits.
        from_logits: Whether ``output`` holds logits.

    Returns:
        A tensor of the shape of ``output``.
    """
    target, output = promote(target, output, force_float=True)
    _check_same_shape(target, output)
    if from_logits:
        return -target * F.logsigmoid(output) - (1.0 - target) * F.logsigmoid(-output)
    eps = config.epsilon()
    output = torch.clamp(output, eps, 1.0 - eps)
    return -(target * torch.log(output) + (1.0 - target) * torch.log(1.0 - output))


def _log_probs(output, from_logits, dim):
    if from_logits:
        return torch.log_softmax(output, dim=dim)
    # Rescale so each distribution sums to one before clipping, as Keras does.
    output = output / torch.sum(output, dim=dim, keepdim=True)
    eps = config.epsilon()
    return torch.log(torch.clamp(output, eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) ``target`` and ``output`` along ``axis``.

    Returns:
        A tensor with the class axis removed.
    """
    target, output = promote(target, output, force_float=True)
    _check_same_shape(target, output)
    if output.ndim < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1.")
    dim = canonical_axis(axis, output.ndim)
    return -torch.sum(target * _log_probs(output, from_logits, dim), dim=dim)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class ids ``target`` and ``output`` along ``axis``.

    ``target`` has the shape of ``output`` without the class axis (a trailing axis of size 1 is
    also accepted). Ids outside the class range contribute zero loss.
    """
    output = to_float(output)
    if output.ndim < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received shape {tuple(output.shape)}")
    target = tensor(target).to(device=output.device, dtype=torch.int64)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = target.squeeze(-1)
    dim = canonical_axis(axis, output.ndim)
    log_prob = torch.movedim(_log_probs(output, from_logits, dim), dim, -1)
    if target.shape != log_prob.shape[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the class axis: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    valid = (target >= 0) & (target < log_prob.shape[-1])
    safe_target = torch.where(valid, target, 0).unsqueeze(-1)
    picked = torch.take_along_dim(log_prob, safe_target, dim=-1).squeeze(-1)
    return -torch.where(valid, picked, torch.zeros_like(picked))


# --------------------------------------------------------------------------- statistics and normalization


def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and (population) variance of ``x`` over ``axes``.

    Half-precision inputs are reduced in float32 and the results cast back, as Keras does.

    Returns:
        A tuple ``(mean, variance)``.
    """
    if synchronized:
        raise NotImplementedError("`synchronized=True` is not supported by `moments`.")
    x = to_float(x)
    in_dtype = x.dtype
    if in_dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    dims = canonical_axes(axes, x.ndim)
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=keepdims)
    if in_dtype != x.dtype:
        limit = torch.finfo(in_dtype).max
        mean, var = (t.clamp(-limit, limit).to(in_dtype) for t in (mean, var))
    return mean, var


def normalize(x, axis=-1, order=2, epsilon=None):
    """Scale ``x`` to unit ``order``-norm along ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or pair of axes, for a matrix norm) along which the norm is taken.
        order: Norm order, an int >= 1.
        epsilon: Lower bound for the norm (default ``backend.epsilon()``).

    Returns:
        ``x / max(norm(x), epsilon)``.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    x = to_float(x)
    if x.ndim == 0:
        x = x.unsqueeze(0)
    epsilon = config.epsilon() if epsilon is None else epsilon
    dims = reduce_dims(x, axis)
    if order == 2:
        inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=dims, keepdim=True))
        return x * torch.clamp(inv_norm, max=1.0 / epsilon)
    # Like Keras, a pair of axes means a matrix norm here (only order 2 is a plain vector norm).
    norm_ = linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / torch.clamp(norm_, min=epsilon)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """Normalize ``x`` with given statistics: ``(x - mean) / sqrt(variance + epsilon) * scale + offset``.

    ``mean``, ``variance``, ``offset`` and ``scale`` are 1-D tensors over ``axis`` of ``x``.
    """
    x = to_float(x)
    dim = canonical_axis(axis, x.ndim)
    shape = [1] * x.ndim
    shape[dim] = x.shape[dim]

    def _stat(v):
        return tensor(v).to(device=x.device, dtype=x.dtype).reshape(shape)

    inv = torch.rsqrt(_stat(variance) + epsilon)
    if scale is not None:
        inv = inv * _stat(scale)
    shift = -_stat(mean) * inv
    if offset is not None:
        shift = shift + _stat(offset)
    return x * inv + shift


__all__ = public_names(globals(), __name__)
