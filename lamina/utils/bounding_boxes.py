"""``keras.utils.bounding_boxes``: converting, clipping, moving and comparing bounding boxes.

The math is in ``lamina.ops.bounding_boxes``; see there for the supported box formats.
"""

from lamina.ops.bounding_boxes import (
    affine_transform,
    clip_to_image_size,
    compute_ciou,
    compute_iou,
    convert_format,
    crop,
    decode_deltas_to_boxes,
    encode_box_to_deltas,
    pad,
)

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
