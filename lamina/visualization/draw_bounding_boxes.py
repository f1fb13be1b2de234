"""``draw_bounding_boxes``: boxes and class labels drawn into a batch of images."""

import numpy as np

from lamina.backend import config
from lamina.ops.bounding_boxes import convert_format
from lamina.visualization._deps import check_batched, require_cv2, to_numpy


def _text_origin(x, y, font_scale, thickness):
    # Above the box when there is room for the text, else just inside its top-left corner.
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def _to_uint8(images):
    if images.dtype.kind == "f" and images.size > 0:
        # Float images in [0, 1] are scaled to [0, 255]; others are clipped to it.
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype("uint8")


def draw_bounding_boxes(
    images,
    bounding_boxes,
    bounding_box_format,
    class_mapping=None,
    color=(128, 128, 128),
    line_thickness=2,
    text_thickness=1,
    font_scale=1.0,
    data_format=None,
):
    """Draw bounding boxes (and optionally class labels and confidences) on a batch of images.

    Drawing uses OpenCV (``pip install opencv-python-headless``), as Keras does, so the pixels
    are Keras's.

    Args:
        images: Batch of images, ``(batch, height, width, channels)`` (array or tensor).
            Float images with a maximum of at most 1 are scaled to [0, 255].
        bounding_boxes: A dict with ``"boxes"`` ``(batch, num_boxes, 4)``, ``"labels"``
            ``(batch, num_boxes)`` (label -1 marks padding, not drawn) and optionally
            ``"confidences"`` ``(batch, num_boxes)``.
        bounding_box_format: Format of the boxes (``"xyxy"``, ``"yxyx"``, ``"xywh"``,
            ``"center_xywh"``, ``"center_yxhw"``, ``"rel_*"``, see
            `lamina.utils.bounding_boxes.convert_format`).
        class_mapping: Dict from class id to the label text drawn next to the box.
        color: RGB color of boxes and text.
        line_thickness: Thickness of the box lines.
        text_thickness: Thickness of the text (``line_thickness`` when falsy).
        font_scale: Scale of the text.
        data_format: ``"channels_last"`` or ``"channels_first"`` (locates height and width);
            defaults to `lamina.config.image_data_format()`.

    Returns:
        A uint8 numpy array of the annotated images, same shape as ``images``.

    Example:

    >>> images = np.zeros((1, 64, 64, 3), "uint8")
    >>> boxes = {"boxes": np.array([[[8, 8, 40, 40]]]), "labels": np.array([[0]])}
    >>> drawn = lamina.visualization.draw_bounding_boxes(
    ...     images, boxes, "xyxy", class_mapping={0: "cat"}, color=(255, 0, 0))
    """
    cv2 = require_cv2("draw_bounding_boxes")
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = data_format or config.image_data_format()
    shape = check_batched(images)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(
            "`bounding_boxes` should be a dict. Received: "
            f"bounding_boxes={bounding_boxes} of type {type(bounding_boxes)}"
        )
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(
            "`bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. "
            f"Received: bounding_boxes={bounding_boxes}"
        )
    height, width = (shape[1], shape[2]) if data_format == "channels_last" else (shape[2], shape[3])
    boxes = to_numpy(
        convert_format(to_numpy(bounding_boxes["boxes"]), bounding_box_format, "xyxy", height, width)
    )
    labels = to_numpy(bounding_boxes["labels"])
    confidences = to_numpy(bounding_boxes["confidences"]) if "confidences" in bounding_boxes else None
    images = _to_uint8(to_numpy(images))

    result = []
    for i in range(images.shape[0]):
        # A contiguous copy: OpenCV draws in place and needs a writable C-ordered buffer.
        image = np.ascontiguousarray(images[i])
        for j in range(boxes[i].shape[0]):
            x1, y1, x2, y2 = (int(v) for v in boxes[i][j].astype("int32"))
            label_id = int(labels[i][j].astype("int32"))
            if label_id == -1:
                continue
            cv2.rectangle(image, (x1, y1), (x2, y2), color, line_thickness)
            if label_id in class_mapping:
                text = class_mapping[label_id]
                if confidences is not None:
                    text = f"{text} | {confidences[i][j]:.2f}"
                cv2.putText(
                    img=image,
                    text=text,
                    org=_text_origin(x1, y1, font_scale, text_thickness),
                    fontFace=cv2.FONT_HERSHEY_SIMPLEX,
                    fontScale=font_scale,
                    color=color,
                    thickness=text_thickness,
                )
        result.append(image)
    return np.stack(result, axis=0)
