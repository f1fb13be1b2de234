"""``smart_resize``: resize images to a target size without distorting their aspect ratio."""

import numpy as np
import torch

from lamina import ops


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resize images to ``size``, center-cropping to the target aspect ratio first.

    The largest centered crop with the aspect ratio of ``size`` is taken (e.g. a 340x500 image
    resized to 200x200 is first cropped to 340x340), then resized, so nothing is stretched.

    Args:
        x: An image ``(height, width, channels)`` or a batch ``(batch, height, width, channels)``
            (channels first with ``data_format="channels_first"``), as a NumPy array or tensor.
        size: ``(height, width)`` of the result.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"lanczos3"`` or
            ``"lanczos5"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The resized images: a NumPy array for a NumPy input, a tensor otherwise.

    Example:

    >>> smart_resize(np.zeros((340, 500, 3)), (200, 200)).shape
    (200, 200, 3)
    """
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    img = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if img.dim() not in (3, 4):
        raise ValueError(
            "Expected an image array with shape `(height, width, channels)`, or `(batch_size, "
            f"height, width, channels)`, but got input with incorrect rank, of shape "
            f"{tuple(img.shape)}."
        )
    if data_format == "channels_last":
        height, width = img.shape[-3], img.shape[-2]
    else:
        height, width = img.shape[-2], img.shape[-1]
    target_height, target_width = size
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top = int(float(height - crop_height) / 2)
    left = int(float(width - crop_width) / 2)
    rows, cols = slice(top, top + crop_height), slice(left, left + crop_width)
    if data_format == "channels_last":
        img = img[..., rows, cols, :]
    else:
        img = img[..., rows, cols]
    img = ops.image.resize(img, size=size, interpolation=interpolation, data_format=data_format)
    if isinstance(x, np.ndarray):
        return img.detach().cpu().numpy()
    return img
