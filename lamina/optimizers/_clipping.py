"""Gradient clipping on lists of tensors, with batched kernels and no host sync.

Each function returns new tensors: the gradients a caller passes (often ``.grad`` buffers) are
never modified.
"""

import torch


def clip_by_norm(grads, clip_norm):
    """Rescale each gradient so its L2 norm is at most `clip_norm`: ``g * c / max(norm(g), c)``."""
    factors = torch._foreach_norm(grads)
    torch._foreach_maximum_(factors, float(clip_norm))
    torch._foreach_reciprocal_(factors)
    torch._foreach_mul_(factors, float(clip_norm))
    return torch._foreach_mul(grads, factors)


def clip_by_value(grads, clip_value):
    """Clip every element to ``[-clip_value, clip_value]``."""
    clipped = torch._foreach_clamp_min(grads, -float(clip_value))
    torch._foreach_clamp_max_(clipped, float(clip_value))
    return clipped


def global_norm(value_list):
    """The L2 norm of all tensors of `value_list` taken together (`None` entries skipped)."""
    norms = torch._foreach_norm([v for v in value_list if v is not None])
    return torch.linalg.vector_norm(torch.stack(norms))


def clip_by_global_norm(value_list, clip_norm):
    """Scale the tensors together so their global norm is at most `clip_norm`.

    Args:
        value_list: List of tensors (`None` entries are kept as `None`).
        clip_norm: Positive float.

    Returns:
        The list of scaled tensors; all NaN if the global norm is not finite.
    """
    norm = global_norm(value_list)
    scale = clip_norm * torch.clamp(1.0 / norm, max=1.0 / clip_norm)
    # A non-finite norm makes the scale NaN instead of silently passing infinities through.
    scale = scale + (norm - norm)
    tensors = [v for v in value_list if v is not None]
    scaled = iter(torch._foreach_mul(tensors, scale))
    return [None if v is None else next(scaled) for v in value_list]
