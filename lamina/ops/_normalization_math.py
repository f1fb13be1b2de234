"""The normalization math shared by ``ops`` and the normalization layers, as stateless functions.

The layers hold the weights and decide the mode; these functions compute. Where torch has a fused
kernel computing exactly what Keras computes (``batch_norm``, ``layer_norm``, ``group_norm``,
``rms_norm``) it is used; the general cases (masks, axis lists, batch renormalization, statistics
reduced across processes) use the Keras formulas written out.
"""

import torch
import torch.nn.functional as F

# Keras divides masked sums by ``count + backend.epsilon()`` (its default fuzz factor, 1e-7).
_MASK_FUZZ = 1e-7


def compute_dtype(x):
    """Keras normalizes half-precision inputs in float32 (``result_type(x.dtype, "float32")``)."""
    if x.dtype in (torch.float32, torch.float64):
        return x
    return x.float()


def expand_to(v, x, axes):
    """Reshape the statistic or weight ``v`` (sized over ``axes``) to broadcast against ``x``."""
    if v is None:
        return None
    shape = [x.shape[i] if i in axes else 1 for i in range(x.dim())]
    return v.to(x.dtype).reshape(shape)


# --------------------------------------------------------------------------- batch normalization


def _channels_at_1(x, axis):
    """``x`` with its channel axis moved to position 1 for torch's batch-norm kernels, and the
    inverse move.

    A 4D/5D input with its channels last becomes, moved, a tensor in torch's channels_last memory
    format, which torch's channels-last kernels take as it is, with and without autograd. Measured
    on CPU (torch 2.13, 1 thread, forward plus backward in training): 8.8 ms for a
    (64, 32, 32, 32) batch against 28.7 ms for one contiguous copy and the contiguous kernels,
    1.2 ms against 6.4 ms for (8, 8, 16, 16, 32); the copy also left the output and its
    gradient in different layouts, so ReLU's backward and the next convolution's backward ran
    their slow strided paths (the ResNet-style block of ``bench/workloads.py`` trained at 152 ms
    per step with the copy, 116 ms without). Other ranks have no channels-last kernel and are
    copied on CPU (a 3D (64, 128, 64) batch: 4.8 ms copied, 5.0 ms strided).
    """
    if axis == 1:
        return x, lambda y: y
    moved = x.movedim(axis, 1)
    if x.device.type == "cpu" and (x.dim() not in (4, 5) or axis != x.dim() - 1):
        moved = moved.contiguous()
    return moved, lambda y: y.movedim(1, axis)


def fused_batch_norm_train(x, axis, gamma, beta, moving_mean, moving_variance, momentum, epsilon):
    """Batch-statistics normalization with torch's fused kernel, updating the moving statistics.

    Torch updates ``running_var`` with the unbiased batch variance, Keras with the biased one; the
    moving variance is corrected afterwards so it holds exactly
    ``moving_variance * momentum + var * (1 - momentum)``.

    Args:
        x: Input whose channel axis is ``axis`` (non-negative); same dtype as the statistics.
        gamma, beta: Scale and offset over the channel axis, or ``None``.
        moving_mean, moving_variance: The layer's moving statistics, updated in place.
        momentum: Keras momentum (weight of the old value).
        epsilon: Added to the variance.

    Returns:
        The normalized tensor, same shape and layout as ``x``.
    """
    n = x.numel() // x.shape[axis]
    view, restore = _channels_at_1(x, axis)
    # Torch's update goes to a copy: autograd keeps the tensor it was given for the backward pass,
    # so the tensor corrected below must not be that one.
    running_variance = moving_variance.detach().clone()
    out = F.batch_norm(
        view, moving_mean, running_variance, gamma, beta, True, 1.0 - momentum, epsilon
    )
    with torch.no_grad():
        # running = m*old + (1-m)*var*n/(n-1)  =>  m*old + (1-m)*var = running*(n-1)/n + m*old/n.
        moving_variance.mul_(momentum / n).add_(running_variance, alpha=(n - 1) / n)
    return restore(out)


def fused_batch_norm_inference(x, axis, gamma, beta, mean, variance, epsilon):
    """Normalization with given statistics by torch's fused kernel (``axis`` non-negative).

    A 4D/5D input normalized over its last axis goes to torch's channels-last kernel as it is
    (see ``_channels_at_1``): the same numbers as the kernel on a contiguous copy, in a third of
    the time (CPU, 1 thread: 1.1 ms vs 3.2 ms for a (64, 32, 32, 32) batch).
    """
    view, restore = _channels_at_1(x, axis)
    return restore(F.batch_norm(view, mean, variance, gamma, beta, False, 0.0, epsilon))


def batch_moments(x, axes, mask=None):
    """Per-``axes`` mean and biased variance of ``x``, optionally weighted by a boolean ``mask``.

    Args:
        x: Input tensor.
        axes: The kept (channel) axes, non-negative; every other axis is reduced.
        mask: ``None`` or a tensor of rank ``x.dim() - 1`` broadcast along the last axis of ``x``
            (Keras's convention): masked-out positions do not count.

    Returns:
        ``(mean, variance, count)``, the statistics with kept dims (broadcastable to ``x``) and
        the number of values behind each statistic (a tensor of the same shape).
    """
    reduce = tuple(i for i in range(x.dim()) if i not in axes)
    if mask is None:
        variance, mean = torch.var_mean(x, dim=reduce, correction=0, keepdim=True)
        count = torch.full_like(mean, x.numel() // max(mean.numel(), 1))
        return mean, variance, count
    weights = mask.unsqueeze(-1).to(torch.bool).expand(x.shape)
    w = weights.to(x.dtype)
    count = w.sum(dim=reduce, keepdim=True)
    mean = torch.where(weights, x, 0).sum(dim=reduce, keepdim=True) / (count + _MASK_FUZZ)
    diff = torch.where(weights, x - mean, 0)
    variance = diff.square().sum(dim=reduce, keepdim=True) / (count + _MASK_FUZZ)
    return mean, variance, count


def combine_moments(counts, means, variances):
    """Merge per-part statistics into those of the union (Chan et al.'s parallel formula).

    Args:
        counts, means, variances: Tensors stacked along a new leading axis, one entry per part.

    Returns:
        ``(mean, variance, count)`` of all parts together.
    """
    total = counts.sum(dim=0)
    safe = total.clamp(min=1)
    mean = (counts * means).sum(dim=0) / safe
    m2 = (counts * (variances + (means - mean).square())).sum(dim=0)
    return mean, m2 / safe, total


def all_reduce_moments(mean, variance, count):
    """Statistics over the global batch of every process of the default process group.

    The gather is differentiable (torch's functional collectives), so gradients flow back to each
    process's own inputs as they would through one large batch.
    """
    from torch.distributed import _functional_collectives as collectives

    local = torch.stack([count, mean, variance]).unsqueeze(0)
    group = torch.distributed.group.WORLD
    gathered = collectives.all_gather_single(local, gather_dim=0, group=group)
    gathered = collectives.wait_tensor(gathered) if hasattr(gathered, "wait") else gathered
    return combine_moments(gathered[:, 0], gathered[:, 1], gathered[:, 2])


def distributed_world_size():
    """The size of the default process group, 1 when torch.distributed is not in use."""
    if not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return 1
    return torch.distributed.get_world_size()


def normalize_with(x, axes, mean, variance, gamma, beta, epsilon):
    """``(x - mean) / sqrt(variance + epsilon) * gamma + beta`` in Keras's operation order.

    ``mean`` and ``variance`` broadcast against ``x``; ``gamma`` and ``beta`` are sized over
    ``axes`` (or ``None``).
    """
    inv = torch.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * expand_to(gamma, x, axes)
    shift = -mean * inv
    if beta is not None:
        shift = shift + expand_to(beta, x, axes)
    return x * inv + shift


def renorm_correction(mean, variance, renorm_mean, renorm_stddev, epsilon, clipping):
    """Batch renormalization's ``(r, d)``: batch statistics expressed in moving-statistics units.

    Both are constants for the gradient; ``clipping`` maps optional ``rmin``/``rmax``/``dmax``.
    """
    stddev = torch.sqrt(variance + epsilon)
    floor = torch.sqrt(torch.tensor(epsilon, dtype=mean.dtype, device=mean.device))
    renorm_stddev = torch.maximum(renorm_stddev.to(mean.dtype), floor)
    r = stddev / renorm_stddev
    d = (mean - renorm_mean.to(mean.dtype)) / renorm_stddev
    if clipping.get("rmin") is not None:
        r = r.clamp(min=clipping["rmin"])
    if clipping.get("rmax") is not None:
        r = r.clamp(max=clipping["rmax"])
    if clipping.get("dmax") is not None:
        d = d.clamp(-clipping["dmax"], clipping["dmax"])
    return r.detach(), d.detach()


# --------------------------------------------------------------------------- per-sample normalizations


def trailing_shape(x, axes):
    """``x``'s sizes over ``axes`` when they are exactly its last axes (torch's ``normalized_shape``
    convention), else ``None``."""
    canonical = sorted(a % x.dim() for a in axes)
    if canonical != list(range(x.dim() - len(canonical), x.dim())):
        return None
    return tuple(x.shape[a] for a in canonical)


def layer_norm(x, axes, gamma, beta, epsilon, rms_scaling=False):
    """Keras's layer normalization over ``axes`` (a sorted list as the layer stores it).

    The weights have the sizes of ``axes`` in that list order and are reshaped (not transposed)
    onto the input, as Keras does. ``rms_scaling`` divides by the standard deviation without
    centering (Keras's deprecated option, kept for its numbers).
    """
    dims = [a % x.dim() for a in axes]
    normalized = trailing_shape(x, axes)
    if normalized is not None and not rms_scaling:
        g = gamma.to(x.dtype).reshape(normalized) if gamma is not None else None
        b = beta.to(x.dtype).reshape(normalized) if beta is not None else None
        return F.layer_norm(x, normalized, g, b, epsilon)
    shape = [1] * x.dim()
    for a in axes:
        shape[a] = x.shape[a]

    def _broadcast(v):
        return None if v is None else v.to(x.dtype).reshape(shape)

    variance, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
    inv = torch.rsqrt(variance + epsilon)
    if rms_scaling:
        out = x * inv
        return out if gamma is None else out * _broadcast(gamma)
    if gamma is not None:
        inv = inv * _broadcast(gamma)
    shift = -mean * inv
    if beta is not None:
        shift = shift + _broadcast(beta)
    return x * inv + shift


def group_norm(x, axis, groups, gamma, beta, epsilon):
    """Normalize each of ``groups`` channel groups of ``x`` (channel axis ``axis``, non-negative)
    over its channels and all non-batch axes, then scale and shift per channel."""
    moved = x.movedim(axis, 1) if axis != 1 else x
    g = gamma.to(x.dtype) if gamma is not None else None
    b = beta.to(x.dtype) if beta is not None else None
    if not moved.requires_grad and not moved.is_contiguous() and torch.is_grad_enabled():
        # torch 2.13's CPU group_norm backward segfaults on a non-contiguous (e.g. channels_last)
        # input that does not require grad while gamma/beta do: give it a contiguous copy.
        moved = moved.contiguous()
    out = F.group_norm(moved, groups, g, b, epsilon)
    return out.movedim(1, axis) if axis != 1 else out


def rms_norm(x, axes, scale, epsilon):
    """``x / sqrt(mean(x**2 over axes) + epsilon) * scale`` (``scale`` sized over sorted ``axes``)."""
    normalized = trailing_shape(x, axes)
    if normalized is not None:
        return F.rms_norm(x, normalized, scale.to(x.dtype).reshape(normalized), epsilon)
    dims = [a % x.dim() for a in axes]
    shape = [1] * x.dim()
    for a in axes:
        shape[a] = x.shape[a]
    rrms = torch.rsqrt(x.square().mean(dim=dims, keepdim=True) + epsilon)
    return x * rrms * scale.to(x.dtype).reshape(shape)
