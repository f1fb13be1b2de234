"""Intersection-over-union metrics for segmentation: ``IoU``, ``MeanIoU``, ``BinaryIoU``, one-hot forms.

All of them accumulate a ``(num_classes, num_classes)`` confusion matrix (rows: true class,
columns: predicted class) and compute, per class, ``tp / (tp + fp + fn)``.
"""

import warnings

import torch

from lamina.backend import config
from lamina.metrics._utils import to_tensor
from lamina.metrics.metric import Metric
from lamina.saving.object_registration import register_builtin


class _IoUBase(Metric):
    """Accumulates the confusion matrix ``total_confusion_matrix`` from class ids or scores."""

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1
    ):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"Argument `num_classes` must be a positive integer. Received: num_classes={num_classes!r}"
            )
        super().__init__(name=name, dtype=dtype or "int32")
        self._direction = "up"
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(
            shape=(num_classes, num_classes), initializer="zeros", dtype=self.dtype, name="total_confusion_matrix"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's (weighted) class pairs to the confusion matrix.

        Args:
            y_true: Class ids (or one-hot labels when ``sparse_y_true=False``), any shape.
            y_pred: Class ids (or scores when ``sparse_y_pred=False``), matching ``y_true``.
            sample_weight: Optional weights, one per entry of the flattened class ids.

        Entries whose true or predicted id is outside ``[0, num_classes)`` or whose true id is
        ``ignore_class`` are left out.
        """
        y_pred = to_tensor(y_pred)
        y_true = to_tensor(y_true, device=y_pred.device)
        if not self.sparse_y_true:
            y_true = torch.argmax(y_true, dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = torch.argmax(y_pred, dim=self.axis)
        y_true = y_true.to(self.total_cm.dtype).reshape(-1)
        y_pred = y_pred.to(self.total_cm.dtype).reshape(-1)
        if sample_weight is None:
            weights = torch.ones_like(y_true)
        else:
            sample_weight = to_tensor(sample_weight, device=y_true.device)
            if sample_weight.is_floating_point() and not self.total_cm.is_floating_point():
                warnings.warn(
                    "You are passing weight as `float`, but dtype is `int`. This may result in an incorrect "
                    "weight due to type casting. Consider using integer weights.",
                    stacklevel=2,
                )
            weights = torch.broadcast_to(sample_weight.to(y_true.dtype).reshape(-1), y_true.shape)
        in_bounds = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            in_bounds = in_bounds & (y_true != self.ignore_class)
        zero = torch.zeros_like(y_true)
        cell = torch.where(in_bounds, y_true, zero).to(torch.int64) * self.num_classes
        cell = cell + torch.where(in_bounds, y_pred, zero).to(torch.int64)
        weights = torch.where(in_bounds, weights, torch.zeros_like(weights))
        counts = weights.new_zeros(self.num_classes * self.num_classes).index_add_(0, cell, weights)
        self._assign_add(self.total_cm, counts.reshape(self.num_classes, self.num_classes))


@register_builtin("keras.metrics")
class IoU(_IoUBase):
    """Intersection-over-union averaged over chosen classes.

    For each class, ``IoU = tp / (tp + fp + fn)``; the result is the mean over
    ``target_class_ids`` of the classes that appeared in labels or predictions.

    Args:
        num_classes: Number of classes (the confusion matrix is ``num_classes x num_classes``).
        target_class_ids: The class ids to average over.
        name: Name of the metric instance.
        dtype: Dtype of the confusion matrix (default ``"int32"``).
        ignore_class: A true class id left out (e.g. a "void" label).
        sparse_y_true: ``y_true`` holds class ids; ``False`` means one-hot along ``axis``.
        sparse_y_pred: ``y_pred`` holds class ids; ``False`` means scores along ``axis``.
        axis: The class axis for non-sparse inputs.

    Example:

    >>> m = lamina.metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> m.result()
    tensor(0.3333)
    """

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ValueError(
                f"Argument `target_class_ids` must hold class ids in the range [0, {num_classes}). "
                f"Received: target_class_ids={target_class_ids}"
            )
        self.target_class_ids = target_class_ids

    def _target_ids(self, device):
        # Made once per device: a host-to-device copy per call would stall a training loop.
        cache = self.__dict__.setdefault("_target_id_tensors", {})
        if str(device) not in cache:
            cache[str(device)] = torch.as_tensor(self.target_class_ids, dtype=torch.int64, device=device)
        return cache[str(device)]

    def result(self):
        cm = self.total_cm.detach()
        dtype = cm.dtype
        true_positives = torch.diagonal(cm).to(dtype)
        denominator = (torch.sum(cm, dim=0) + torch.sum(cm, dim=1)).to(dtype) - true_positives
        ids = self._target_ids(cm.device)
        true_positives = true_positives[ids].to(torch.float32)
        denominator = denominator[ids].to(torch.float32)
        valid = denominator > 1e-9
        eps = config.epsilon()
        iou = torch.where(valid, true_positives / (denominator + eps), torch.zeros_like(denominator))
        return torch.sum(iou) / (valid.to(torch.float32).sum() + eps)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


@register_builtin("keras.metrics")
class BinaryIoU(IoU):
    """IoU for binary labels, with scores turned into classes by a threshold.

    A score ``>= threshold`` predicts class 1. ``target_class_ids=[1]`` gives the IoU of the
    positive class, ``[0, 1]`` (default) the mean of both.

    Args:
        target_class_ids: The classes (among 0 and 1) to average over.
        threshold: Scores at or above it predict class 1.
        name: Name of the metric instance.
        dtype: Dtype of the confusion matrix (default ``"int32"``).

    Example:

    >>> m = lamina.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    >>> m.result()
    tensor(0.3333)
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred, "float32")
        super().update_state(y_true, (y_pred >= self.threshold).to(self.total_cm.dtype), sample_weight)

    def get_config(self):
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


@register_builtin("keras.metrics")
class MeanIoU(IoU):
    """Intersection-over-union averaged over all classes that appeared.

    Args:
        num_classes: Number of classes.
        name: Name of the metric instance.
        dtype: Dtype of the confusion matrix (default ``"int32"``).
        ignore_class: A true class id left out (e.g. a "void" label).
        sparse_y_true: ``y_true`` holds class ids; ``False`` means one-hot along ``axis``.
        sparse_y_pred: ``y_pred`` holds class ids; ``False`` means scores along ``axis``.
        axis: The class axis for non-sparse inputs.

    Example:

    >>> m = lamina.metrics.MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> m.result()
    tensor(0.3333)
    """

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1
    ):
        super().__init__(
            num_classes,
            list(range(num_classes)) if isinstance(num_classes, int) else [],
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


@register_builtin("keras.metrics")
class OneHotIoU(IoU):
    """``IoU`` for one-hot labels and per-class scores (the arg-max picks the class).

    Args:
        num_classes: Number of classes.
        target_class_ids: The class ids to average over.
        name: Name of the metric instance.
        dtype: Dtype of the confusion matrix (default ``"int32"``).
        ignore_class: A true class id left out.
        sparse_y_pred: ``y_pred`` already holds class ids.
        axis: The class axis.

    Example:

    >>> m = lamina.metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
    >>> m.update_state([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]],
    ...                [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    >>> m.result()
    tensor(0.1667)
    """

    def __init__(
        self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1
    ):
        super().__init__(
            num_classes,
            target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


@register_builtin("keras.metrics")
class OneHotMeanIoU(MeanIoU):
    """``MeanIoU`` for one-hot labels and per-class scores (the arg-max picks the class).

    Args:
        num_classes: Number of classes.
        name: Name of the metric instance.
        dtype: Dtype of the confusion matrix (default ``"int32"``).
        ignore_class: A true class id left out.
        sparse_y_pred: ``y_pred`` already holds class ids.
        axis: The class axis.

    Example:

    >>> m = lamina.metrics.OneHotMeanIoU(num_classes=3)
    >>> m.update_state([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]],
    ...                [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    >>> m.result()
    tensor(0.1111)
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }
