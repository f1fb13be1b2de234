"""Metric-learning losses on embeddings: the Circle loss."""

import numbers

import torch

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import Loss, LossFunctionWrapper, set_mask
from lamina.saving.object_registration import register_builtin
from lamina.losses._symbolic import records_function_node

_MODULE = "keras.losses"


def _column(labels):
    return labels.reshape(-1, 1) if labels.ndim == 1 else labels


@register_builtin(_MODULE)
@records_function_node()
def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss: pulls embeddings of the same class together and pushes others apart.

    Similarities are ``1 - cosine distance`` between ``y_pred`` and the reference embeddings; each
    pair is weighted by how far it is from its optimum, so pairs that are already good count less.

    Args:
        y_true: Integer class labels of the query embeddings, shape ``(batch_size,)``.
        y_pred: Query embeddings, L2-normalized, shape ``(batch_size, embedding_dim)``.
        ref_labels: Labels of the reference embeddings; defaults to ``y_true``.
        ref_embeddings: Reference embeddings, L2-normalized; defaults to ``y_pred``.
        remove_diagonal: Whether a query is not paired with itself (for ``ref = query``).
        gamma: Scale factor. Defaults to 80.
        margin: Relaxation margin. Defaults to 0.4.

    Returns:
        One loss value per query, shape ``(batch_size,)``. The result carries a mask of the
        queries with a positive loss, so averaging skips the others.
    """
    y_pred = convert_to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(backend_config.floatx()))
    y_true = convert_to_tensor(y_true).to(device=y_pred.device, dtype=torch.int32)
    if ref_embeddings is None:
        ref_embeddings = y_pred
    else:
        ref_embeddings = convert_to_tensor(ref_embeddings).to(device=y_pred.device, dtype=y_pred.dtype)
    if ref_labels is None:
        ref_labels = y_true
    else:
        ref_labels = convert_to_tensor(ref_labels).to(device=y_pred.device, dtype=torch.int32)

    distances = torch.clamp(1.0 - y_pred @ ref_embeddings.T, min=0.0)
    positive = _column(y_true) == _column(ref_labels).T
    negative = ~positive
    if remove_diagonal:
        eye = torch.eye(y_true.numel(), ref_labels.numel(), dtype=torch.bool, device=y_pred.device)
        positive = positive & ~eye

    pos_weights = torch.clamp((margin + distances) * positive, min=0.0)
    neg_weights = torch.clamp((1.0 + margin - distances) * negative, min=0.0)
    pos_logits = -gamma * pos_weights * (margin - distances)
    neg_logits = gamma * neg_weights * ((1.0 - margin) - distances)
    p_loss = torch.logsumexp(torch.where(positive, pos_logits, float("-inf")), dim=1)
    n_loss = torch.logsumexp(torch.where(negative, neg_logits, float("-inf")), dim=1)
    total = p_loss + n_loss
    # softplus as logaddexp(x, 0): exact for every x (F.softplus turns linear above a threshold).
    values = torch.logaddexp(total, torch.zeros((), dtype=total.dtype, device=total.device))
    return set_mask(values, values > 0)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a positive float. "
            f"Received: {name}={value!r}"
        )
    return value


@register_builtin(_MODULE)
class Circle(LossFunctionWrapper):
    """Circle loss for metric learning on L2-normalized embeddings.

    ``y_true`` holds integer class labels ``(batch_size,)`` and ``y_pred`` the embeddings
    ``(batch_size, embedding_dim)``; every other example of the batch serves as reference.

    Args:
        gamma: Scale factor. Defaults to 80.0.
        margin: Relaxation margin. Defaults to 0.4.
        remove_diagonal: Whether an example is not paired with itself. Defaults to ``True``.
        reduction: How to reduce the per-example values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    _integer_labels = True

    def __init__(
        self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size", name="circle", dtype=None
    ):
        super().__init__(
            circle,
            name=name,
            reduction=reduction,
            dtype=dtype,
            gamma=_check_positive("gamma", gamma),
            margin=margin,
            remove_diagonal=remove_diagonal,
        )
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def get_config(self):
        return {
            **Loss.get_config(self),
            "gamma": self.gamma,
            "margin": self.margin,
            "remove_diagonal": self.remove_diagonal,
        }
