"""Cropping, padding and patch extraction as ``keras.ops.image`` defines them."""

import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format

__all__ = ["crop_images", "extract_patches", "pad_images"]


def _check_rank(images):
    if images.dim() not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
            f"Received: images.shape={tuple(images.shape)}"
        )


def _check_two_of(values, names):
    if list(values).count(None) != 1:
        received = ", ".join(f"{n}={v}" for n, v in zip(names, values))
        raise ValueError(f"Must specify exactly two of {', '.join(names)}. Received: {received}")


def _check_non_negative(**values):
    for name, value in values.items():
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")


def _hw_axes(images, data_format):
    rank = images.dim()
    return (rank - 3, rank - 2) if data_format == "channels_last" else (rank - 2, rank - 1)


def pad_images(
    images,
    top_padding=None,
    left_padding=None,
    bottom_padding=None,
    right_padding=None,
    target_height=None,
    target_width=None,
    data_format=None,
):
    """Pad images with zeros: two of ``top_padding``, ``bottom_padding``, ``target_height``
    (and of ``left_padding``, ``right_padding``, ``target_width``) fix the third.

    Args:
        images: Tensor of rank 3 (one image) or 4 (a batch).
        top_padding, bottom_padding: Rows of zeros above and below.
        left_padding, right_padding: Columns of zeros left and right.
        target_height, target_width: Size of the output images.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The padded images.

    Example:

    >>> lamina.ops.image.pad_images(np.ones((15, 25, 3)), 2, 3, target_height=20, target_width=30).shape
    torch.Size([20, 30, 3])
    """
    data_format = standardize_data_format(data_format)
    images = torch.as_tensor(images)
    _check_rank(images)
    _check_two_of((top_padding, bottom_padding, target_height), ("top_padding", "bottom_padding", "target_height"))
    _check_two_of((left_padding, right_padding, target_width), ("left_padding", "right_padding", "target_width"))
    _check_non_negative(
        top_padding=top_padding,
        bottom_padding=bottom_padding,
        target_height=target_height,
        left_padding=left_padding,
        right_padding=right_padding,
        target_width=target_width,
    )
    h_axis, w_axis = _hw_axes(images, data_format)
    height, width = images.shape[h_axis], images.shape[w_axis]
    if top_padding is None:
        top_padding = target_height - bottom_padding - height
    if bottom_padding is None:
        bottom_padding = target_height - top_padding - height
    if left_padding is None:
        left_padding = target_width - right_padding - width
    if right_padding is None:
        right_padding = target_width - left_padding - width
    _check_non_negative(
        top_padding=top_padding, left_padding=left_padding, right_padding=right_padding, bottom_padding=bottom_padding
    )
    # F.pad lists (before, after) pairs from the last axis backwards.
    pads = [0, 0] * (images.dim() - 1 - w_axis) + [left_padding, right_padding, top_padding, bottom_padding]
    return F.pad(images, pads)


def crop_images(
    images,
    top_cropping=None,
    left_cropping=None,
    bottom_cropping=None,
    right_cropping=None,
    target_height=None,
    target_width=None,
    data_format=None,
):
    """Crop images: two of ``top_cropping``, ``bottom_cropping``, ``target_height`` (and of
    ``left_cropping``, ``right_cropping``, ``target_width``) fix the third.

    Args:
        images: Tensor of rank 3 (one image) or 4 (a batch).
        top_cropping, bottom_cropping: Rows removed above and below.
        left_cropping, right_cropping: Columns removed left and right.
        target_height, target_width: Size of the output images.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The cropped images (a view of ``images``).

    Example:

    >>> lamina.ops.image.crop_images(np.ones((20, 30, 3)), 2, 3, target_height=15, target_width=25).shape
    torch.Size([15, 25, 3])
    """
    data_format = standardize_data_format(data_format)
    images = torch.as_tensor(images)
    _check_rank(images)
    _check_two_of((top_cropping, bottom_cropping, target_height), ("top_cropping", "bottom_cropping", "target_height"))
    _check_two_of((left_cropping, right_cropping, target_width), ("left_cropping", "right_cropping", "target_width"))
    _check_non_negative(
        top_cropping=top_cropping,
        bottom_cropping=bottom_cropping,
        target_height=target_height,
        left_cropping=left_cropping,
        right_cropping=right_cropping,
        target_width=target_width,
    )
    h_axis, w_axis = _hw_axes(images, data_format)
    height, width = images.shape[h_axis], images.shape[w_axis]
    if top_cropping is None:
        top_cropping = height - target_height - bottom_cropping
    if target_height is None:
        target_height = height - bottom_cropping - top_cropping
    if left_cropping is None:
        left_cropping = width - target_width - right_cropping
    if target_width is None:
        target_width = width - right_cropping - left_cropping
    _check_non_negative(
        top_cropping=top_cropping, target_height=target_height, left_cropping=left_cropping, target_width=target_width
    )
    if top_cropping + target_height > height or left_cropping + target_width > width:
        raise ValueError(
            f"The crop ({top_cropping}:{top_cropping + target_height}, {left_cropping}:{left_cropping + target_width}) "
            f"does not fit in images of size ({height}, {width})."
        )
    images = images.narrow(h_axis, top_cropping, target_height)
    return images.narrow(w_axis, left_cropping, target_width)


def _same_padding(size, kernel, stride, dilation):
    extent = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Extract (optionally strided and dilated) patches of 2D images or 3D volumes.

    Each output position holds its patch flattened in ``(rows, cols, channels)`` order
    (``(depth, rows, cols, channels)`` for volumes), as a channels axis of size
    ``prod(size) * channels``.

    Args:
        images: 2D patches: ``(H, W, C)`` or ``(N, H, W, C)``; 3D patches: ``(D, H, W, C)`` or
            ``(N, D, H, W, C)`` (channels first with ``data_format="channels_first"``).
        size: An int or a tuple of 2 (or 3, for volumes) patch sizes.
        strides: Steps between patches; defaults to ``size`` (non-overlapping patches).
        dilation_rate: Spacing of the sampled pixels within a patch.
        padding: ``"valid"`` or ``"same"`` (zero padding, the extra cell after the data).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The patches, rank as ``images``.

    Example:

    >>> lamina.ops.image.extract_patches(np.ones((2, 20, 20, 3)), (5, 5)).shape
    torch.Size([2, 4, 4, 75])
    """
    if isinstance(size, bool) or not isinstance(size, (int, tuple, list)):
        raise TypeError(
            f"Invalid `size` argument. Expected an int or a tuple. Received: size={size} of type {type(size).__name__}"
        )
    if isinstance(size, (tuple, list)) and len(size) not in (2, 3):
        raise ValueError(
            f"Invalid `size` argument. Expected a tuple of length 2 or 3. Received: size={size} with length {len(size)}"
        )
    if padding not in ("valid", "same"):
        raise ValueError(f"Invalid `padding` argument. Expected 'valid' or 'same'. Received: padding={padding!r}")
    data_format = standardize_data_format(data_format)
    images = torch.as_tensor(images)
    spatial = 2 if isinstance(size, int) else len(size)
    if images.dim() not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"Invalid images rank for {spatial}D patches: expected rank {spatial + 1} or {spatial + 2}. "
            f"Received: images.shape={tuple(images.shape)}"
        )

    def per_axis(value, name):
        values = (value,) * spatial if isinstance(value, int) else tuple(value)
        if len(values) != spatial:
            raise ValueError(f"`{name}` must have {spatial} entries. Received: {name}={value}")
        return values

    sizes = per_axis(size, "size")
    strides = sizes if not strides else per_axis(strides, "strides")
    dilations = per_axis(dilation_rate, "dilation_rate")
    batched = images.dim() == spatial + 2
    x = images if batched else images.unsqueeze(0)
    if data_format == "channels_last":
        x = x.movedim(-1, 1)
    if padding == "same":
        pads = []
        for axis in reversed(range(spatial)):
            pads += _same_padding(x.shape[2 + axis], sizes[axis], strides[axis], dilations[axis])
        x = F.pad(x, pads)
    for axis in range(spatial):
        extent = (sizes[axis] - 1) * dilations[axis] + 1
        x = x.unfold(2 + axis, extent, strides[axis])[..., :: dilations[axis]]
    # x: (N, C, *out, *patch) -> (N, *out, *patch, C) -> (N, *out, prod(patch) * C)
    x = x.movedim(1, -1)
    out_shape = x.shape[1 : 1 + spatial]
    x = x.reshape(x.shape[0], *out_shape, -1)
    if data_format == "channels_first":
        x = x.movedim(-1, 1)
    return x if batched else x.squeeze(0)
