"""The crossentropy formulas shared by ``ops.*_crossentropy`` and the losses.

Both take tensors already converted to one floating dtype and shape-checked by their caller.
Probabilities are clipped to ``[epsilon, 1 - epsilon]`` before their logarithm is taken; logits go
through torch's fused, numerically stable kernels instead.
"""

import torch
import torch.nn.functional as F

from lamina.backend import config


def binary_crossentropy_values(target, output, from_logits):
    """Element-wise binary crossentropy of same-shaped ``target`` and ``output``."""
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = config.epsilon()
    # Not F.binary_cross_entropy: it rejects targets outside [0, 1], which Keras accepts.
    output = torch.clamp(output, eps, 1.0 - eps)
    return -(target * torch.log(output) + (1.0 - target) * torch.log(1.0 - output))


def categorical_log_probs(output, from_logits, dim):
    """Log-probabilities over the class axis ``dim`` of ``output`` (probabilities or logits)."""
    if from_logits:
        return torch.log_softmax(output, dim=dim)
    # Probabilities are renormalized over the class axis, then clipped away from 0 and 1, as Keras does.
    eps = config.epsilon()
    output = output / torch.sum(output, dim=dim, keepdim=True)
    return torch.log(torch.clamp(output, eps, 1.0 - eps))
