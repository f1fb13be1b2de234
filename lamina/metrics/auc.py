"""``AUC``: area under the ROC or precision-recall curve, from counts at fixed thresholds."""

import numpy as np
import torch

from lamina.backend import config
from lamina.metrics import _confusion
from lamina.metrics._confusion import FN, FP, TN, TP
from lamina.metrics._utils import divide_no_nan, to_tensor
from lamina.metrics.metric import Metric
from lamina.saving.object_registration import register_builtin

_CURVES = {"ROC": "ROC", "roc": "ROC", "PR": "PR", "pr": "PR", "PRGAIN": "PRGAIN", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


def _curve_name(curve):
    if curve not in _CURVES:
        raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
    return _CURVES[curve]


def _summation_name(method):
    if method not in _SUMMATIONS + tuple(m.capitalize() for m in _SUMMATIONS):
        raise ValueError(
            f'Invalid AUC summation method value: "{method}". '
            'Expected values are ["interpolation", "majoring", "minoring"]'
        )
    return method.lower()


@register_builtin("keras.metrics")
class AUC(Metric):
    """Approximate area under the ROC or precision-recall (PR) curve.

    True/false positive/negative counts are accumulated at ``num_thresholds`` thresholds
    (``-epsilon``, evenly spaced values in ``(0, 1)``, ``1 + epsilon``); the curve through the
    points they give is then integrated with a Riemann sum. For the PR curve with
    ``summation_method="interpolation"`` precision is interpolated between points as the counts
    change linearly (the Davis & Goadrich method), which avoids the optimistic bias of straight
    lines in PR space.

    Args:
        num_thresholds: Number of thresholds (an integer > 1); more gives a finer approximation.
        curve: ``"ROC"`` (default), ``"PR"``, or ``"PRGAIN"`` (precision-recall gain).
        summation_method: ``"interpolation"`` (default: trapezoids, or the PR interpolation
            above), ``"minoring"`` (left/lower rectangles) or ``"majoring"`` (upper rectangles).
        name: Name of the metric instance.
        dtype: Dtype of the result.
        thresholds: Explicit thresholds in ``[0, 1]`` (overrides ``num_thresholds``, which becomes
            ``len(thresholds) + 2``).
        multi_label: Treat each column of 2D ``y_pred`` as its own label: compute one AUC per
            label and average them (weighted by ``label_weights`` if given). Otherwise all entries
            are pooled into one curve.
        num_labels: Number of labels with ``multi_label=True``; if omitted the state is created
            on the first ``update_state``.
        label_weights: Per-label weights: in multi-label mode the weights of the average, otherwise
            weights of each column's entries in the pooled counts.
        from_logits: ``y_pred`` holds logits (a sigmoid is applied first).

    Example:

    >>> m = lamina.metrics.AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> m.result()
    tensor(0.7500)
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        curve = _curve_name(curve)
        summation_method = _summation_name(summation_method)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_confusion.parse_init_thresholds(thresholds))
            num_thresholds = len(inner) + 2
            evenly = _confusion.is_evenly_distributed([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
                )
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        if not multi_label and num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.num_thresholds = num_thresholds
        self._thresholds_distributed_evenly = evenly
        # Outer thresholds just outside [0, 1] so scores of exactly 0 or 1 fall on one side.
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps])
        self._threshold_list = [float(t) for t in self._thresholds]
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else to_tensor(label_weights, self.dtype)
        self._from_logits = from_logits
        self._built = False
        if not multi_label:
            self._build(None)
        elif num_labels:
            self._build((None, num_labels))

    @property
    def thresholds(self):
        """The thresholds, including the outer ``-epsilon`` and ``1 + epsilon``."""
        return list(self._threshold_list)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                    f"Full shape received for `y_pred`: {tuple(shape)}"
                )
            self._num_labels = shape[1]
            size = (self.num_thresholds, self._num_labels)
        else:
            size = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape=size, initializer="zeros", name=TP)
        self.false_positives = self.add_variable(shape=size, initializer="zeros", name=FP)
        self.true_negatives = self.add_variable(shape=size, initializer="zeros", name=TN)
        self.false_negatives = self.add_variable(shape=size, initializer="zeros", name=FN)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts at every threshold.

        Args:
            y_true: Labels; non-zero means positive.
            y_pred: Scores in ``[0, 1]`` (or logits with ``from_logits=True``).
            sample_weight: Optional weights broadcastable to ``y_pred``.
        """
        y_pred = to_tensor(y_pred)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        _confusion.update_confusion_matrix(
            self,
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives, FN: self.false_negatives},
            y_true,
            y_pred,
            self._threshold_list,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            evenly_distributed=self._thresholds_distributed_evenly,
        )

    def _counts(self):
        variables = (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives)
        return (v.detach() for v in variables)

    def _interpolate_pr_auc(self):
        # Between two thresholds tp and tp + fp change linearly; integrating precision along that
        # path gives a closed form with a log term (Davis & Goadrich, 2006).
        tp, fp, _, fn = self._counts()
        p = tp + fp
        dtp = tp[:-1] - tp[1:]
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, torch.clamp(dp, min=0.0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(both_positive, divide_no_nan(p[:-1], torch.clamp(p[1:], min=0.0)), torch.ones_like(p[1:]))
        increments = divide_no_nan(slope * (dtp + intercept * torch.log(ratio)), torch.clamp(tp[1:] + fn[1:], min=0.0))
        return self._aggregate(increments)

    def _aggregate(self, terms):
        if not self.multi_label:
            return torch.sum(terms)
        by_label = torch.sum(terms, dim=0)
        if self.label_weights is None:
            return torch.mean(by_label)
        weights = self.label_weights.to(by_label.device)
        return divide_no_nan(torch.sum(by_label * weights), torch.sum(weights))

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = self._counts()
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            no_tp = tp == 0
            recall_gain = torch.where(no_tp, torch.zeros_like(tp), 1.0 - scale * divide_no_nan(fn, tp))
            precision_gain = torch.where(no_tp, torch.ones_like(tp), 1.0 - scale * divide_no_nan(fp, tp))
            x, y = torch.clamp(recall_gain, min=0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._aggregate((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config

    @classmethod
    def from_config(cls, config):
        weights = config.get("label_weights")
        if isinstance(weights, dict):
            # Keras writes arrays as {"class_name": "__tensor__" or "__numpy__", "config": {"value": ...}}.
            config = {**config, "label_weights": weights["config"]["value"]}
        return cls(**config)
