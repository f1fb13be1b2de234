"""Draws and masks shared by the box and mixing augmentations (RandomErasing, CutMix, MixUp)."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import BaseImagePreprocessingLayer


def beta(generator, alpha, shape, device, dtype=torch.float32):
    """Draws from ``Beta(alpha, alpha)`` as ``G1 / (G1 + G2)`` of two gamma draws.

    ``alpha`` is a float or a scalar tensor. Gammas are drawn in float64 so that small
    ``alpha`` (mass near 0 and 1) does not underflow to ``0 / 0``.
    """
    concentration = torch.as_tensor(alpha, dtype=torch.float64, device=device).expand(2, *shape).contiguous()
    gammas = torch._standard_gamma(concentration, generator=generator)
    total = gammas.sum(0)
    draws = torch.where(total > 0, gammas[0] / torch.where(total > 0, total, 1.0), 0.5)
    return draws.to(dtype)


def batch_permutation(generator, batch, device):
    """A random order of the batch: image ``i`` is mixed with image ``permutation[i]``."""
    return torch.randperm(batch, generator=generator, device="cpu").to(device)


def box_bounds(generator, batch, length, ratio, dtype, device):
    """``(start, end)`` of boxes ``ratio * length`` long placed uniformly inside ``length``."""
    extent = ratio * length
    start = torch.rand((batch,), generator=generator, device=device, dtype=dtype) * (length - extent)
    return start, start + extent


def box_masks(x0, x1, y0, y1, height, width, data_format):
    """Boolean masks, shaped to broadcast over a 4D batch, of the pixels in each box
    ``[x0, x1) x [y0, y1)`` (per image, in pixel index coordinates)."""
    rows = torch.arange(height, dtype=x0.dtype, device=x0.device)[None, :, None]
    cols = torch.arange(width, dtype=x0.dtype, device=x0.device)[None, None, :]
    inside = (cols >= x0[:, None, None]) & (cols < x1[:, None, None])
    inside = inside & (rows >= y0[:, None, None]) & (rows < y1[:, None, None])
    return inside.unsqueeze(-1) if data_format == "channels_last" else inside.unsqueeze(1)


class BaseMixingLayer(BaseImagePreprocessingLayer):
    """Base of the layers that mix images of a batch with each other (MixUp, CutMix).

    They take images, or a dict with ``"images"`` and optionally ``"labels"`` (mixed with the
    same weights) and return the same structure. Subclasses implement
    ``_mix(images, labels)`` on a 4D float batch, returning ``(images, labels)``.
    """

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            if "images" not in inputs:
                raise ValueError(
                    f"Layer '{self.name}' expected a dict with an 'images' key (and optionally 'labels'). "
                    f"Received keys: {sorted(inputs)}"
                )
            images, labels = inputs["images"], inputs.get("labels")
        else:
            images, labels = inputs, None
        self._check_rank(images.shape)
        images = self._cast(images)
        if training:
            if images.dim() == 4:
                images, labels = self._mix(images, labels)
            else:
                images, labels = self._mix_unbatched(images, labels)
        if not isinstance(inputs, dict):
            return images
        outputs = dict(inputs)
        outputs["images"] = images
        if labels is not None:
            outputs["labels"] = labels
        return outputs

    def _mix_unbatched(self, images, labels):
        return images, labels

    def _mix_labels(self, labels, permutation, weight):
        if labels is None:
            return None
        labels = labels if labels.is_floating_point() else labels.to(weight.dtype)
        weight = weight.reshape(-1, *([1] * (labels.dim() - 1))).to(labels.dtype)
        return weight * labels + (1.0 - weight) * labels[permutation]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            return dict(input_shape)
        return super().compute_output_shape(input_shape)
