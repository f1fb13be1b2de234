"""Regression metrics: mean errors, cosine similarity, log-cosh and the R2 score."""

import torch

from lamina import ops
from lamina.losses import (
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.metrics._utils import to_tensor
from lamina.metrics.metric import Metric
from lamina.metrics.reduction_metrics import Mean, _FunctionMetric
from lamina.saving.object_registration import register_builtin


def _cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine of the angle between ``y_true`` and ``y_pred`` along ``axis`` (1 means aligned)."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device)
    y_true = y_true.to(y_pred.dtype) if y_pred.is_floating_point() else y_true
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return torch.sum(ops.normalize(y_true, axis=axis) * ops.normalize(y_pred, axis=axis), dim=axis)


class _ErrorMetric(_FunctionMetric):
    _goal = "down"


_ERROR_DOC = """The mean of {what} over all samples seen.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.{cls}()
    >>> m.update_state([[1.0, 2.0], [3.0, 4.0]], [[1.5, 2.0], [3.0, 3.0]])
    >>> m.result()
    {value}
    """


@register_builtin("keras.metrics")
class MeanSquaredError(_ErrorMetric):
    __doc__ = _ERROR_DOC.format(what="``(y_true - y_pred) ** 2``", cls="MeanSquaredError", value="tensor(0.3125)")

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype)


@register_builtin("keras.metrics")
class MeanAbsoluteError(_ErrorMetric):
    __doc__ = _ERROR_DOC.format(what="``|y_true - y_pred|``", cls="MeanAbsoluteError", value="tensor(0.3750)")

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype)


@register_builtin("keras.metrics")
class MeanAbsolutePercentageError(_ErrorMetric):
    __doc__ = _ERROR_DOC.format(
        what="``100 * |y_true - y_pred| / max(|y_true|, epsilon)``",
        cls="MeanAbsolutePercentageError",
        value="tensor(18.7500)",
    )

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, dtype)


@register_builtin("keras.metrics")
class MeanSquaredLogarithmicError(_ErrorMetric):
    __doc__ = _ERROR_DOC.format(
        what="``(log(y_pred + 1) - log(y_true + 1)) ** 2``", cls="MeanSquaredLogarithmicError", value="tensor(0.0249)"
    )

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, dtype)


@register_builtin("keras.metrics")
class LogCoshError(_ErrorMetric):
    __doc__ = _ERROR_DOC.format(what="``log(cosh(y_pred - y_true))``", cls="LogCoshError", value="tensor(0.1385)")

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name, dtype)


@register_builtin("keras.metrics")
class CosineSimilarity(_FunctionMetric):
    """The mean cosine similarity between labels and predictions along ``axis``.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        axis: The axis along which the vectors lie.

    Example:

    >>> m = lamina.metrics.CosineSimilarity()
    >>> m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
    >>> m.result()
    tensor(0.5000)
    """

    _goal = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_cosine_similarity, name, dtype, axis=axis)


@register_builtin("keras.metrics")
class RootMeanSquaredError(Mean):
    """The square root of the mean of ``(y_true - y_pred) ** 2`` over all entries seen.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.RootMeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> m.result()
    tensor(0.5000)
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype, device=y_true.device)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(torch.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return torch.sqrt(super().result())


@register_builtin("keras.metrics")
class R2Score(Metric):
    """The coefficient of determination, ``1 - SS_res / SS_tot``, per output and aggregated.

    Sums are accumulated per output column, so the score is exact over all batches seen (not a
    mean of per-batch scores). Inputs are 2D: ``(batch_size, num_outputs)``.

    Args:
        class_aggregation: How per-output scores are combined: ``"uniform_average"`` (default),
            ``"variance_weighted_average"`` (weighted by each output's variance), or ``None``
            (return the vector of scores).
        num_regressors: Number of independent variables, for the adjusted R2 score
            ``1 - (1 - R2) * (n - 1) / (n - num_regressors - 1)``. 0 (default) gives the plain
            score; when ``num_regressors >= n - 1`` the plain score is returned.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.R2Score()
    >>> m.update_state([[1], [4], [3]], [[2], [4], [4]])
    >>> m.result()
    tensor(0.5714)
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        allowed = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in allowed:
            raise ValueError(
                f"Invalid value for argument `class_aggregation`. Expected one of {allowed}. "
                f"Received: class_aggregation={class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors!r}"
            )
        self._direction = "up"
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}."
            )
        size = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(shape=size, initializer="zeros", name="squared_sum")
        self.sum = self.add_variable(shape=size, initializer="zeros", name="sum")
        self.total_mse = self.add_variable(shape=size, initializer="zeros", name="residual")
        self.count = self.add_variable(shape=size, initializer="zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's sums.

        Args:
            y_true: Targets, shape ``(batch_size, num_outputs)``.
            y_pred: Predictions, same shape.
            sample_weight: Optional per-sample ``(batch_size,)`` or per-entry weights.
        """
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype, device=y_true.device)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if sample_weight is None:
            sample_weight = torch.ones((), dtype=y_true.dtype, device=y_true.device)
        else:
            sample_weight = to_tensor(sample_weight, self.dtype, device=y_true.device)
            if sample_weight.ndim == 1:
                sample_weight = sample_weight.unsqueeze(1)
        sample_weight = torch.broadcast_to(sample_weight, y_true.shape)
        weighted = y_true * sample_weight
        self._assign_add(self.sum, torch.sum(weighted, dim=0))
        self._assign_add(self.squared_sum, torch.sum(y_true * weighted, dim=0))
        self._assign_add(self.total_mse, torch.sum(torch.square(y_true - y_pred) * sample_weight, dim=0))
        self._assign_add(self.count, torch.sum(sample_weight, dim=0))
        self._assign_add(self.num_samples, y_true.numel())

    def result(self):
        if not self._built:
            return torch.zeros((), dtype=self.num_samples.dtype, device=self.num_samples.device)
        total_sum, count = self.sum.detach(), self.count.detach()
        total = self.squared_sum.detach() - total_sum * (total_sum / count)
        raw = 1.0 - self.total_mse.detach() / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = torch.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = torch.sum(total * raw) / torch.sum(total)
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        # Adjusted score only where it is defined (more samples than regressors + 1); chosen on
        # the device so no value is read back to the host.
        n = self.num_samples.detach()
        p = float(self.num_regressors)
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return torch.where(p < n - 1.0, adjusted, score)

    def get_config(self):
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
