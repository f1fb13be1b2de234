"""Focal crossentropies: crossentropies scaled by ``(1 - p_t) ** gamma`` so that well classified
examples (true-class probability ``p_t`` near 1) count less, which helps with class imbalance."""

import numbers

import torch

from lamina.backend import config as backend_config
from lamina.losses._crossentropy_args import (
    check_axis,
    check_label_smoothing,
    class_axis,
    smooth_binary,
    smooth_categorical,
    warn_single_class,
)
from lamina.losses.loss import Loss, LossFunctionWrapper, check_compatible, convert_pair
from lamina.ops._crossentropy_math import binary_crossentropy_values
from lamina.ops._utils import check_same_shape
from lamina.saving.object_registration import register_builtin
from lamina.losses._symbolic import records_function_node

_MODULE = "keras.losses"


def _check_gamma(gamma):
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or gamma < 0:
        raise ValueError(
            "Invalid value for argument `gamma`: expected a float >= 0. "
            f"Received: gamma={gamma!r}"
        )
    return gamma


@register_builtin(_MODULE)
@records_function_node()
def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """Binary focal crossentropy, averaged over ``axis``.

    ``loss = (1 - p_t) ** gamma * bce`` with ``p_t = y_true * p + (1 - y_true) * (1 - p)``;
    with ``apply_class_balancing`` it is further weighted by ``alpha`` for positive labels and
    ``1 - alpha`` for negative ones. ``gamma = 0`` gives the binary crossentropy.

    Args:
        y_true: Labels in ``[0, 1]``, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted probabilities (or logits), same shape.
        apply_class_balancing: Whether to weight the classes by ``alpha`` / ``1 - alpha``.
        alpha: Weight of the positive class when balancing. Defaults to 0.25.
        gamma: Focusing parameter, ``>= 0``. Defaults to 2.0.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: Float in ``[0, 1]``; labels are moved towards 0.5 by this amount.
        axis: The axis the mean is taken over. Defaults to ``-1``.

    Returns:
        Loss values with ``axis`` removed.

    Example:

    >>> lamina.losses.binary_focal_crossentropy([[0.0, 1.0]], [[0.4, 0.6]], gamma=2.0)
    tensor([0.0817])
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    y_true = smooth_binary(y_true, label_smoothing)
    if from_logits:
        # The probabilities (clipped below) are used, not the logits, to give the reference's numbers.
        y_pred = torch.sigmoid(y_pred)
    check_same_shape(y_true, y_pred)
    bce = binary_crossentropy_values(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal_bce = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal_bce
    return torch.mean(focal_bce, dim=axis)


@register_builtin(_MODULE)
@records_function_node()
def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Categorical focal crossentropy, summed over the class axis.

    ``loss = -sum(alpha * (1 - p) ** gamma * y_true * log(p), axis=axis)`` where ``p`` are the
    predicted probabilities, renormalized and clipped to ``[epsilon, 1 - epsilon]``.

    Args:
        y_true: One-hot (or soft) labels, shape ``(batch_size, d0, .. dN, num_classes)``.
        y_pred: Predicted probabilities (or logits), same shape.
        alpha: Weighting factor: a float, or one weight per class. Defaults to 0.25.
        gamma: Focusing parameter, ``>= 0``. Defaults to 2.0.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: Float in ``[0, 1]``; labels are mixed with the uniform distribution.
        axis: The class axis. Defaults to ``-1``.

    Returns:
        Loss values with the class axis removed.
    """
    axis = check_axis(axis)
    y_true, y_pred = convert_pair(y_true, y_pred)
    warn_single_class("categorical_focal_crossentropy", y_pred)
    y_true = smooth_categorical(y_true, label_smoothing)
    check_compatible(y_true, y_pred)
    dim = class_axis(axis, y_pred.ndim)
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=dim)
    eps = backend_config.epsilon()
    output = torch.clamp(y_pred / torch.sum(y_pred, dim=dim, keepdim=True), eps, 1.0 - eps)
    if not isinstance(alpha, numbers.Real):
        alpha = torch.as_tensor(alpha, dtype=output.dtype, device=output.device)
    weighting = torch.pow(1.0 - output, gamma) * alpha
    return torch.sum(weighting * (-y_true * torch.log(output)), dim=dim)


@register_builtin(_MODULE)
class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy down-weighting well classified examples.

    Args:
        apply_class_balancing: Whether to weight positive labels by ``alpha`` and negative ones by
            ``1 - alpha``. Defaults to ``False``.
        alpha: Weight of the positive class when balancing. Defaults to 0.25.
        gamma: Focusing parameter, ``>= 0``; 0 gives the binary crossentropy. Defaults to 2.0.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: Float in ``[0, 1]``; labels are moved towards 0.5 by this amount.
        axis: The axis the mean is taken over. Defaults to ``-1``.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> loss = lamina.losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
    >>> loss([0.0, 1.0, 0.0, 0.0], [-18.6, 0.51, 2.94, -12.8])
    tensor(0.6912)
    """

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        check_label_smoothing(label_smoothing)
        super().__init__(
            binary_focal_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=_check_gamma(gamma),
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self):
        return {
            **Loss.get_config(self),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }


@register_builtin(_MODULE)
class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy down-weighting well classified examples.

    Args:
        alpha: Weighting factor: a float, or one weight per class. Defaults to 0.25.
        gamma: Focusing parameter, ``>= 0``; 0 gives ``alpha`` times the categorical
            crossentropy. Defaults to 2.0.
        from_logits: Whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: Float in ``[0, 1]``; labels are mixed with the uniform distribution.
        axis: The class axis. Defaults to ``-1``.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        check_label_smoothing(label_smoothing)
        super().__init__(
            categorical_focal_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            alpha=alpha,
            gamma=_check_gamma(gamma),
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=check_axis(axis),
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self):
        return {
            **Loss.get_config(self),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }
