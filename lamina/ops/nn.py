"""Neural-network functions (``keras.ops`` nn): activations, one-hot encodings, cross-entropies,
moments, normalization and attention.

Convolution and pooling live in ``nn_conv`` and CTC in ``nn_ctc``; both are re-exported here, so
``lamina.ops.nn`` offers everything ``keras.ops.nn`` does.
"""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops import _attention_math, _crossentropy_math, _normalization_math, linalg, nn_conv, nn_ctc
from lamina.ops._utils import (
    canonical_axes,
    canonical_axis,
    check_same_shape,
    dtype_or_floatx,
    promote,
    public_names,
    reduce_dims,
    tensor,
    to_float,
)
from lamina.ops.nn_conv import *  # noqa: F401,F403
from lamina.ops.nn_ctc import *  # noqa: F401,F403

# --------------------------------------------------------------------------- activations


def relu(x):
    """Rectified linear unit: ``max(x, 0)``."""
    x = tensor(x)
    return torch.relu(x.to(torch.int32) if x.dtype == torch.bool else x)


def relu6(x):
    """Rectified linear unit capped at 6: ``min(max(x, 0), 6)``; integer inputs give floats, as in Keras."""
    return F.relu6(to_float(x))


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


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: ``x`` if ``x > 0`` else ``alpha * (exp(x / alpha) - 1)``."""
    return F.celu(to_float(x), alpha)


def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``x`` along ``axis``."""
    x = to_float(x)
    dim = canonical_axis(axis, max(x.ndim, 1))
    if x.ndim == 0 or x.shape[dim] % 2:
        raise ValueError(
            "`glu` splits its input in two equal halves along `axis`, so that axis must have an "
            f"even size. Received: input shape {tuple(x.shape)}, axis={axis}"
        )
    return F.glu(x, dim)


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]`` (integer inputs keep their dtype)."""
    return torch.clamp(tensor(x), -1, 1)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    x = to_float(x)
    return torch.where(torch.abs(x) > threshold, x, 0.0)


def soft_shrink(x, threshold=0.5):
    """``x`` moved toward 0 by ``threshold``; 0 where ``|x| <= threshold``."""
    # Explicit selects rather than F.softshrink: Keras maps NaN to 0 and accepts any threshold.
    x = to_float(x)
    return torch.where(x > threshold, x - threshold, torch.where(x < -threshold, x + threshold, 0.0))


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return F.tanhshrink(to_float(x))


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    x = tensor(x)
    return torch.where(x > threshold, x, default_value)


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU."""
    x = to_float(x)
    return (x + torch.sqrt(x * x + b)) / 2


def sparse_plus(x):
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` in between."""
    x = to_float(x)
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` in between."""
    x = to_float(x)
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, 1.0, (x + 1) / 2))


def sparsemax(x, axis=-1):
    """Euclidean projection of ``x`` onto the probability simplex along ``axis``."""
    x = to_float(x)
    dim = canonical_axis(axis, max(x.ndim, 1))
    if x.ndim == 0:
        return torch.ones_like(x)
    z = torch.sort(x, dim=dim, descending=True).values
    cumsum = torch.cumsum(z, dim=dim)
    shape = [1] * x.ndim
    shape[dim] = -1
    k = torch.arange(1, x.shape[dim] + 1, dtype=x.dtype, device=x.device).reshape(shape)
    support = z - (cumsum - 1) / k > 0
    support_size = torch.sum(support, dim=dim, keepdim=True)
    # The threshold uses the cumulative sum at the last index of the support (Martins & Astudillo,
    # 2016). Keras 3.15 sums all cumulative sums in the support instead, which is wrong whenever the
    # support holds more than one element (fixed upstream in keras-team/keras#23469).
    support_sum = torch.sum(torch.where(support, z, 0.0), dim=dim, keepdim=True)
    tau = (support_sum - 1) / support_size.to(x.dtype)
    return torch.clamp(x - tau, min=0)


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
    check_same_shape(target, output)
    return _crossentropy_math.binary_crossentropy_values(target, output, from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) ``target`` and ``output`` along ``axis``.

    Returns:
        A tensor with the class axis removed.
    """
    target, output = promote(target, output, force_float=True)
    check_same_shape(target, output)
    if output.ndim < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1.")
    dim = canonical_axis(axis, output.ndim)
    return -torch.sum(target * _crossentropy_math.categorical_log_probs(output, from_logits, dim), dim=dim)


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
    log_prob = torch.movedim(_crossentropy_math.categorical_log_probs(output, from_logits, dim), dim, -1)
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
        # In float16 1/epsilon can exceed the largest finite value (Keras's bound becomes inf).
        bound = min(1.0 / epsilon, torch.finfo(inv_norm.dtype).max)
        return x * torch.clamp(inv_norm, max=bound)
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


def _in_float32_at_least(x):
    """``x`` as a tensor computed in at least float32, and the dtype to cast the result back to."""
    x = tensor(x)
    original = x.dtype
    if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
        x = x.to(torch.float32)
    return x, original


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, *, rms_scaling=False):
    """Layer normalization of ``x`` over ``axis`` (an int or a sequence of ints).

    Computed in at least float32 and cast back to ``x``'s dtype, as Keras does.

    Args:
        x: Input tensor.
        gamma: Optional scale, sized over the normalized axes.
        beta: Optional offset, sized over the normalized axes.
        axis: Axis or axes to normalize over.
        epsilon: Added to the variance (default ``backend.epsilon()``).
        rms_scaling: Keras's deprecated option: divide by the standard deviation without
            centering (use ``rms_normalization`` for RMS normalization).

    Returns:
        The normalized tensor, with the shape and dtype of ``x``.
    """
    x, original = _in_float32_at_least(x)
    epsilon = config.epsilon() if epsilon is None else epsilon
    axes = sorted(canonical_axes(axis, x.ndim))
    gamma = None if gamma is None else tensor(gamma).to(device=x.device)
    beta = None if beta is None else tensor(beta).to(device=x.device)
    return _normalization_math.layer_norm(x, axes, gamma, beta, epsilon, rms_scaling=rms_scaling).to(original)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """Root-mean-square normalization: ``x / sqrt(mean(x**2 over axis) + epsilon) * scale``.

    Computed in at least float32 and cast back to ``x``'s dtype, as Keras does.
    """
    x, original = _in_float32_at_least(x)
    if x.ndim == 0:
        x = x.reshape(1)
    epsilon = config.epsilon() if epsilon is None else epsilon
    axes = sorted(canonical_axes(axis, x.ndim))
    if scale is None:
        scale = torch.ones((), dtype=x.dtype, device=x.device)
        shape = [x.shape[a] for a in axes]
        scale = scale.expand(shape)
    return _normalization_math.rms_norm(x, axes, tensor(scale).to(device=x.device), epsilon).to(original)


# --------------------------------------------------------------------------- image quality and complex


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mean((x1 - x2)**2))`` in dB.

    ``x1`` and ``x2`` must have the same shape; the mean runs over all their entries.
    """
    x1, x2 = tensor(x1), tensor(x2)
    if x1.shape != x2.shape:
        raise ValueError(
            f"Input shapes {tuple(x1.shape)} and {tuple(x2.shape)} must match for PSNR calculation."
        )
    x1, x2 = promote(x1, x2, force_float=True)
    mse = torch.mean(torch.square(x1 - x2))
    max_val = torch.as_tensor(max_val, dtype=x2.dtype, device=x2.device)
    return 20.0 * torch.log10(max_val) - 10.0 * torch.log10(mse)


def polar(abs_, angle):
    """The complex number with magnitude ``abs_`` and phase ``angle``."""
    abs_, angle = promote(abs_, angle, force_float=True)
    return torch.polar(abs_, angle)


# --------------------------------------------------------------------------- attention


def dot_product_attention(
    query, key, value, bias=None, mask=None, scale=None, is_causal=False, flash_attention=None,
    attn_logits_soft_cap=None,
):
    """Scaled dot-product attention ``softmax(q k^T * scale + bias) v`` in the Keras layout.

    Args:
        query: ``(batch, T, heads, depth)`` tensor.
        key: ``(batch, S, key_heads, depth)`` tensor; ``key_heads`` divides ``heads`` (grouped
            query attention: query head ``n`` reads key head ``n // (heads / key_heads)``).
        value: ``(batch, S, key_heads, depth_v)`` tensor.
        bias: Optional logits bias broadcastable to ``(batch, heads, T, S)``.
        mask: Optional boolean mask broadcastable to ``(batch, heads, T, S)``, True where
            attention is allowed. A query row with every key masked gets uniform weights.
        scale: Logit scale (default ``1 / sqrt(depth)``).
        is_causal: Let query ``i`` see only keys ``j <= i``.
        flash_attention: Accepted for compatibility; torch chooses its fused kernel itself.
        attn_logits_soft_cap: Optional cap: logits become ``logits / (1 + |logits| / cap)``.

    Returns:
        ``(batch, T, heads, depth_v)`` tensor.
    """
    query, key, value = promote(query, key, value)
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim != 4:
            raise ValueError(
                "`dot_product_attention` only supports 4D inputs. Received: "
                f"query.shape={tuple(query.shape)}, key.shape={tuple(key.shape)}, "
                f"value.shape={tuple(value.shape)}."
            )
    if mask is not None:
        mask = tensor(mask).to(device=query.device, dtype=torch.bool)
    if bias is None and attn_logits_soft_cap is None:
        # With bias=None both masked-row conventions match Keras once rows are set to the mean.
        if mask is not None and is_causal:
            causal = torch.ones(query.shape[1], key.shape[1], dtype=torch.bool, device=query.device).tril()
            mask, is_causal = mask & causal, False
        return _attention_math.fused_attention(query, key, value, mask, is_causal, scale, fully_masked="mean")
    return _explicit_attention(query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)


def _explicit_attention(query, key, value, bias, mask, scale, is_causal, soft_cap):
    heads, key_heads = query.shape[2], key.shape[2]
    if key_heads != heads:
        key = key.repeat_interleave(heads // key_heads, dim=2)
        value = value.repeat_interleave(heads // key_heads, dim=2)
    scale = 1.0 / float(query.shape[-1]) ** 0.5 if scale is None else scale
    logits_dtype = torch.promote_types(query.dtype, torch.float32)
    logits = torch.einsum("btnh,bsnh->bnts", query.to(logits_dtype), key.to(logits_dtype)) * scale
    if bias is not None:
        logits = logits + tensor(bias).to(device=logits.device, dtype=logits_dtype)
    if soft_cap is not None:
        logits = logits / (1.0 + torch.abs(logits) / soft_cap)
    allowed = mask
    if is_causal:
        causal = torch.ones(logits.shape[-2:], dtype=torch.bool, device=logits.device).tril()
        allowed = causal if allowed is None else allowed & causal
    if allowed is not None:
        # A finite stand-in (not -inf) so that fully masked rows get uniform weights, as in Keras.
        logits = torch.where(allowed, logits, -0.7 * torch.finfo(logits.dtype).max)
    probs = torch.softmax(logits.float(), dim=-1).to(value.dtype)
    return torch.einsum("bnts,bsnh->btnh", probs, value)


__all__ = sorted(set(public_names(globals(), __name__)) | set(nn_conv.__all__) | set(nn_ctc.__all__))
