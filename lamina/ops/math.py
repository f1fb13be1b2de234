"""Mathematical functions beyond NumPy's (``keras.ops`` math): logsumexp, top-k, erf, ..."""

import torch

from lamina.ops._utils import public_names, reduce_dims, tensor, to_float


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
    x = to_float(x)
    dims = reduce_dims(x, axis)
    return torch.logsumexp(x, dim=dims, keepdim=keepdims) if dims else x


def top_k(x, k, sorted=True):
    """The ``k`` largest entries along the last axis and their int32 indices.

    Returns:
        A tuple ``(values, indices)``.
    """
    x = tensor(x)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"`k` must be in [0, {x.shape[-1]}] (the size of the last axis). Received: k={k}")
    values, indices = torch.topk(x, k, dim=-1, largest=True, sorted=sorted)
    return values, indices.to(torch.int32)


def in_top_k(targets, predictions, k):
    """Whether each target class is among the ``k`` highest predictions (ties count as in).

    Args:
        targets: Integer class ids of shape ``(batch,)``.
        predictions: Scores of shape ``(batch, num_classes)``.
        k: Number of top predictions to consider.

    Returns:
        A boolean tensor of shape ``(batch,)``.
    """
    predictions = tensor(predictions)
    targets = tensor(targets).to(device=predictions.device, dtype=torch.int64)
    at_label = torch.take_along_dim(predictions, targets.unsqueeze(-1), dim=-1)
    # A NaN score for the label must not rank it first.
    at_label = torch.where(torch.isnan(at_label), float("-inf"), at_label)
    rank = 1 + torch.sum(predictions > at_label, dim=-1)
    return rank <= k


def erf(x):
    """Element-wise Gauss error function."""
    return torch.erf(to_float(x))


def erfinv(x):
    """Element-wise inverse of the error function."""
    return torch.erfinv(to_float(x))


def rsqrt(x):
    """Element-wise ``1 / sqrt(x)``."""
    return torch.rsqrt(to_float(x))


__all__ = public_names(globals(), __name__)
