"""Accuracy metrics: how often predictions match labels, in their binary, categorical and top-k forms."""

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses._symbolic import records_function_node
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.metrics._utils import to_tensor
from lamina.metrics.reduction_metrics import _FunctionMetric
from lamina.saving.object_registration import register_builtin


def _floatx():
    return to_torch_dtype(config.floatx())


def _in_top_k(targets, predictions, k):
    """Whether each target id is among the ``k`` largest scores of its row (ties count as in).

    Ids outside ``[0, num_classes)`` and NaN scores never count as in the top k.
    """
    num_classes = predictions.shape[-1]
    targets = targets.to(torch.int64)
    valid = (targets >= 0) & (targets < num_classes)
    safe = torch.where(valid, targets, torch.zeros_like(targets)).unsqueeze(-1)
    at_label = torch.take_along_dim(predictions, safe, dim=-1)
    neg_inf = torch.full_like(at_label, float("-inf"))
    at_label = torch.where(valid.unsqueeze(-1) & ~torch.isnan(at_label), at_label, neg_inf)
    rank = 1 + torch.sum(predictions > at_label, dim=-1)
    return valid & (rank <= k)


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` (element-wise), else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return (y_true == y_pred).to(_floatx())


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_pred > threshold`` agrees with the 0/1 label ``y_true``, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > threshold).to(y_true.dtype)
    return (y_true == y_pred).to(_floatx())


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of ``y_pred`` is the arg-max of the one-hot ``y_true``, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = _label_argmax(y_true, y_pred.device)
    return _sparse_matches(y_true, y_pred, squeeze_any=True)


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of ``y_pred`` equals the integer label ``y_true``, else 0.0."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    matches = _sparse_matches(y_true, y_pred, squeeze_any=False)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _label_argmax(y_true, device):
    # One-hot labels may be boolean arrays (Keras 2 scripts build them with `dtype=bool`), which
    # torch's argmax refuses; the position of the largest value is the same as 0/1 integers.
    y_true = to_tensor(y_true, device=device)
    if y_true.dtype == torch.bool:
        y_true = y_true.to(torch.uint8)
    return torch.argmax(y_true, dim=-1)


def _sparse_matches(y_true, y_pred, squeeze_any):
    # Labels compared in the prediction dtype, as Keras does; a trailing size-1 label axis is
    # dropped for the comparison and restored in the result.
    y_true = y_true.to(y_pred.dtype) if y_pred.is_floating_point() else y_true
    original_shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and (squeeze_any or y_true.shape[-1] == 1):
        y_true = y_true.squeeze(-1)
        reshape = True
    predicted = torch.argmax(y_pred, dim=-1).to(y_true.dtype)
    matches = (y_true == predicted).to(_floatx())
    return matches.reshape(original_shape) if reshape else matches


def _top_k_matches(y_true, y_pred, k, from_sorted_ids=False):
    original_shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    reshape = y_true.ndim > 1
    if reshape:
        y_true = y_true.reshape(-1)
    if from_sorted_ids:
        matches = torch.any(y_true.unsqueeze(1) == y_pred[:, :k], dim=1)
    else:
        matches = _in_top_k(y_true, y_pred, k)
    matches = matches.to(_floatx())
    return matches.reshape(original_shape) if reshape else matches


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label's class is among the ``k`` highest scores of ``y_pred``."""
    y_pred = to_tensor(y_pred)
    y_true = _label_argmax(y_true, y_pred.device)
    return _top_k_matches(y_true, y_pred, k)


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest scores of ``y_pred``.

    With ``from_sorted_ids=True``, ``y_pred`` already holds class ids sorted by score and the first
    ``k`` columns are compared with the label.
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    y_true = y_true.to(y_pred.dtype if from_sorted_ids else torch.int32)
    return _top_k_matches(y_true, y_pred, k, from_sorted_ids)


class _AccuracyBase(_FunctionMetric):
    _goal = "up"


@register_builtin("keras.metrics")
class Accuracy(_AccuracyBase):
    """How often predictions equal labels.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Accuracy()
    >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    >>> m.result()
    tensor(0.7500)
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


@register_builtin("keras.metrics")
class BinaryAccuracy(_AccuracyBase):
    """How often ``y_pred > threshold`` matches the 0/1 labels.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        threshold: Scores above it count as predicting 1.

    Example:

    >>> m = lamina.metrics.BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    >>> m.result()
    tensor(0.7500)
    """

    _extra_config = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)
        self.threshold = threshold


@register_builtin("keras.metrics")
class CategoricalAccuracy(_AccuracyBase):
    """How often the highest score is the class of the one-hot label.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.CategoricalAccuracy()
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    tensor(0.5000)
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


@register_builtin("keras.metrics")
class SparseCategoricalAccuracy(_AccuracyBase):
    """How often the highest score is the integer label's class.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    >>> m.result()
    tensor(0.5000)
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


@register_builtin("keras.metrics")
class TopKCategoricalAccuracy(_AccuracyBase):
    """How often the one-hot label's class is among the ``k`` highest scores.

    Args:
        k: How many top scores count as a hit.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.TopKCategoricalAccuracy(k=1)
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    tensor(0.5000)
    """

    _extra_config = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)
        self.k = k


@register_builtin("keras.metrics")
class SparseTopKCategoricalAccuracy(_AccuracyBase):
    """How often the integer label is among the ``k`` highest scores.

    Args:
        k: How many top scores count as a hit.
        name: Name of the metric instance.
        dtype: Dtype of the result.
        from_sorted_ids: ``y_pred`` holds class ids sorted by decreasing score instead of scores.

    Example:

    >>> m = lamina.metrics.SparseTopKCategoricalAccuracy(k=1)
    >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    tensor(0.5000)
    """

    _extra_config = ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k, from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = super().get_config()
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
