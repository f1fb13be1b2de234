"""F-scores: ``FBetaScore`` and ``F1Score``, the weighted harmonic mean of precision and recall."""

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics._utils import to_tensor
from lamina.metrics.metric import Metric
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.metrics")
class FBetaScore(Metric):
    """The F-beta score, ``(1 + beta^2) * precision * recall / (beta^2 * precision + recall)``.

    Works on 2D inputs ``(batch_size, num_classes)`` of one-hot (or multi-hot) labels and scores.
    Counts are accumulated per class over all batches.

    Args:
        average: How per-class scores are combined: ``None`` (default: one score per class),
            ``"micro"`` (pool the counts of all classes), ``"macro"`` (unweighted mean) or
            ``"weighted"`` (mean weighted by each class's number of true labels).
        beta: Weight of recall relative to precision; a Python float > 0.
        threshold: Scores above it count as positive predictions (a float in ``(0, 1]``). If
            ``None``, the highest score of each row is the (only) positive prediction.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32),
    ...                np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32))
    >>> m.result()
    tensor([0.3846, 0.9091, 0.8333])
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', 'weighted'}. "
                f"Received: average={average!r}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta!r} of type "
                f"'{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold!r} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        self.average = average
        self.beta = beta
        self.threshold = threshold
        # "micro" pools every class into scalar counts; the others keep one count per class.
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}."
            )
        size = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(shape=size, initializer="zeros", dtype=self.dtype, name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts.

        Args:
            y_true: One-hot (or multi-hot) labels, ``(batch_size, num_classes)``.
            y_pred: Scores, same shape.
            sample_weight: Optional per-sample weights, ``(batch_size,)``.
        """
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype, device=y_true.device)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            row_max = torch.amax(y_pred, dim=-1, keepdim=True)
            y_pred = (y_pred >= row_max) & (torch.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.to(y_true.dtype)
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, self.dtype, device=y_true.device).unsqueeze(1)

        def weighted_sum(values):
            if sample_weight is not None:
                values = values * sample_weight
            return torch.sum(values) if self.axis is None else torch.sum(values, dim=self.axis)

        self._assign_add(self.true_positives, weighted_sum(y_pred * y_true))
        self._assign_add(self.false_positives, weighted_sum(y_pred * (1.0 - y_true)))
        self._assign_add(self.false_negatives, weighted_sum((1.0 - y_pred) * y_true))
        self._assign_add(self.intermediate_weights, weighted_sum(y_true))

    def result(self):
        if not self._built:
            return torch.zeros((), dtype=to_torch_dtype(self.dtype), device=config.get_device())
        eps = config.epsilon()
        tp, fp, fn = (v.detach() for v in (self.true_positives, self.false_positives, self.false_negatives))
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        beta_sq = self.beta**2
        score = (1.0 + beta_sq) * (precision * recall / (beta_sq * precision + recall + eps))
        if self.average == "weighted":
            weights = self.intermediate_weights.detach()
            return torch.sum(score * (weights / (torch.sum(weights) + eps)))
        if self.average is not None:
            return torch.mean(score)
        return score

    def get_config(self):
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


@register_builtin("keras.metrics")
class F1Score(FBetaScore):
    """The F1 score, the harmonic mean of precision and recall (``FBetaScore`` with ``beta=1``).

    Args:
        average: ``None`` (per-class scores), ``"micro"``, ``"macro"`` or ``"weighted"``; see
            ``FBetaScore``.
        threshold: Scores above it count as positive (a float in ``(0, 1]``); ``None`` takes the
            highest score of each row.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.F1Score(threshold=0.5)
    >>> m.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32),
    ...                np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32))
    >>> m.result()
    tensor([0.5000, 0.8000, 0.6667])
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
