"""Correlation metrics: Pearson and concordance correlation along an axis, averaged over samples."""

import torch

from lamina.backend import config
from lamina.losses._symbolic import records_function_node
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.metrics._utils import to_tensor
from lamina.metrics.reduction_metrics import _FunctionMetric
from lamina.saving.object_registration import register_builtin


def _pair(y_true, y_pred):
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, device=y_pred.device).to(y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation coefficient between ``y_true`` and ``y_pred`` along ``axis``."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_centered = y_true - torch.mean(y_true, dim=axis, keepdim=True)
    pred_centered = y_pred - torch.mean(y_pred, dim=axis, keepdim=True)
    true_centered = true_centered / torch.std(true_centered, dim=axis, keepdim=True, correction=0)
    pred_centered = pred_centered / torch.std(pred_centered, dim=axis, keepdim=True, correction=0)
    return torch.mean(true_centered * pred_centered, dim=axis)


@register_builtin("keras.metrics")
@records_function_node("keras.metrics")
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation coefficient between ``y_true`` and ``y_pred`` along ``axis``.

    Like Pearson's coefficient, but also penalizes differences in mean and scale.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    true_mean = torch.mean(y_true, dim=axis, keepdim=True)
    pred_mean = torch.mean(y_pred, dim=axis, keepdim=True)
    true_var = torch.var(y_true - true_mean, dim=axis, keepdim=True, correction=0)
    pred_var = torch.var(y_pred - pred_mean, dim=axis, keepdim=True, correction=0)
    # Keras centres both factors on the prediction mean; kept for identical numbers.
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + torch.square(true_mean - pred_mean)
    return torch.mean(2.0 * covariance / (norm + config.epsilon()), dim=axis)


class _CorrelationBase(_FunctionMetric):
    _goal = "up"
    _extra_config = ("axis",)


@register_builtin("keras.metrics")
class PearsonCorrelation(_CorrelationBase):
    """The Pearson correlation along ``axis``, averaged over the other axes and all batches.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        axis: The axis along which the correlation is computed.

    Example:

    >>> m = lamina.metrics.PearsonCorrelation()
    >>> m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    >>> m.result()
    tensor(0.9967)
    """

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name, dtype, axis=axis)
        self.axis = axis


@register_builtin("keras.metrics")
class ConcordanceCorrelation(_CorrelationBase):
    """The concordance correlation along ``axis``, averaged over the other axes and all batches.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        axis: The axis along which the correlation is computed.

    Example:

    >>> m = lamina.metrics.ConcordanceCorrelation()
    >>> m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    >>> m.result()
    tensor(0.9816)
    """

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name, dtype, axis=axis)
        self.axis = axis
