"""Image operations on torch tensors, as ``keras.ops.image`` defines them: resizing, affine warps and
colour space conversions.

The numbers follow Keras's JAX backend (``jax.image.resize`` and
``jax.scipy.ndimage.map_coordinates``), which defines the semantics: half-pixel centres, kernel
weights renormalised at the borders, antialiasing only when asked for.
"""

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.ops._image_math import (
    AFFINE_TRANSFORM_FILL_MODES,
    AFFINE_TRANSFORM_INTERPOLATIONS,
    check_images_rank,
    fix_index,
    interpolation_nodes,
    round_half_away_from_zero,
)

__all__ = [
    "affine_transform",
    "crop_images",
    "elastic_transform",
    "extract_patches",
    "gaussian_blur",
    "hsv_to_rgb",
    "map_coordinates",
    "pad_images",
    "perspective_transform",
    "resize",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "sobel_edges",
]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _triangle(distance):
    return np.maximum(0.0, 1.0 - distance)


def _keys_cubic(distance):
    # Keys' cubic convolution kernel with a = -0.5 (what Keras' "bicubic" resize uses).
    d = distance
    near = (1.5 * d - 2.5) * d * d + 1.0
    far = ((-0.5 * d + 2.5) * d - 4.0) * d + 2.0
    return np.where(d < 1.0, near, np.where(d < 2.0, far, 0.0))


def _lanczos(radius):
    def kernel(distance):
        d = np.where(distance > 1e-3, distance, 1.0)
        value = radius * np.sin(math.pi * d) * np.sin(math.pi * d / radius) / (math.pi * d) ** 2
        value = np.where(distance > 1e-3, value, 1.0)
        return np.where(distance > radius, 0.0, value)

    return kernel


_KERNELS = {
    "bilinear": _triangle,
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3),
    "lanczos5": _lanczos(5),
}


@functools.lru_cache(maxsize=128)
def resize_weights(in_size, out_size, interpolation, antialias=False):
    """The ``(out_size, in_size)`` matrix that resamples one axis.

    Output cell ``i`` is centred on input coordinate ``(i + 0.5) * in_size / out_size - 0.5``
    (half-pixel centres). Its weights are the kernel at the distance to each input cell (the
    kernel widened by the shrink factor when antialiasing a downsample), renormalised to sum to
    one so that cells near the border only use the input that exists.
    """
    inv_scale = in_size / out_size
    kernel_scale = max(inv_scale, 1.0) if antialias else 1.0
    centres = (np.arange(out_size) + 0.5) * inv_scale - 0.5
    distance = np.abs(centres[:, None] - np.arange(in_size)[None, :]) / kernel_scale
    weights = _KERNELS[interpolation](distance)
    total = weights.sum(axis=1, keepdims=True)
    usable = np.abs(total) > 1000.0 * np.finfo(np.float32).eps
    return np.where(usable, weights / np.where(total != 0, total, 1.0), 0.0)


@functools.lru_cache(maxsize=128)
def _nearest_indices(in_size, out_size):
    # float32 on purpose: this is the arithmetic that defines which cell is "nearest" in Keras.
    f32 = np.float32
    centres = (np.arange(out_size, dtype=f32) + f32(0.5)) * f32(in_size) / f32(out_size)
    return np.minimum(np.floor(centres).astype(np.int64), in_size - 1)


def resize_nchw(x, size, interpolation, antialias=False):
    """Resample the two last axes of a floating ``(batch, channels, rows, cols)`` tensor to ``size``."""
    size = tuple(int(s) for s in size)
    if interpolation == "nearest":
        for axis, out_size in zip((2, 3), size):
            if x.shape[axis] != out_size:
                index = torch.as_tensor(_nearest_indices(x.shape[axis], out_size), device=x.device)
                x = torch.index_select(x, axis, index)
        return x
    if interpolation == "bilinear" or (interpolation == "bicubic" and antialias):
        # torch's half-pixel bilinear (with or without antialias) and antialiased Keys bicubic
        # equal the renormalised kernels above to float32 rounding, as fused kernels.
        if tuple(x.shape[2:]) == size:
            return x
        return F.interpolate(x, size=size, mode=interpolation, align_corners=False, antialias=antialias)
    for axis, out_size in zip((2, 3), size):
        # Axes that keep their size are skipped (the kernels interpolate, so this is the identity);
        # it also avoids the tiny off-centre weights the Lanczos kernels give at integer distances.
        if x.shape[axis] == out_size:
            continue
        matrix = resize_weights(x.shape[axis], out_size, interpolation, bool(antialias))
        matrix = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
        x = torch.matmul(matrix, x) if axis == 2 else torch.matmul(x, matrix.T)
    return x


def _aspect_ratio_box(height, width, target_height, target_width):
    """The centred crop (``crop_to_aspect_ratio``) of the target's aspect ratio."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return (
        int(float(height - crop_height) / 2),
        int(float(width - crop_width) / 2),
        crop_height,
        crop_width,
    )


def _to_nchw(images, data_format):
    """A 4D ``(batch, channels, rows, cols)`` view of rank-3/4 images, and how to undo it."""
    batched = images.dim() == 4
    x = images if batched else images.unsqueeze(0)
    if data_format == "channels_last":
        x = x.permute(0, 3, 1, 2)

    def restore(y):
        if data_format == "channels_last":
            y = y.permute(0, 2, 3, 1)
        return y if batched else y.squeeze(0)

    return x, restore


def resize(
    images,
    size,
    interpolation="bilinear",
    antialias=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    fill_mode="constant",
    fill_value=0.0,
    data_format=None,
):
    """Resize images to ``size = (height, width)``.

    Args:
        images: Tensor of rank 3 (one image) or 4 (a batch).
        size: Tuple of two ints, the output height and width.
        interpolation: One of ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"lanczos3"``,
            ``"lanczos5"``.
        antialias: Whether to low-pass filter when downsampling (widens the kernel by the
            shrink factor). Has no effect when upsampling.
        crop_to_aspect_ratio: Crop the largest centred window with the target aspect ratio
            before resizing.
        pad_to_aspect_ratio: Pad the short side evenly with ``fill_value`` to the target aspect
            ratio before resizing.
        fill_mode: Only ``"constant"`` is supported.
        fill_value: Value of the padding.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The resized images, in the dtype of ``images`` (integers rounded half to even and
        saturated).
    """
    data_format = standardize_data_format(data_format)
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(
            f"Invalid value for argument `interpolation`. Expected one of {RESIZE_INTERPOLATIONS}. "
            f"Received: interpolation={interpolation!r}"
        )
    if fill_mode != "constant":
        raise ValueError(
            "Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
            f"Received: fill_mode={fill_mode!r}"
        )
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
    if len(size) != 2:
        raise ValueError(f"Argument `size` must be a tuple of two elements (height, width). Received: size={size}")
    images = torch.as_tensor(images)
    check_images_rank(images)
    x, restore = _to_nchw(images, data_format)
    target_height, target_width = (int(s) for s in size)
    height, width = x.shape[2], x.shape[3]
    if crop_to_aspect_ratio:
        top, left, crop_height, crop_width = _aspect_ratio_box(height, width, target_height, target_width)
        x = x[:, :, top : top + crop_height, left : left + crop_width]
    elif pad_to_aspect_ratio:
        pad_height = max(height, int(float(width * target_height) / target_width))
        pad_width = max(width, int(float(height * target_width) / target_height))
        top = int(float(pad_height - height) / 2)
        left = int(float(pad_width - width) / 2)
        # Keras pads the same amount on both sides, and the rows when both would need it.
        pads = (0, 0, top, top) if top > 0 else (left, left, 0, 0)
        if any(pads):
            x = F.pad(x, pads, mode="constant", value=fill_value)
    if interpolation == "nearest" or x.dtype in (torch.float32, torch.float64):
        out = resize_nchw(x, (target_height, target_width), interpolation, antialias)
    else:
        # Integer and half precision images are resampled in float32, then brought back to
        # their dtype: integers rounded half to even and saturated to the dtype's range.
        out = resize_nchw(x.float(), (target_height, target_width), interpolation, antialias)
        if not x.is_floating_point():
            info = torch.iinfo(x.dtype)
            out = torch.round(out).clamp(info.min, info.max)
        out = out.to(x.dtype)
    return restore(out)


# --- affine transforms ------------------------------------------------------------------------


def affine_transform(
    images,
    transform,
    interpolation="bilinear",
    fill_mode="constant",
    fill_value=0,
    data_format=None,
):
    """Apply an affine transform to each image, sampling with ``interpolation``.

    Each ``transform`` is ``[a0, a1, a2, b0, b1, b2, c0, c1]``: the output pixel ``(x, y)``
    takes the input at ``(a0 * x + a1 * y + a2, b0 * x + b1 * y + b2)`` (an output-to-input
    map, as in Keras). The projective terms ``c0, c1`` are ignored, as Keras's JAX backend does.
    Samples outside the image are filled per ``fill_mode``:

    - ``"constant"``: ``fill_value`` (per neighbour, so bilinear edges blend with it),
    - ``"nearest"``: the edge pixel, ``"wrap"``: the opposite edge (tiling),
    - ``"reflect"``: mirrored about the pixel edge (``d c b a | a b c d | d c b a``),
    - ``"mirror"``: mirrored about the edge pixel's centre (``d c b | a b c d | c b a``).

    Args:
        images: Tensor of rank 3 (one image) or 4 (a batch).
        transform: Array of shape ``(8,)`` or ``(batch, 8)``.
        interpolation: ``"nearest"`` or ``"bilinear"``.
        fill_mode: One of ``"constant"``, ``"nearest"``, ``"wrap"``, ``"mirror"``, ``"reflect"``.
        fill_value: Value of samples outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The transformed images, same shape and dtype.
    """
    data_format = standardize_data_format(data_format)
    if interpolation not in AFFINE_TRANSFORM_INTERPOLATIONS:
        raise ValueError(
            "Invalid value for argument `interpolation`. Expected one of "
            f"{AFFINE_TRANSFORM_INTERPOLATIONS}. Received: interpolation={interpolation!r}"
        )
    if fill_mode not in AFFINE_TRANSFORM_FILL_MODES:
        raise ValueError(
            f"Invalid value for argument `fill_mode`. Expected one of {AFFINE_TRANSFORM_FILL_MODES}. "
            f"Received: fill_mode={fill_mode!r}"
        )
    images = torch.as_tensor(images)
    check_images_rank(images)
    transform = torch.as_tensor(transform, device=images.device)
    if transform.dim() not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(
            "Invalid transform: expected shape (8,) (single transform) or (batch, 8). "
            f"Received input with shape: transform.shape={tuple(transform.shape)}"
        )
    batched = images.dim() == 4
    x = images if batched else images.unsqueeze(0)
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    batch, height, width, _ = x.shape
    if transform.dim() == 1:
        transform = transform.unsqueeze(0)
    if not transform.is_floating_point():
        transform = transform.float()
    transform = transform.expand(batch, 8)
    a0, a1, a2, b0, b1, b2 = (transform[:, i, None, None] for i in range(6))
    rows = torch.arange(height, dtype=transform.dtype, device=x.device)[None, :, None]
    cols = torch.arange(width, dtype=transform.dtype, device=x.device)[None, None, :]
    # Same association as Keras (index terms first, offset last) for identical rounding.
    y_in = rows * b1 + cols * b0 + b2
    x_in = rows * a1 + cols * a0 + a2

    compute = x if x.is_floating_point() else x.to(transform.dtype)
    fill = torch.as_tensor(fill_value, dtype=x.dtype).to(compute.dtype)
    batch_index = torch.arange(batch, device=x.device)[:, None, None]
    out = None
    for y_index, y_weight in interpolation_nodes(y_in, interpolation):
        for x_index, x_weight in interpolation_nodes(x_in, interpolation):
            values = compute[
                batch_index, fix_index(y_index, height, fill_mode), fix_index(x_index, width, fill_mode)
            ]
            if fill_mode == "constant":
                valid = (y_index >= 0) & (y_index < height) & (x_index >= 0) & (x_index < width)
                values = torch.where(valid[..., None], values, fill.to(values.device))
            if y_weight is not None:
                values = (y_weight * x_weight)[..., None] * values
            out = values if out is None else out + values
    if not x.is_floating_point():
        out = round_half_away_from_zero(out)
    out = out.to(x.dtype)
    if data_format == "channels_first":
        out = out.permute(0, 3, 1, 2)
    return out if batched else out.squeeze(0)


# --- colour spaces ----------------------------------------------------------------------------


def _channels_axis(images, data_format):
    images = torch.as_tensor(images)
    check_images_rank(images)
    return images, -1 if standardize_data_format(data_format) == "channels_last" else -3


def _check_float_images(images):
    if not images.is_floating_point():
        raise ValueError(f"Invalid images dtype: expected float dtype. Received: images.dtype={images.dtype}")


def rgb_to_grayscale(images, data_format=None):
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B`` as one channel (one-channel images pass through).

    Args:
        images: Tensor of rank 3 (one image) or 4 (a batch) with 3 (or 1) channels.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        Grayscale images with one channel, in the dtype of ``images`` (integers truncated).
    """
    images, axis = _channels_axis(images, data_format)
    if images.shape[axis] not in (1, 3):
        raise ValueError(
            "Invalid channel size: expected 3 (RGB) or 1 (Grayscale). "
            f"Received input with shape: images.shape={tuple(images.shape)}"
        )
    if images.shape[axis] == 1:
        return images
    compute = images if images.is_floating_point() else images.to(torch.float32)
    weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=compute.dtype, device=compute.device)
    shape = [1] * compute.dim()
    shape[axis] = 3
    gray = (compute * weights.reshape(shape)).sum(dim=axis, keepdim=True)
    return gray.to(images.dtype)


def rgb_to_hsv(images, data_format=None):
    """Convert float RGB images to HSV, all three in ``[0, 1]`` for RGB in ``[0, 1]``.

    Hue is the position on the colour wheel as a fraction of a turn (0 for grays); saturation
    is ``(max - min) / max`` (0 for black); value is ``max``.

    Args:
        images: Float tensor of rank 3 or 4 with 3 channels.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """
    images, axis = _channels_axis(images, data_format)
    _check_float_images(images)
    eps = torch.finfo(images.dtype).eps
    # Tiny magnitudes are treated as exact zeros, so they cannot produce a spurious hue.
    images = torch.where(images.abs() < eps, torch.zeros_like(images), images)
    red, green, blue = images.unbind(dim=axis)
    value = torch.maximum(torch.maximum(red, green), blue)
    spread = value - torch.minimum(torch.minimum(red, green), blue)
    one = torch.ones_like(value)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, one), torch.zeros_like(value))
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, one))
    hue = torch.where(value == green, norm * (blue - red) + 2.0 / 6.0, norm * (red - green) + 4.0 / 6.0)
    hue = torch.where(value == red, norm * (green - blue), hue)
    hue = torch.where(spread > 0, hue, torch.zeros_like(hue)) + (hue < 0.0).to(hue.dtype)
    return torch.stack([hue, saturation, value], dim=axis)


def hsv_to_rgb(images, data_format=None):
    """Convert float HSV images (hue as a fraction of a turn) back to RGB.

    Args:
        images: Float tensor of rank 3 or 4 with 3 channels.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """
    images, axis = _channels_axis(images, data_format)
    _check_float_images(images)
    hue, saturation, value = images.unbind(dim=axis)
    sector = torch.remainder(hue, 1.0) * 6.0
    red = torch.clamp(torch.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = torch.clamp(2.0 - torch.abs(sector - 2.0), 0.0, 1.0)
    blue = torch.clamp(2.0 - torch.abs(sector - 4.0), 0.0, 1.0)
    gray = 1.0 - saturation
    planes = [value * (gray + saturation * c) for c in (red, green, blue)]
    return torch.stack(planes, dim=axis)


# Filters, warps and crops live in their own modules (imported last: they use the helpers above);
# ``keras.ops.image`` offers them all in one namespace.
from lamina.ops.image_filters import gaussian_blur, sobel_edges  # noqa: E402
from lamina.ops.image_patches import crop_images, extract_patches, pad_images  # noqa: E402
from lamina.ops.image_warps import elastic_transform, map_coordinates, perspective_transform  # noqa: E402
from lamina.ops.image_metrics import ssim  # noqa: E402
from lamina.ops.image_resampling import scale_and_translate  # noqa: E402
from lamina.ops.image_volumes import extract_patches_3d  # noqa: E402

__all__ = sorted([*__all__, "extract_patches_3d", "scale_and_translate", "ssim"])
