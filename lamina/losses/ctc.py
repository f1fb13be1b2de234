"""Connectionist Temporal Classification (CTC) loss, for sequences whose alignment to the labels is
unknown (speech and handwriting recognition)."""

import torch
import torch.nn.functional as F

from lamina.backend.core import convert_to_tensor
from lamina.losses._symbolic import records_function_node
from lamina.losses.loss import Loss, LossFunctionWrapper
from lamina.saving.object_registration import register_builtin

_MODULE = "keras.losses"
# Class 0 is the blank symbol and also pads the label sequences.
_BLANK = 0


@register_builtin(_MODULE)
@records_function_node()
def ctc(y_true, y_pred):
    """CTC loss between padded label sequences and per-step class logits.

    Every time step of ``y_pred`` is used; a label sequence's length is its number of non-zero
    entries, which must come first (zeros pad the end).

    Args:
        y_true: Integer labels, shape ``(batch_size, max_label_length)``, 0-padded; class 0 is the
            blank symbol, so labels are ``1 .. num_classes - 1``.
        y_pred: Logits, shape ``(batch_size, max_length, num_classes)`` (a log-softmax is taken).

    Returns:
        The negative log-likelihood of each label sequence, shape ``(batch_size,)``.
    """
    y_true = convert_to_tensor(y_true)
    y_pred = convert_to_tensor(y_pred)
    if y_true.ndim != 2:
        raise ValueError(
            "`y_true` must be integer labels of shape (batch_size, max_label_length). "
            f"Received: y_true.shape={tuple(y_true.shape)}"
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "`y_pred` must be logits of shape (batch_size, max_length, num_classes). "
            f"Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    if y_pred.dtype not in (torch.float32, torch.float64):
        # Half precision is too coarse for the recursion; compute in at least float32.
        y_pred = y_pred.float()
    batch_size, max_length, _ = y_pred.shape
    targets = y_true.to(device=y_pred.device, dtype=torch.int64)
    target_lengths = torch.sum(targets != _BLANK, dim=-1)
    input_lengths = torch.full((batch_size,), max_length, dtype=torch.int64, device=y_pred.device)
    # torch's kernel wants time-major log-probabilities.
    log_probs = torch.log_softmax(y_pred, dim=-1).transpose(0, 1)
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=_BLANK, reduction="none")


@register_builtin(_MODULE)
class CTC(LossFunctionWrapper):
    """CTC (Connectionist Temporal Classification) loss.

    Args:
        reduction: How to reduce the per-sequence values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> loss = lamina.losses.CTC()
    >>> labels = [[1, 2, 0]]                   # one sequence "1 2", padded with the blank 0
    >>> logits = torch.zeros(1, 4, 3)          # 4 steps, 3 classes, uniform predictions
    >>> loss(labels, logits)
    tensor(1.6864)
    """

    _integer_labels = True

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
