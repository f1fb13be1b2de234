"""Probabilistic losses: the crossentropies, Kullback-Leibler divergence, Poisson, and the
generalized crossentropy.

The crossentropy formulas are those of ``lamina.ops`` (``lamina/ops/_crossentropy_math.py``);
the functions here add Keras's loss arguments (label smoothing, ``ignore_class``, the axis to
average over).
"""

import numbers

import torch
import torch.nn.functional as F

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses._crossentropy_args import (
    check_axis,
    check_label_smoothing,
    class_axis,
    smooth_binary,
    smooth_categorical,
    warn_single_class,
)
from lamina.losses._symbolic import records_function_node
from lamina.losses.loss import (
    Loss,
    LossFunctionWrapper,
    check_compatible,
    convert_pair,
    set_mask,
)
from lamina.ops._crossentropy_math import binary_crossentropy_values, categorical_log_probs
from lamina.ops._utils import check_same_shape
from lamina.saving.object_registration import register_builtin
from lamina.utils.index_errors import out_of_range

_MODULE = "keras.losses"


@register_builtin(_MODULE)
@records_function_node()
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy, averaged over ``axis``.

    Args:
        y_true: Labels in ``[0, 1]``, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted probabilities (or logits), same shape.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: Float in ``[0, 1]``; labels are moved towards 0.5:
            ``y_true * (1 - label_smoothing) + 0.5 * label_smoothing``.
        axis: The axis the mean is taken over. Defaults to ``-1``.

    Returns:
        Loss values with ``axis`` removed.

    Example:

    >>> lamina.losses.binary_crossentropy([[0.0, 1.0]], [[0.4, 0.6]])
    tensor([0.5108])
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    y_true = smooth_binary(y_true, label_smoothing)
    check_same_shape(y_true, y_pred)
    return torch.mean(binary_crossentropy_values(y_true, y_pred, from_logits), dim=axis)


@register_builtin(_MODULE)
@records_function_node()
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy between one-hot (or soft) labels and predicted class probabilities.

    ``loss = -sum(y_true * log(y_pred), axis=axis)``

    Args:
        y_true: One-hot or soft labels, shape ``(batch_size, d0, .. dN, num_classes)``.
        y_pred: Predicted probabilities (or logits), same shape.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: Float in ``[0, 1]``; labels are mixed with the uniform distribution:
            ``y_true * (1 - label_smoothing) + label_smoothing / num_classes``.
        axis: The class axis. Defaults to ``-1``.

    Returns:
        Loss values with the class axis removed.

    Example:

    >>> lamina.losses.categorical_crossentropy([[0.0, 1.0, 0.0]], [[0.05, 0.95, 0.0]])
    tensor([0.0513])
    """
    axis = check_axis(axis)
    y_true, y_pred = convert_pair(y_true, y_pred)
    warn_single_class("categorical_crossentropy", y_pred)
    y_true = smooth_categorical(y_true, label_smoothing)
    check_same_shape(y_true, y_pred)
    if y_pred.ndim < 1:
        raise ValueError("`y_true` and `y_pred` must be at least rank 1. Received scalars.")
    dim = class_axis(axis, y_pred.ndim)
    return -torch.sum(y_true * categorical_log_probs(y_pred, from_logits, dim), dim=dim)


@register_builtin(_MODULE)
@records_function_node()
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Crossentropy between integer class ids and predicted class probabilities.

    Args:
        y_true: Integer class ids, shape ``(batch_size, d0, .. dN)`` (a trailing axis of size 1
            is also accepted). Float ids are truncated to integers.
        y_pred: Predicted probabilities (or logits), shape ``(batch_size, d0, .. dN, num_classes)``.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        ignore_class: Optional class id whose entries contribute no loss (e.g. a padding or "void"
            label in segmentation). The result then carries a mask so that averaging counts only
            the other entries.
        axis: The class axis of ``y_pred``. Defaults to ``-1``.

    Returns:
        Loss values of the shape of ``y_true``.

    Example:

    >>> lamina.losses.sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    tensor([0.0513, 2.3026])
    """
    y_pred = convert_to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(backend_config.floatx()))
    y_true = convert_to_tensor(y_true).to(y_pred.device)
    if y_pred.ndim < 1:
        raise ValueError(f"`y_pred` must be at least rank 1. Received: y_pred.shape={tuple(y_pred.shape)}")
    dim = class_axis(axis, y_pred.ndim)
    if y_true.ndim == y_pred.ndim and y_true.shape[dim] == 1:
        y_true = y_true.squeeze(dim)
    expected = y_pred.shape[:dim] + y_pred.shape[dim + 1 :]
    if y_true.shape != expected:
        raise ValueError(
            "`y_true` must have the shape of `y_pred` without its class axis. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    target = y_true.to(torch.int64)
    if ignore_class is not None:
        valid = y_true != ignore_class
        # -100 is the id torch's kernels skip (zero loss, zero gradient).
        target = torch.where(valid, target, -100)
    num_classes = y_pred.shape[dim]
    # Flattening to (N, num_classes) keeps torch on its fast 2-D kernel; a copy happens only for a
    # class axis other than the last.
    scores = torch.movedim(y_pred, dim, -1).reshape(-1, num_classes)
    try:
        if from_logits:
            values = F.cross_entropy(scores, target.reshape(-1), reduction="none")
        else:
            values = F.nll_loss(categorical_log_probs(scores, False, -1), target.reshape(-1), reduction="none")
    except IndexError:
        # Checked only once torch has refused: a check on every batch would cost a device sync.
        raise out_of_range(
            "sparse_categorical_crossentropy", "class ids in `y_true`", target, num_classes, ignored=-100
        ) from None
    values = values.reshape(expected)
    if ignore_class is not None:
        set_mask(values, valid)
    return values


@register_builtin(_MODULE)
@records_function_node()
def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence from ``y_pred`` to ``y_true``, over the last axis.

    ``loss = sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[epsilon, 1]``.

    Args:
        y_true: Target distributions.
        y_pred: Predicted distributions, same shape.

    Returns:
        Loss values with the last axis removed.
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    check_compatible(y_true, y_pred)
    eps = backend_config.epsilon()
    y_true = torch.clamp(y_true, eps, 1.0)
    y_pred = torch.clamp(y_pred, eps, 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


@register_builtin(_MODULE)
@records_function_node()
def poisson(y_true, y_pred):
    """Poisson loss, averaged over the last axis.

    ``loss = mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``

    Args:
        y_true: Observed counts.
        y_pred: Predicted rates, same shape.

    Returns:
        Loss values with the last axis removed.
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    check_compatible(y_true, y_pred)
    return torch.mean(y_pred - y_true * torch.log(y_pred + backend_config.epsilon()), dim=-1)


def _check_q(q):
    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0 < q < 1:
        raise ValueError(f"Invalid value for argument `q`: expected a float in (0, 1). Received: q={q!r}")
    return q


@register_builtin(_MODULE)
@records_function_node()
def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized crossentropy, robust to noisy labels.

    ``loss = (1 - p**q) / q`` where ``p`` is the predicted probability of the true class. ``q``
    near 0 approaches the crossentropy; ``q = 1`` gives the mean absolute error.

    Args:
        y_true: Integer class ids, shape ``(batch_size, ...)``.
        y_pred: Predicted probabilities, shape ``(batch_size, ..., num_classes)``.
        q: Float in ``(0, 1)``.

    Returns:
        Loss values of the shape of ``y_true``.
    """
    _check_q(q)
    y_pred = convert_to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(backend_config.floatx()))
    y_true = convert_to_tensor(y_true).to(y_pred.device)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    classes = torch.arange(y_pred.shape[-1], device=y_pred.device)
    # Comparing with every class id (rather than gathering) gives p = 0 for an id out of range.
    one_hot = (y_true.to(torch.int64).unsqueeze(-1) == classes).to(y_pred.dtype)
    p = torch.sum(y_pred * one_hot, dim=-1)
    return (1.0 - torch.pow(p, q)) / q


@register_builtin(_MODULE)
class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for binary (0 or 1) labels.

    Args:
        from_logits: Whether ``y_pred`` holds logits rather than probabilities. Defaults to
            ``False``.
        label_smoothing: Float in ``[0, 1]``. Labels are squeezed towards 0.5 by this amount
            (e.g. 0.1 turns 0 and 1 into 0.05 and 0.95). Defaults to 0.
        axis: The axis the mean is taken over. Defaults to ``-1``.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> bce = lamina.losses.BinaryCrossentropy(from_logits=True)
    >>> bce([0.0, 1.0, 0.0], [-18.6, 0.51, 2.94])
    tensor(1.1539)
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        check_label_smoothing(label_smoothing)
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {
            **Loss.get_config(self),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@register_builtin(_MODULE)
class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot (or soft) labels over two or more classes.

    Use ``SparseCategoricalCrossentropy`` for labels given as integer class ids.

    Args:
        from_logits: Whether ``y_pred`` holds logits rather than probabilities. Defaults to
            ``False``.
        label_smoothing: Float in ``[0, 1]``; labels are mixed with the uniform distribution over
            the classes by this amount. Defaults to 0.
        axis: The class axis. Defaults to ``-1``.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> cce = lamina.losses.CategoricalCrossentropy()
    >>> cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    tensor(1.1769)
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        check_label_smoothing(label_smoothing)
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=check_axis(axis),
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {
            **Loss.get_config(self),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@register_builtin(_MODULE)
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer class ids over two or more classes.

    Args:
        from_logits: Whether ``y_pred`` holds logits rather than probabilities. Defaults to
            ``False``.
        ignore_class: Optional class id to skip (e.g. a "void" label in segmentation). Skipped
            entries give no loss and are left out of the average.
        reduction: How to reduce the per-sample values; see ``Loss``.
        axis: The class axis of ``y_pred``. Defaults to ``-1``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> scce = lamina.losses.SparseCategoricalCrossentropy()
    >>> scce([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    tensor(1.1769)
    """

    _integer_labels = True

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        axis=-1,
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=check_axis(axis),
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self):
        # Keras leaves `axis` out, so its configs lose it; keeping it makes the round trip exact.
        return {
            **Loss.get_config(self),
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
            "axis": self.axis,
        }


@register_builtin(_MODULE)
class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence between label and predicted distributions.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class Poisson(LossFunctionWrapper):
    """Poisson loss between observed counts and predicted rates.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy for integer class ids, robust to noisy labels.

    Args:
        q: Float in ``(0, 1)``. Smaller values behave like the crossentropy, values near 1 like
            the mean absolute error (more robust to wrong labels). Defaults to 0.5.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    _integer_labels = True

    def __init__(
        self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy", dtype=None
    ):
        super().__init__(
            categorical_generalized_cross_entropy, name=name, reduction=reduction, dtype=dtype, q=_check_q(q)
        )
        self.q = q

    def get_config(self):
        return {**Loss.get_config(self), "q": self.q}
