"""Metrics built on confusion-matrix counts at thresholds.

``TruePositives``, ``FalsePositives``, ``TrueNegatives``, ``FalseNegatives``, ``Precision``,
``Recall``, and the "X at fixed Y" family (``SensitivityAtSpecificity``,
``SpecificityAtSensitivity``, ``PrecisionAtRecall``, ``RecallAtPrecision``). ``AUC`` lives in
``auc.py``.
"""

import torch

from lamina.metrics import _confusion
from lamina.metrics._confusion import FN, FP, TN, TP
from lamina.metrics._utils import check_in_range, divide_no_nan
from lamina.metrics.metric import Metric
from lamina.saving.object_registration import register_builtin


def _first_if_single(values, thresholds):
    return values[0] if len(thresholds) == 1 else values


class _ConfusionMatrixConditionCount(Metric):
    """Counts one confusion-matrix cell at each threshold (variable ``accumulator``)."""

    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _confusion.parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = _confusion.is_evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), initializer="zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's weighted count.

        Args:
            y_true: Labels; non-zero means positive.
            y_pred: Scores in ``[0, 1]``; above a threshold means predicted positive.
            sample_weight: Optional weights broadcastable to ``y_pred``.
        """
        _confusion.update_confusion_matrix(
            self,
            {self._condition: self.accumulator},
            y_true,
            y_pred,
            self.thresholds,
            sample_weight=sample_weight,
            evenly_distributed=self._thresholds_distributed_evenly,
        )

    def result(self):
        return _first_if_single(self.accumulator.detach(), self.thresholds).clone()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


_COUNT_DOC = """The (weighted) number of {what}.

    Args:
        thresholds: A float or list of floats in ``[0, 1]``; a score above a threshold counts as a
            positive prediction. With one threshold (default 0.5) the result is a scalar, with
            several it has one entry per threshold.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.{cls}()
    >>> m.update_state([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0])
    >>> m.result()
    {value}
    """


@register_builtin("keras.metrics")
class TruePositives(_ConfusionMatrixConditionCount):
    __doc__ = _COUNT_DOC.format(what="positive labels predicted positive", cls="TruePositives", value="tensor(2.)")
    _condition = TP


@register_builtin("keras.metrics")
class FalsePositives(_ConfusionMatrixConditionCount):
    __doc__ = _COUNT_DOC.format(what="negative labels predicted positive", cls="FalsePositives", value="tensor(1.)")
    _condition = FP


@register_builtin("keras.metrics")
class TrueNegatives(_ConfusionMatrixConditionCount):
    __doc__ = _COUNT_DOC.format(what="negative labels predicted negative", cls="TrueNegatives", value="tensor(0.)")
    _condition = TN


@register_builtin("keras.metrics")
class FalseNegatives(_ConfusionMatrixConditionCount):
    __doc__ = _COUNT_DOC.format(what="positive labels predicted negative", cls="FalseNegatives", value="tensor(1.)")
    _condition = FN


class _PrecisionRecallBase(Metric):
    """Shared by Precision and Recall: true positives and one other count per threshold."""

    _other = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        # With `top_k`, every kept score counts as positive (filtered ones sit at NEG_INF).
        default = 0.5 if top_k is None else _confusion.NEG_INF
        self.thresholds = _confusion.parse_init_thresholds(thresholds, default_threshold=default)
        self._thresholds_distributed_evenly = _confusion.is_evenly_distributed(self.thresholds)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape=size, initializer="zeros", name=TP)
        setattr(self, self._other, self.add_variable(shape=size, initializer="zeros", name=self._other))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts.

        Args:
            y_true: Labels; non-zero means positive.
            y_pred: Scores in ``[0, 1]``.
            sample_weight: Optional weights broadcastable to ``y_pred``.
        """
        _confusion.update_confusion_matrix(
            self,
            {TP: self.true_positives, self._other: getattr(self, self._other)},
            y_true,
            y_pred,
            self.thresholds,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
            evenly_distributed=self._thresholds_distributed_evenly,
        )

    def result(self):
        tp = self.true_positives.detach()
        value = divide_no_nan(tp, tp + getattr(self, self._other).detach())
        return _first_if_single(value, self.thresholds)

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


@register_builtin("keras.metrics")
class Precision(_PrecisionRecallBase):
    """The fraction of positive predictions that are right: ``tp / (tp + fp)``.

    Args:
        thresholds: A float or list of floats in ``[0, 1]``; a score above a threshold is a
            positive prediction. Default 0.5, or, with ``top_k``, every score in the top k.
        top_k: Only the ``top_k`` highest scores of each row can be positive predictions.
        class_id: Only count this class (an index into the last axis).
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> m.result()
    tensor(0.6667)
    """

    _other = FP


@register_builtin("keras.metrics")
class Recall(_PrecisionRecallBase):
    """The fraction of positive labels that are predicted positive: ``tp / (tp + fn)``.

    Args:
        thresholds: A float or list of floats in ``[0, 1]``; a score above a threshold is a
            positive prediction. Default 0.5, or, with ``top_k``, every score in the top k.
        top_k: Only the ``top_k`` highest scores of each row can be positive predictions.
        class_id: Only count this class (an index into the last axis).
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Recall()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> m.result()
    tensor(0.6667)
    """

    _other = FN


class _SensitivitySpecificityBase(Metric):
    """Best value of one rate among the thresholds where another rate reaches ``value``.

    Holds all four counts at ``num_thresholds`` evenly spaced thresholds in ``[0, 1]``.
    """

    _value_arg = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        check_in_range(self._value_arg, value)
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(
                f"Argument `num_thresholds` must be an integer > 0. Received: num_thresholds={num_thresholds}"
            )
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.value = value
        setattr(self, self._value_arg, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._thresholds_distributed_evenly = False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
            self._thresholds_distributed_evenly = True
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape=size, initializer="zeros", name=TP)
        self.false_positives = self.add_variable(shape=size, initializer="zeros", name=FP)
        self.true_negatives = self.add_variable(shape=size, initializer="zeros", name=TN)
        self.false_negatives = self.add_variable(shape=size, initializer="zeros", name=FN)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts at every threshold.

        Args:
            y_true: Labels; non-zero means positive.
            y_pred: Scores in ``[0, 1]``.
            sample_weight: Optional weights broadcastable to ``y_pred``.
        """
        _confusion.update_confusion_matrix(
            self,
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives, FN: self.false_negatives},
            y_true,
            y_pred,
            self.thresholds,
            class_id=self.class_id,
            sample_weight=sample_weight,
            evenly_distributed=self._thresholds_distributed_evenly,
        )

    def _rates(self):
        tp, fp = self.true_positives.detach(), self.false_positives.detach()
        tn, fn = self.true_negatives.detach(), self.false_negatives.detach()
        return {
            "sensitivity": divide_no_nan(tp, tp + fn),
            "specificity": divide_no_nan(tn, tn + fp),
            "precision": divide_no_nan(tp, tp + fp),
        }

    def _best(self, constrained, dependent):
        # Max of `dependent` where `constrained >= value`; 0 when no threshold qualifies.
        feasible = constrained >= self.value
        return torch.clamp(torch.amax(torch.where(feasible, dependent, torch.zeros_like(dependent))), min=0.0)

    def get_config(self):
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._value_arg: self.value,
        }


_AT_DOC = """The best {dependent} among thresholds where {constraint} is at least ``{arg}``.

    The four confusion counts are accumulated at ``num_thresholds`` evenly spaced thresholds in
    ``[0, 1]``; the result is the largest {dependent} over the thresholds meeting the constraint
    (0 if none does).

    Args:
        {arg}: The required {constraint}, in ``[0, 1]``.
        num_thresholds: Number of thresholds (an integer > 0; 1 means the single threshold 0.5).
        class_id: Only count this class (an index into the last axis).
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.{cls}({arg}=0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> m.result()
    {value}
    """


@register_builtin("keras.metrics")
class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(
        dependent="sensitivity (recall)",
        constraint="specificity",
        arg="specificity",
        cls="SensitivityAtSpecificity",
        value="tensor(0.5000)",
    )
    _value_arg = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["specificity"], rates["sensitivity"])


@register_builtin("keras.metrics")
class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(
        dependent="specificity",
        constraint="sensitivity (recall)",
        arg="sensitivity",
        cls="SpecificityAtSensitivity",
        value="tensor(0.6667)",
    )
    _value_arg = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["sensitivity"], rates["specificity"])


@register_builtin("keras.metrics")
class PrecisionAtRecall(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(
        dependent="precision", constraint="recall", arg="recall", cls="PrecisionAtRecall", value="tensor(0.5000)"
    )
    _value_arg = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["sensitivity"], rates["precision"])


@register_builtin("keras.metrics")
class RecallAtPrecision(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(
        dependent="recall", constraint="precision", arg="precision", cls="RecallAtPrecision", value="tensor(1.)"
    )
    _value_arg = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["precision"], rates["sensitivity"])
