"""Mathematical functions beyond NumPy's (``keras.ops`` math): logsumexp, top-k, erf, segment
reductions, distances, framing and complex views.

The Fourier transforms live in ``fourier`` and are re-exported here.
"""

import torch

from lamina.ops import fourier as _fourier
from lamina.ops._utils import promote, public_names, reduce_dims, tensor, to_float
from lamina.ops.fourier import *  # noqa: F401,F403


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


def erfc(x):
    """Element-wise complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return torch.erfc(to_float(x))


def logdet(x):
    """Natural logarithm of the determinant of each square matrix (NaN for a negative one)."""
    return torch.logdet(to_float(x))


def cdist(x, y):
    """Euclidean distances between the rows of ``x`` ``(..., M, D)`` and ``y`` ``(..., N, D)``.

    Returns:
        ``(..., M, N)`` distances.
    """
    x, y = promote(x, y, force_float=True)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(
            "`cdist` expects (..., M, D) and (..., N, D) inputs with the same D. "
            f"Received: x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}"
        )
    # The direct difference, not torch's matmul shortcut, for float32-exact distances.
    return torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last axis.

    Returns:
        ``(..., num_frames, sequence_length)`` with
        ``num_frames = 1 + (x.shape[-1] - sequence_length) // sequence_stride``.
    """
    x = tensor(x)
    return x.unfold(-1, int(sequence_length), int(sequence_stride))


def _segment_reduce(data, segment_ids, num_segments, reduce):
    data = tensor(data)
    ids = tensor(segment_ids).to(device=data.device, dtype=torch.int64)
    if ids.ndim != 1 or ids.shape[0] != data.shape[0]:
        raise ValueError(
            "`segment_ids` must be 1-D with one id per row of `data`. "
            f"Received: data.shape={tuple(data.shape)}, segment_ids.shape={tuple(ids.shape)}"
        )
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    num_segments = int(num_segments)
    # Rows with an id outside [0, num_segments) are dropped, as Keras does: they go to one extra
    # segment that is cut off (no data-dependent shapes, so symbolic shapes infer too).
    ids = torch.where((ids >= 0) & (ids < num_segments), ids, num_segments)
    if reduce == "sum":
        fill = 0
    elif reduce == "prod":
        fill = 1
    elif data.is_floating_point():
        fill = float("-inf") if reduce == "amax" else float("inf")
    elif data.dtype == torch.bool:
        fill = reduce == "amin"
    else:
        info = torch.iinfo(data.dtype)
        fill = info.min if reduce == "amax" else info.max
    out = torch.full((num_segments + 1, *data.shape[1:]), fill, dtype=data.dtype, device=data.device)
    if reduce == "sum":
        out = out.index_add(0, ids, data)
    else:
        out = out.index_reduce(0, ids, data, reduce, include_self=True)
    return out[:num_segments]


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sum of the rows of ``data`` that share a segment id.

    Args:
        data: ``(N, ...)`` tensor.
        segment_ids: ``(N,)`` integer ids; rows with ids outside ``[0, num_segments)`` are dropped.
        num_segments: Number of segments (default ``max(segment_ids) + 1``).
        sorted: Whether the ids are sorted (a hint; the result is the same).

    Returns:
        ``(num_segments, ...)`` tensor; empty segments are 0.
    """
    return _segment_reduce(data, segment_ids, num_segments, "sum")


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maximum of the rows of ``data`` sharing a segment id (empty segments: the dtype's lowest
    value, ``-inf`` for floats)."""
    return _segment_reduce(data, segment_ids, num_segments, "amax")


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minimum of the rows of ``data`` sharing a segment id (empty segments: the dtype's highest
    value, ``inf`` for floats)."""
    return _segment_reduce(data, segment_ids, num_segments, "amin")


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Product of the rows of ``data`` sharing a segment id (empty segments: 1)."""
    return _segment_reduce(data, segment_ids, num_segments, "prod")


def view_as_complex(x):
    """A complex tensor from a real one whose last axis (size 2) holds the real and imaginary parts."""
    x = to_float(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"Last dimension of input must be size 2 (real, imag). Received shape: {tuple(x.shape)}")
    return torch.complex(x[..., 0], x[..., 1])


def view_as_real(x):
    """A real tensor with a new last axis of size 2 holding the real and imaginary parts of ``x``."""
    x = tensor(x)
    if not x.is_complex():
        raise ValueError(f"Input must be a complex tensor. Received dtype: {x.dtype}")
    return torch.stack((x.real, x.imag), dim=-1)


__all__ = sorted(set(public_names(globals(), __name__)) | set(_fourier.__all__))
