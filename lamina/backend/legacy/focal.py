"""Keras 2 backend: focal cross-entropies (``K.binary_focal_crossentropy``,
``K.categorical_focal_crossentropy``), element-wise like the other ``K.*`` losses."""

import torch

from lamina.backend import config
from lamina.backend.legacy.nn import binary_crossentropy
from lamina.ops._utils import canonical_axis, promote, public_names, tensor


def binary_focal_crossentropy(target, output, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False):
    """Binary cross-entropy scaled by the focal factor ``(1 - p_t) ** gamma``, where ``p_t`` is
    the probability given to the true class.

    Args:
        target: Tensor of 0/1 targets, the shape of ``output``.
        output: Probabilities (logits with ``from_logits=True``).
        apply_class_balancing: Also weight class 1 by ``alpha`` and class 0 by ``1 - alpha``.
        alpha: Class-1 weight for ``apply_class_balancing``.
        gamma: Focusing parameter (0 gives the plain binary cross-entropy).
        from_logits: Whether ``output`` holds logits.

    Returns:
        The element-wise loss.
    """
    target, output = promote(target, output, force_float=True)
    probs = torch.sigmoid(output) if from_logits else output
    p_t = target * probs + (1 - target) * (1 - probs)
    focal = torch.pow(1.0 - p_t, gamma) * binary_crossentropy(target, output, from_logits=from_logits)
    if apply_class_balancing:
        focal = (target * alpha + (1 - target) * (1 - alpha)) * focal
    return focal


def categorical_focal_crossentropy(target, output, alpha=0.25, gamma=2.0, from_logits=False, axis=-1):
    """Categorical cross-entropy with each class term scaled by ``alpha * (1 - p) ** gamma``.

    Args:
        target: One-hot targets, the shape of ``output``.
        output: Probabilities over ``axis`` (logits with ``from_logits=True``); they are
            renormalized to sum to 1 and clipped to ``[epsilon, 1 - epsilon]``.
        alpha: Weight (a scalar, or one per class).
        gamma: Focusing parameter.
        from_logits: Whether ``output`` holds logits.
        axis: The class axis.

    Returns:
        The loss, reduced over ``axis``.
    """
    target, output = promote(target, output, force_float=True)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(
            f"`target` and `output` must have the same shape. Received: {tuple(target.shape)} and "
            f"{tuple(output.shape)}"
        )
    axis = canonical_axis(axis, output.ndim)
    if from_logits:
        output = torch.softmax(output, dim=axis)
    output = output / output.sum(dim=axis, keepdim=True)
    eps = config.epsilon()
    output = torch.clamp(output, eps, 1.0 - eps)
    alpha = tensor(alpha).to(device=output.device, dtype=output.dtype)
    if alpha.ndim == 1 and axis != output.ndim - 1:
        alpha = alpha.reshape((-1,) + (1,) * (output.ndim - 1 - axis))
    weighted = torch.pow(1.0 - output, gamma) * alpha * (-target * torch.log(output))
    return weighted.sum(dim=axis)


__all__ = public_names(globals(), __name__)
