"""``plot_segmentation_mask_gallery``: images next to their true and predicted masks."""

import numpy as np

from lamina.backend import config
from lamina.visualization._deps import check_batched, to_numpy
from lamina.visualization.draw_segmentation_masks import draw_segmentation_masks
from lamina.visualization.plot_image_gallery import plot_image_gallery


def plot_segmentation_mask_gallery(
    images,
    num_classes,
    value_range=(0, 255),
    y_true=None,
    y_pred=None,
    color_mapping=None,
    blend=True,
    alpha=0.8,
    ignore_index=-1,
    data_format=None,
    **kwargs,
):
    """Show each image in a row with its true and/or predicted masks painted over it.

    Args:
        images: Batch of images ``(batch, height, width, channels)`` (or channels first).
        num_classes: Number of classes colored.
        value_range: Value range of ``images`` for display.
        y_true: Optional true masks ``(batch, height, width, 1)``.
        y_pred: Optional predicted masks ``(batch, height, width, 1)``.
        color_mapping: Dict from class id to RGB color.
        blend: Blend mask colors with the image.
        alpha: Opacity of the mask colors.
        ignore_index: Mask value left unpainted.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        **kwargs: Passed to `plot_image_gallery` (``path``, ``show``, ``scale``, ``dpi``...).

    Example:

    >>> lamina.visualization.plot_segmentation_mask_gallery(
    ...     images, num_classes=3, y_true=masks, path="masks.png")
    """
    data_format = data_format or config.image_data_format()
    batch_size = check_batched(images)[0]
    images = to_numpy(images)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))

    def draw(masks):
        masks = to_numpy(masks)
        if data_format == "channels_first":
            masks = np.transpose(masks, (0, 2, 3, 1))
        return draw_segmentation_masks(
            images, masks.astype("int32"), num_classes=num_classes, color_mapping=color_mapping,
            alpha=alpha, blend=blend, ignore_index=ignore_index, data_format="channels_last",
        )

    drawn = [draw(m) for m in (y_true, y_pred) if m is not None]
    gallery = []
    for i in range(batch_size):
        gallery.append(images[i])
        gallery.extend(d[i] for d in drawn)
    return plot_image_gallery(
        np.stack(gallery, axis=0), value_range=value_range, rows=batch_size, cols=1 + len(drawn),
        data_format="channels_last", **kwargs,
    )
