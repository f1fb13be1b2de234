"""Image-sampling helpers shared by ``ops.image`` and ``ops.image_warps`` (and the CLAHE layer):
rank checks, index wrapping per fill mode, and the interpolation nodes of a sample coordinate."""

import torch

AFFINE_TRANSFORM_INTERPOLATIONS = ("nearest", "bilinear")
AFFINE_TRANSFORM_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def check_images_rank(images):
    if images.dim() not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
            f"Received input with shape: images.shape={tuple(images.shape)}"
        )


def round_half_away_from_zero(x):
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def _mirror_index(index, size):
    if size == 1:
        return torch.zeros_like(index)
    s = size - 1
    return torch.abs(torch.remainder(index + s, 2 * s) - s)


def fix_index(index, size, fill_mode):
    """Map integer sample indices outside ``[0, size)`` back into it, per ``fill_mode``."""
    if fill_mode == "nearest":
        return index.clamp(0, size - 1)
    if fill_mode == "wrap":
        return torch.remainder(index, size)
    if fill_mode == "mirror":
        return _mirror_index(index, size)
    if fill_mode == "reflect":
        # Half-sample symmetric: ... 1 0 | 0 1 2 ... (n-1) | (n-1) (n-2) ...
        return torch.div(_mirror_index(2 * index + 1, 2 * size + 1) - 1, 2, rounding_mode="floor")
    return index.clamp(0, size - 1)  # "constant": any in-range index; the sample is masked out


def interpolation_nodes(coordinate, interpolation):
    """(integer index, weight) pairs along one axis for each sample coordinate."""
    if interpolation == "nearest":
        return [(round_half_away_from_zero(coordinate).long(), None)]
    lower = torch.floor(coordinate)
    upper_weight = coordinate - lower
    lower_index = lower.long()
    return [(lower_index, 1 - upper_weight), (lower_index + 1, upper_weight)]
