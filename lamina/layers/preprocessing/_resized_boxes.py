"""Where bounding boxes land when ``Resizing`` resizes their images (Keras's arithmetic)."""

import torch

from lamina.backend.core import convert_to_tensor
from lamina.ops.bounding_boxes import clip_to_image_size, convert_format


def _xyxy_after_resize(boxes, input_size, target_size, mode):
    """``xyxy`` boxes of an ``input_size`` image moved onto the ``target_size`` image.

    ``mode`` is ``"pad"`` (pad to the target aspect ratio, then scale), ``"crop"`` (centre
    crop to it, then scale) or ``"stretch"``. The offsets are floored halves, as in Keras.
    """
    dtype, device = boxes.dtype, boxes.device
    in_h, in_w = (torch.tensor(float(v), dtype=dtype, device=device) for v in input_size)
    out_h, out_w = target_size
    if mode == "pad":
        ratio = torch.minimum(out_h / in_h, out_w / in_w)
        scale_x = scale_y = ratio
        shift_x = -torch.div(out_w - in_w * ratio, 2, rounding_mode="floor")
        shift_y = -torch.div(out_h - in_h * ratio, 2, rounding_mode="floor")
    elif mode == "crop":
        source, target = in_w / in_h, out_w / out_h
        new_w = torch.where(source > target, out_h * source, torch.tensor(float(out_w), dtype=dtype))
        new_h = torch.where(source > target, torch.tensor(float(out_h), dtype=dtype), out_w / source)
        scale_x, scale_y = new_w / in_w, new_h / in_h
        shift_x = torch.div(new_w - out_w, 2, rounding_mode="floor")
        shift_y = torch.div(new_h - out_h, 2, rounding_mode="floor")
    else:
        scale_x, scale_y = out_w / in_w, out_h / in_h
        shift_x = shift_y = torch.zeros((), dtype=dtype, device=device)
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack(
        [x1 * scale_x - shift_x, y1 * scale_y - shift_y, x2 * scale_x - shift_x, y2 * scale_y - shift_y], dim=-1
    )


def resize_bounding_boxes(bounding_boxes, bounding_box_format, input_size, target_size, mode):
    """The ``{"boxes", "labels"}`` dict of an image resized from ``input_size`` to
    ``target_size``: boxes moved and clipped to the new image (labels of boxes left with no
    area become ``-1``); padding boxes (all ``-1`` or all ``0``) become zeros.
    """
    result = dict(bounding_boxes)
    boxes = convert_to_tensor(result["boxes"])
    if not boxes.is_floating_point():
        boxes = boxes.float()
    padding = (boxes == -1).all(-1) | (boxes == 0).all(-1)
    height, width = input_size
    result["boxes"] = convert_format(boxes, bounding_box_format, "xyxy", height=height, width=width, dtype=boxes.dtype)
    result["boxes"] = _xyxy_after_resize(result["boxes"], input_size, target_size, mode)
    result = clip_to_image_size(result, height=target_size[0], width=target_size[1])
    result["boxes"] = torch.where(padding.unsqueeze(-1), torch.zeros_like(result["boxes"]), result["boxes"])
    result["boxes"] = convert_format(
        result["boxes"], "xyxy", bounding_box_format, height=target_size[0], width=target_size[1],
        dtype=result["boxes"].dtype,
    )
    return result
