"""Bounding box math on torch tensors, as ``keras.utils.bounding_boxes`` defines it.

Boxes are tensors whose last axis holds 4 numbers in one of these formats (case-insensitive):
``"xyxy"`` (left, top, right, bottom), ``"yxyx"``, ``"xywh"`` (left, top, width, height),
``"center_xywh"``, ``"center_yxhw"``, and the relative ``"rel_xyxy"``, ``"rel_yxyx"``,
``"rel_xywh"``, ``"rel_center_xywh"`` whose coordinates are fractions of the image ``width`` and
``height``. Every conversion goes through ``xyxy``, with Keras's arithmetic (so the float32 results
agree bit for bit with Keras's JAX backend).

The public entry points are in ``lamina.utils.bounding_boxes``.
"""

import math

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype

__all__ = [
    "affine_transform",
    "clip_to_image_size",
    "compute_ciou",
    "compute_iou",
    "convert_format",
    "crop",
    "decode_deltas_to_boxes",
    "encode_box_to_deltas",
    "pad",
]

SUPPORTED_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)
_ENCODINGS = ("center_xywh", "center_yxhw")


def _split(boxes):
    return torch.unbind(boxes[..., :4].unsqueeze(-1), dim=-2)


def _join(*parts):
    return torch.cat(parts, dim=-1)


# Each format <-> (x1, y1, x2, y2). `h` and `w` are only read by the relative formats.
def _to_xyxy(fmt, boxes, h, w):
    a, b, c, d = _split(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(b, a, d, c)
    if fmt == "xywh":
        return _join(a, b, a + c, b + d)
    if fmt == "center_xywh":
        return _join(a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    if fmt == "center_yxhw":
        return _join(b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    if fmt == "rel_xyxy":
        return _join(a * w, b * h, c * w, d * h)
    if fmt == "rel_yxyx":
        return _join(b * w, a * h, d * w, c * h)
    if fmt == "rel_xywh":
        return _join(a * w, b * h, (a + c) * w, (b + d) * h)
    # rel_center_xywh
    return _join((a - c / 2.0) * w, (b - d / 2.0) * h, (a + c / 2.0) * w, (b + d / 2.0) * h)


def _from_xyxy(fmt, boxes, h, w):
    x1, y1, x2, y2 = _split(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(y1, x1, y2, x2)
    if fmt == "xywh":
        return _join(x1, y1, x2 - x1, y2 - y1)
    if fmt == "center_xywh":
        return _join(x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1)
    if fmt == "center_yxhw":
        return _join(y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1)
    if fmt == "rel_xyxy":
        return _join(x1 / w, y1 / h, x2 / w, y2 / h)
    if fmt == "rel_yxyx":
        return _join(y1 / h, x1 / w, y2 / h, x2 / w)
    if fmt == "rel_xywh":
        return _join(x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)
    # rel_center_xywh
    return _join((x1 + (x2 - x1) / 2.0) / w, (y1 + (y2 - y1) / 2.0) / h, (x2 - x1) / w, (y2 - y1) / h)


def _scalar(value, dtype, device):
    return torch.as_tensor(convert_to_tensor(value), dtype=dtype, device=device)


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Converts bounding boxes from the ``source`` format to the ``target`` format.

    Args:
        boxes: Boxes of shape ``(..., 4)``, or a dict whose ``"boxes"`` entry holds them (the
            entry is replaced and the same dict returned, as in Keras).
        source: Format of ``boxes`` (see the module docstring).
        target: Format to convert to.
        height: Image height; needed when either format is relative.
        width: Image width; needed when either format is relative.
        dtype: dtype of the result (default ``"float32"``).

    Returns:
        The converted boxes, a tensor of ``dtype`` with the shape of ``boxes``.
    """
    if isinstance(boxes, dict):
        boxes["boxes"] = convert_format(
            boxes["boxes"], source=source, target=target, height=height, width=width, dtype=dtype
        )
        return boxes
    boxes = convert_to_tensor(boxes)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape={tuple(boxes.shape)}"
        )
    source, target = str(source).lower(), str(target).lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(
            f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}. "
            f"Received: source={source!r}, target={target!r}"
        )
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError(
            "convert_format() must receive `height` and `width` when transforming between relative "
            f"and absolute formats. Received: source={source!r}, target={target!r}, "
            f"height={height}, width={width}."
        )
    boxes = boxes.to(to_torch_dtype(dtype))
    if source == target:
        return boxes
    h = None if height is None else _scalar(height, boxes.dtype, boxes.device)
    w = None if width is None else _scalar(width, boxes.dtype, boxes.device)
    if source.startswith("rel_") and target.startswith("rel_"):
        # Relative to relative needs no image size: convert as if absolute.
        source, target = source[4:], target[4:]
    return _from_xyxy(target, _to_xyxy(source, boxes, h, w), h, w)


def _area(boxes):
    x1, y1, x2, y2 = _split(boxes)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Clips boxes to the image; labels of boxes left with no area become ``-1``.

    Args:
        bounding_boxes: A dict with ``"boxes"`` (``(N, 4)`` or ``(batch, N, 4)``) and optionally
            ``"labels"`` (``(N,)`` or ``(batch, N)``).
        height: Image height (required for ``"xyxy"``).
        width: Image width (required for ``"xyxy"``).
        bounding_box_format: ``"xyxy"`` (clip to ``[0, width] x [0, height]``) or
            ``"rel_xyxy"`` (clip to ``[0, 1]``).

    Returns:
        A new dict with the clipped ``"boxes"`` (and updated ``"labels"``).
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            "clip_to_image_size() supports bounding_box_format 'xyxy' and 'rel_xyxy' only. "
            f"Received: bounding_box_format={bounding_box_format!r}"
        )
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = convert_to_tensor(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels", None)
    if bounding_box_format == "xyxy":
        h = _scalar(height, boxes.dtype, boxes.device)
        w = _scalar(width, boxes.dtype, boxes.device)
    else:
        h = w = torch.ones((), dtype=boxes.dtype, device=boxes.device)
    zero = torch.zeros((), dtype=boxes.dtype, device=boxes.device)
    x1, y1, x2, y2 = _split(boxes)
    boxes = _join(
        torch.clamp(x1, zero, w), torch.clamp(y1, zero, h), torch.clamp(x2, zero, w), torch.clamp(y2, zero, h)
    )
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if labels is not None:
        labels = convert_to_tensor(labels)
        areas = _area(boxes).squeeze(-1)
        result["labels"] = torch.where(areas > 0, labels, torch.full_like(labels, -1))
    return result


def _param(value, batch, dtype, device):
    value = torch.as_tensor(convert_to_tensor(value), dtype=dtype, device=device)
    return value.reshape(-1).expand(batch) if value.numel() == 1 else value.reshape(batch)


def _inverse_affine_matrix(
    center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width
):
    """The ``(batch, 3, 3)`` matrix mapping output pixels to input pixels (TF's geometry)."""
    angle, shear_x, shear_y = -angle, -shear_x, -shear_y
    cx = center_x * (width - 1)
    cy = center_y * (height - 1)
    rot = angle * (1.0 / 180.0 * math.pi)
    tx = -translate_x * (width - 1)
    ty = -translate_y * (height - 1)
    sx = shear_x * (1.0 / 180.0 * math.pi)
    sy = shear_y * (1.0 / 180.0 * math.pi)
    cos_sy = torch.cos(sy)
    tan_sx = torch.tan(sx)
    # Rotation with shear; its determinant is 1, so its inverse is the adjugate.
    a = torch.cos(rot - sy) / cos_sy
    b = a * tan_sx + torch.sin(rot)
    c = -torch.sin(rot - sy) / cos_sy
    d = torch.cos(rot) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], dim=-1).reshape(-1, 3, 3)


def affine_transform(
    boxes,
    angle,
    translate_x,
    translate_y,
    scale,
    shear_x,
    shear_y,
    height,
    width,
    center_x=None,
    center_y=None,
    bounding_box_format="xyxy",
):
    """Moves boxes with the affine transform an image gets from ``ops.image.affine_transform``.

    The four corners of each box are mapped and the result is their enclosing box.

    Args:
        boxes: ``"xyxy"`` boxes of shape ``(batch, N, 4)`` (or ``(N, 4)``: one image).
        angle: Rotation in degrees, a scalar or one value per image (as are the next five).
        translate_x: Horizontal translation, a fraction of the width.
        translate_y: Vertical translation, a fraction of the height.
        scale: Scaling factor.
        shear_x: Shear angle in degrees along x.
        shear_y: Shear angle in degrees along y.
        height: Image height.
        width: Image width.
        center_x: Centre of the transform, a fraction of the width (default 0.5).
        center_y: Centre of the transform, a fraction of the height (default 0.5).
        bounding_box_format: Must be ``"xyxy"``.

    Returns:
        The transformed boxes, with the shape of ``boxes``.
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            f"affine_transform() supports bounding_box_format='xyxy' only. Received: {bounding_box_format!r}"
        )
    boxes = convert_to_tensor(boxes)
    unbatched = boxes.ndim == 2
    if unbatched:
        boxes = boxes.unsqueeze(0)
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(
            f"`boxes` must have shape (batch, N, 4) or (N, 4). Received: boxes.shape={tuple(boxes.shape)}"
        )
    angle = convert_to_tensor(angle)
    dtype = angle.dtype if angle.is_floating_point() else to_torch_dtype(backend_config.floatx())
    batch, device = boxes.shape[0], boxes.device
    params = [
        _param(v, batch, dtype, device)
        for v in (
            0.5 if center_x is None else center_x,
            0.5 if center_y is None else center_y,
            angle,
            translate_x,
            translate_y,
            scale,
            shear_x,
            shear_y,
        )
    ]
    matrix = _inverse_affine_matrix(*params, height, width)
    boxes = boxes.to(dtype)
    x1, y1, x2, y2 = torch.unbind(boxes, dim=-1)
    corners = torch.stack([x1, y1, x2, y1, x2, y2, x1, y2], dim=-1).reshape(batch, boxes.shape[1], 4, 2)
    corners = torch.cat([corners, torch.ones_like(corners[..., :1])], dim=-1)
    moved = torch.einsum("bnxy,byz->bnxz", corners, matrix[:, :2, :].transpose(1, 2))
    out = torch.cat([moved.amin(dim=2), moved.amax(dim=2)], dim=-1)
    return out[0] if unbatched else out


def _clip(x, high):
    # A missing bound (None) leaves that side open, as `clip(x, 0, None)` does in Keras.
    x = torch.clamp(x, min=0)
    return x if high is None else torch.minimum(x, torch.as_tensor(high, dtype=x.dtype, device=x.device))


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes in the frame of the crop at (``top``, ``left``), clipped to its ``height`` x ``width``.

    Args:
        boxes: ``"xyxy"`` boxes, ``(N, 4)`` or ``(batch, N, 4)``.
        top: Vertical offset of the crop.
        left: Horizontal offset of the crop.
        height: Crop height (``None``: no bottom bound).
        width: Crop width (``None``: no right bound).
        bounding_box_format: Must be ``"xyxy"``.

    Returns:
        The cropped boxes.
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            f"crop() supports bounding_box_format='xyxy' only. Received: {bounding_box_format!r}"
        )
    x1, y1, x2, y2 = _split(convert_to_tensor(boxes))
    x1, x2 = _clip(x1 - left, width), _clip(x2 - left, width)
    y1, y2 = _clip(y1 - top, height), _clip(y2 - top, height)
    return _join(x1, y1, x2, y2)


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Shifts boxes by the ``top`` and ``left`` padding added to their image.

    Args:
        boxes: ``"xyxy"`` boxes, ``(N, 4)`` or ``(batch, N, 4)``.
        top: Padding added above the image.
        left: Padding added left of the image.
        height: Unused (Keras's signature).
        width: Unused (Keras's signature).
        bounding_box_format: Must be ``"xyxy"``.

    Returns:
        The shifted boxes.
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            f"pad() supports bounding_box_format='xyxy' only. Received: {bounding_box_format!r}"
        )
    x1, y1, x2, y2 = _split(convert_to_tensor(boxes))
    return _join(x1 + left, y1 + top, x2 + left, y2 + top)


def _variance(variance):
    if variance is None:
        return None
    variance = convert_to_tensor(variance, dtype="float32")
    if variance.ndim == 0 or variance.shape[-1] != 4:
        raise ValueError(f"`variance` must be length 4, got {variance.tolist()}")
    return variance


def _image_size(image_shape):
    if image_shape is None:
        return None, None
    height, width, _ = image_shape
    return height, width


def encode_box_to_deltas(
    anchors, boxes, anchor_format, box_format, encoding_format="center_yxhw", variance=None, image_shape=None
):
    """Encodes ``boxes`` as offsets and log-scales relative to ``anchors`` (box regression targets).

    Args:
        anchors: Anchor boxes, ``(N, 4)``.
        boxes: Boxes to encode, ``(N, 4)`` or ``(batch, N, 4)``.
        anchor_format: Format of ``anchors``.
        box_format: Format of ``boxes``.
        encoding_format: ``"center_yxhw"`` (default) or ``"center_xywh"``: the format in which the
            deltas are computed (and ordered).
        variance: Optional 4 values the deltas are divided by.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        The deltas, with the shape of ``boxes``.
    """
    variance = _variance(variance)
    if encoding_format not in _ENCODINGS:
        raise ValueError(
            f"`encoding_format` should be one of 'center_xywh' or 'center_yxhw', got {encoding_format}"
        )
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, source=anchor_format, target=encoding_format, height=height, width=width)
    boxes = convert_format(boxes, source=box_format, target=encoding_format, height=height, width=width)
    eps = backend_config.epsilon()
    anchor_sizes = torch.clamp(anchors[..., 2:], min=eps)
    box_sizes = torch.clamp(boxes[..., 2:], min=eps)
    deltas = torch.cat(
        [(boxes[..., :2] - anchors[..., :2]) / anchor_sizes, torch.log(box_sizes / anchor_sizes)], dim=-1
    )
    return deltas if variance is None else deltas / variance.to(deltas.device)


def decode_deltas_to_boxes(
    anchors, boxes_delta, anchor_format, box_format, encoded_format="center_yxhw", variance=None, image_shape=None
):
    """Applies regression deltas to anchors: the inverse of ``encode_box_to_deltas``.

    Args:
        anchors: Anchor boxes ``(N, 4)``, or a dict of them (one entry per feature level).
        boxes_delta: Deltas ``(N, 4)`` or ``(batch, N, 4)``, with the structure of ``anchors``.
        anchor_format: Format of ``anchors``.
        box_format: Format of the returned boxes.
        encoded_format: ``"center_yxhw"`` (default) or ``"center_xywh"``: the deltas' format.
        variance: Optional 4 values the deltas are multiplied by first.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        The decoded boxes in ``box_format`` (a dict if ``anchors`` was one).
    """
    variance = _variance(variance)
    if encoded_format not in _ENCODINGS:
        raise ValueError(
            f"`encoded_format` should be 'center_xywh' or 'center_yxhw', but got '{encoded_format}'."
        )
    height, width = _image_size(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, source=anchor_format, target=encoded_format, height=height, width=width)
        delta = convert_to_tensor(delta)
        if variance is not None:
            delta = delta * variance.to(delta.device)
        box = torch.cat(
            [delta[..., :2] * anchor[..., 2:] + anchor[..., :2], torch.exp(delta[..., 2:]) * anchor[..., 2:]],
            dim=-1,
        )
        return convert_format(box, source=encoded_format, target=box_format, height=height, width=width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1, image_shape=None):
    """Pairwise intersection over union of two sets of boxes.

    Args:
        boxes1: ``(M, 4)`` or ``(batch, M, 4)``.
        boxes2: ``(N, 4)`` or ``(batch, N, 4)``.
        bounding_box_format: Format of both sets.
        use_masking: Give ``mask_val`` to pairs where either box has all coordinates negative
            (padding boxes).
        mask_val: The value of masked pairs (default -1).
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        ``(M, N)``, or ``(batch, M, N)`` if either set is batched.
    """
    ranks = (len(np.shape(boxes1)), len(np.shape(boxes2)))
    for name, rank in zip(("boxes1", "boxes2"), ranks):
        if rank not in (2, 3):
            raise ValueError(
                f"compute_iou() expects {name} to be batched, or to be unbatched. Received "
                f"len(boxes1.shape)={ranks[0]}, len(boxes2.shape)={ranks[1]}. Expected either "
                f"len({name}.shape)=2 or len({name}.shape)=3."
            )
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError(
            "When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
            f"must be provided. Received `image_shape`: {image_shape}"
        )
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, source=bounding_box_format, target="yxyx", height=height, width=width)
    boxes2 = convert_format(boxes2, source=bounding_box_format, target="yxyx", height=height, width=width)
    top1, left1, bottom1, right1 = _split(boxes1)
    top2, left2, bottom2, right2 = (t.transpose(-1, -2) for t in _split(boxes2))
    zero = torch.zeros((), dtype=boxes1.dtype, device=boxes1.device)
    inter_h = torch.maximum(zero, torch.minimum(bottom1, bottom2) - torch.maximum(top1, top2))
    inter_w = torch.maximum(zero, torch.minimum(right1, right2) - torch.maximum(left1, left2))
    intersection = inter_h * inter_w
    area1 = (bottom1 - top1) * (right1 - left1)
    area2 = (bottom2 - top2) * (right2 - left2)
    iou = intersection / (area1 + area2 - intersection + backend_config.epsilon())
    if not use_masking:
        return iou
    # Padding boxes (all coordinates negative) on either side.
    background1 = boxes1.amax(dim=-1, keepdim=True) < 0
    background = background1 | (boxes2.amax(dim=-1, keepdim=True) < 0).transpose(-1, -2)
    return torch.where(background, torch.full_like(iou, mask_val), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """Complete IoU of matching boxes: IoU minus centre-distance and aspect-ratio penalties.

    Args:
        boxes1: Boxes of shape ``(..., 4)``.
        boxes2: Boxes broadcastable against ``boxes1``.
        bounding_box_format: Format of both.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        The CIoU of each pair, shape ``boxes1.shape[:-1]`` (broadcast).
    """
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError(
            "When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument "
            f"must be provided. Received `image_shape`: {image_shape}"
        )
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, source=bounding_box_format, target="xyxy", height=height, width=width)
    boxes2 = convert_format(boxes2, source=bounding_box_format, target="xyxy", height=height, width=width)
    eps = backend_config.epsilon()
    x_min1, y_min1, x_max1, y_max1 = _split(boxes1)
    x_min2, y_min2, x_max2, y_max2 = _split(boxes2)
    width_1, height_1 = x_max1 - x_min1, y_max1 - y_min1 + eps
    width_2, height_2 = x_max2 - x_min2, y_max2 - y_min2 + eps
    overlap_w = torch.clamp(torch.minimum(x_max1, x_max2) - torch.maximum(x_min1, x_min2), min=0)
    overlap_h = torch.clamp(torch.minimum(y_max1, y_max2) - torch.maximum(y_min1, y_min2), min=0)
    intersection = overlap_w * overlap_h
    union = width_1 * height_1 + width_2 * height_2 - intersection + eps
    iou = (intersection / (union + eps)).squeeze(-1)
    convex_w = torch.maximum(x_max1, x_max2) - torch.minimum(x_min1, x_min2)
    convex_h = torch.maximum(y_max1, y_max2) - torch.minimum(y_min1, y_min2)
    diagonal = (convex_w**2 + convex_h**2 + eps).squeeze(-1)
    center_dx = (x_min1 + x_max1) / 2 - (x_min2 + x_max2) / 2
    center_dy = (y_min1 + y_max1) / 2 - (y_min2 + y_max2) / 2
    centers = (center_dx**2 + center_dy**2).squeeze(-1)
    # The aspect-ratio consistency term.
    angle_gap = torch.atan(width_2 / height_2) - torch.atan(width_1 / height_1)
    v = ((4 / math.pi**2) * torch.pow(angle_gap, 2)).squeeze(-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centers / diagonal + v * alpha)
