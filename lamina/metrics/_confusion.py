"""Confusion-matrix counts at decision thresholds, shared by Precision, Recall, AUC and friends.

For each threshold ``t`` a prediction counts as positive when ``y_pred > t``, and a label as
positive when it is non-zero. Two ways of counting give the same numbers:

- the general one compares every prediction with every threshold (``T x N`` booleans);
- for evenly spaced thresholds ``i / (T - 1)`` each prediction falls in one bucket, the buckets
  are summed with ``index_add_`` and a reversed cumulative sum gives the counts above each threshold
  (``O(N + T)``), which is what AUC's 200 thresholds use.

Both are pure tensor math (no host round trip).
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.metrics._utils import to_tensor

# The score given to entries that `top_k` filters out: below any threshold.
NEG_INF = -1e10

TP, FP, TN, FN = "true_positives", "false_positives", "true_negatives", "false_negatives"


def parse_init_thresholds(thresholds, default_threshold=0.5):
    """Validate ``thresholds`` (a float or list of floats in ``[0, 1]``) and return them as a list."""
    if thresholds is None:
        return [default_threshold]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return [float(t) for t in values]


def is_evenly_distributed(thresholds):
    """Whether ``thresholds`` are ``0, 1/(T-1), ..., 1`` (``T >= 3``), allowing the bucket method."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, dtype=np.float64), even, atol=config.epsilon()))


def update_confusion_matrix(
    metric,
    variables,
    y_true,
    y_pred,
    thresholds,
    top_k=None,
    class_id=None,
    sample_weight=None,
    multi_label=False,
    label_weights=None,
    evenly_distributed=False,
):
    """Add this batch's confusion counts at each threshold to ``variables``.

    Args:
        metric: The metric owning the variables (its ``_assign_add`` moves state to the data).
        variables: Dict from ``TP``/``FP``/``TN``/``FN`` to variables of shape ``(T,)``, or
            ``(T, num_labels)`` with ``multi_label``.
        thresholds: The ``T`` thresholds, a list of floats.
        top_k: Only the ``top_k`` highest scores of each row can count as positive.
        class_id: Only this class (last axis of ``y_pred``) is counted.
        sample_weight: Weights broadcastable to ``y_pred`` (per sample or per entry).
        multi_label: Count each label (column) separately instead of flattening.
        label_weights: Per-label weights (only without ``multi_label``).
        evenly_distributed: Use the bucket method (thresholds are ``i / (T - 1)`` or AUC's
            ``-eps, 1/(T-1), ..., 1 + eps``).
    """
    dtype = next(iter(variables.values())).dtype
    y_pred = to_tensor(y_pred)
    device = y_pred.device
    y_pred = y_pred.to(dtype)
    y_true = to_tensor(y_true, device=device).to(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, device=device).to(dtype).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                f"num_classes), found shape: {tuple(y_pred.shape)}"
            )
        y_true = y_true[..., class_id].unsqueeze(-1)
        y_pred = y_pred[..., class_id].unsqueeze(-1)
    weights = _weights(sample_weight, label_weights, y_pred, multi_label)
    if evenly_distributed:
        # AUC's outer thresholds are -eps and 1 + eps: a score of exactly 0 still lands in bucket 0.
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        counts = _bucket_counts(y_true, y_pred, weights, len(thresholds), multi_label, with_epsilon)
    else:
        thresholds = _thresholds_on(metric, thresholds, dtype, device)
        counts = _threshold_counts(y_true, y_pred, weights, thresholds, multi_label, set(variables))
    for key, variable in variables.items():
        metric._assign_add(variable, counts[key])


def _weights(sample_weight, label_weights, y_pred, multi_label):
    """Per-entry weights shaped like ``y_pred`` (flattened unless ``multi_label``), or ``None``."""
    weights = None
    if sample_weight is not None:
        weights = torch.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        lw = torch.broadcast_to(label_weights.to(device=y_pred.device, dtype=y_pred.dtype), y_pred.shape)
        weights = lw if weights is None else weights * lw
    if weights is not None and not multi_label:
        weights = weights.reshape(-1)
    return weights


def _thresholds_on(metric, thresholds, dtype, device):
    # The threshold tensor is made once per device: copying it every batch would block the host.
    cache = metric.__dict__.setdefault("_threshold_tensors", {})
    key = (str(device), dtype, tuple(thresholds))
    if key not in cache:
        cache[key] = torch.as_tensor(np.asarray(thresholds, dtype=np.float64), dtype=dtype, device=device)
    return cache[key]


def _bucket_counts(y_true, y_pred, weights, num_thresholds, multi_label, with_epsilon):
    positive = (y_true != 0).to(y_pred.dtype)
    y_pred = torch.clamp(y_pred, 0.0, 1.0)
    if not multi_label:
        positive = positive.reshape(-1)
        y_pred = y_pred.reshape(-1)
    true_labels = positive if weights is None else positive * weights
    false_labels = (1.0 - positive) if weights is None else (1.0 - positive) * weights
    # A score p is above thresholds 0 .. ceil(p * (T - 1)) - 1; bucket -1 is above none.
    bucket = torch.ceil(y_pred * (num_thresholds - 1)) - 1
    if with_epsilon:
        bucket = torch.relu(bucket)
    above_any = (bucket >= 0).to(y_pred.dtype)
    index = torch.clamp(bucket, min=0).to(torch.int64)
    shape = (num_thresholds,) + tuple(y_pred.shape[1:])
    tp = _reverse_cumsum(y_pred.new_zeros(shape).scatter_add_(0, index, true_labels * above_any))
    fp = _reverse_cumsum(y_pred.new_zeros(shape).scatter_add_(0, index, false_labels * above_any))
    return {
        TP: tp,
        FP: fp,
        TN: torch.sum(false_labels, dim=0) - fp,
        FN: torch.sum(true_labels, dim=0) - tp,
    }


def _reverse_cumsum(x):
    return torch.flip(torch.cumsum(torch.flip(x, (0,)), dim=0), (0,))


def _threshold_counts(y_true, y_pred, weights, thresholds, multi_label, keys):
    num_thresholds = thresholds.shape[0]
    if multi_label:
        preds = y_pred.unsqueeze(0)
        labels = (y_true != 0).unsqueeze(0)
        thresholds = thresholds.reshape(num_thresholds, 1, 1)
        if weights is not None:
            weights = weights.unsqueeze(0)
    else:
        preds = y_pred.reshape(1, -1)
        labels = (y_true != 0).reshape(1, -1)
        thresholds = thresholds.reshape(num_thresholds, 1)
        if weights is not None:
            weights = weights.reshape(1, -1)
    pred_pos = preds > thresholds

    def count(label, pred):
        hit = label & pred
        if weights is None:
            return hit.to(y_pred.dtype).sum(dim=1)
        return torch.where(hit, weights, torch.zeros_like(weights)).sum(dim=1)

    pairs = {TP: (labels, pred_pos), FP: (~labels, pred_pos), TN: (~labels, ~pred_pos), FN: (labels, ~pred_pos)}
    return {key: count(*pairs[key]) for key in keys}


def _filter_top_k(x, k):
    """Keep the ``k`` largest scores of each row; the others become ``NEG_INF``."""
    _, indices = torch.topk(x, k, dim=-1)
    keep = torch.zeros_like(x).scatter_(-1, indices, 1.0)
    return x * keep + NEG_INF * (1.0 - keep)
