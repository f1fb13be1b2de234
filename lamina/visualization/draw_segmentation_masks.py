"""``draw_segmentation_masks``: class masks painted (and blended) over a batch of images."""

import numpy as np

from lamina.backend import config
from lamina.visualization._deps import check_batched, to_numpy


def _color_palette(num_classes):
    # A fixed, well-spread RGB color per class (the same colors Keras uses).
    palette = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * palette) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(
    images,
    segmentation_masks,
    num_classes=None,
    color_mapping=None,
    alpha=0.8,
    blend=True,
    ignore_index=-1,
    data_format=None,
):
    """Paint segmentation masks over a batch of images.

    Each class ``c`` in ``range(num_classes)`` gets a color; pixels of that class take the
    color, blended with the image when ``blend`` (``image * (1 - alpha) + color * alpha``)
    except where the mask is ``ignore_index``.

    Args:
        images: Batch of images, ``(batch, height, width, channels)`` (or channels first).
        segmentation_masks: Integer masks ``(batch, height, width, 1)`` (or channels first).
        num_classes: Number of classes colored. Defaults to the mask's maximum value (as in
            Keras, so that value itself is then not colored).
        color_mapping: Dict from class id to an RGB color; defaults to a fixed palette.
        alpha: Opacity of the mask colors when blending.
        blend: Blend the colors with the image (uint8 result); without it the painted float32
            images are returned.
        ignore_index: Mask value left unpainted when blending.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            `lamina.config.image_data_format()`. Channels-first inputs come back channels last.

    Returns:
        A numpy array ``(batch, height, width, channels)``: uint8 when ``blend``, else float32.

    Example:

    >>> images = np.full((1, 4, 4, 3), 100, "uint8")
    >>> masks = np.zeros((1, 4, 4, 1), "int32"); masks[0, :2] = 1
    >>> lamina.visualization.draw_segmentation_masks(images, masks, num_classes=2)
    """
    data_format = data_format or config.image_data_format()
    check_batched(images)
    images = to_numpy(images)
    masks = to_numpy(segmentation_masks)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
        masks = np.transpose(masks, (0, 2, 3, 1))
    images = images.astype("float32")
    if masks.dtype.kind not in "iu":
        raise TypeError(
            "`segmentation_masks` must be in integer dtype. "
            f"Received: segmentation_masks.dtype={masks.dtype}"
        )
    if num_classes is None:
        num_classes = int(masks.max())
    if color_mapping is None:
        colors = _color_palette(num_classes)
    else:
        colors = [color_mapping[i] for i in range(num_classes)]
    labels = masks[..., 0]
    painted = images.copy()
    for class_id, color in enumerate(colors):
        painted[labels == class_id, ...] = np.asarray(color, dtype=painted.dtype)[None, :]
    if not blend:
        return painted
    blended = images * (1 - alpha) + painted * alpha
    blended = np.where((labels != ignore_index)[..., None], blended, images)
    return blended.astype("uint8")
