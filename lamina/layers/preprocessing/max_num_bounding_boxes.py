"""``MaxNumBoundingBoxes``: give every image the same number of bounding boxes."""

import numbers

import torch.nn.functional as F

from lamina.layers.preprocessing.base_image_preprocessing_layer import BaseImagePreprocessingLayer
from lamina.saving.object_registration import register_builtin


def _fixed_count(values, count, fill_value):
    """Truncate or pad axis 1 of ``values`` to ``count`` entries, padding with ``fill_value``."""
    values = values[:, :count]
    missing = count - values.shape[1]
    if missing > 0:
        values = F.pad(values, [0, 0] * (values.dim() - 2) + [0, missing], value=fill_value)
    return values


@register_builtin("keras.layers")
class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Makes the number of bounding boxes per image the same, ``max_number``.

    Takes a dict ``{"images": ..., "bounding_boxes": {"boxes": (batch, n, 4), "labels":
    (batch, n)}}``: boxes and labels beyond ``max_number`` are dropped and missing ones are
    padded with ``fill_value``, so that batches of images with different box counts stack.
    Images (and plain image inputs) pass through, cast to the compute dtype; so do the boxes.

    Args:
        max_number: Integer, the number of boxes per image.
        fill_value: Integer, the value of padded boxes and labels. Defaults to ``-1``.
        bounding_box_format: The boxes' format (e.g. ``"xyxy"``); required when boxes are given.

    Input shape:
        Images, or a dict of ``"images"`` and ``"bounding_boxes"``.

    Output shape:
        Same structure, with ``max_number`` boxes per image.

    Example:

    >>> layer = lamina.layers.MaxNumBoundingBoxes(4, bounding_box_format="xyxy")
    >>> boxes = {"boxes": np.ones((2, 3, 4)), "labels": np.ones((2, 3))}
    >>> out = layer({"images": np.zeros((2, 8, 8, 3)), "bounding_boxes": boxes})
    >>> tuple(out["bounding_boxes"]["boxes"].shape)
    (2, 4, 4)
    """

    def __init__(self, max_number, fill_value=-1, bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("max_number", max_number), ("fill_value", fill_value)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
                raise ValueError(f"Argument `{name}` must be an integer. Received: {name}={value!r}")
        if max_number <= 0:
            raise ValueError(f"Argument `max_number` must be positive. Received: max_number={max_number!r}")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)
        self.bounding_box_format = bounding_box_format

    def call(self, inputs, training=True):
        if not isinstance(inputs, dict):
            self._check_rank(inputs.shape)
            return self._cast(inputs)
        outputs = dict(inputs)
        if "images" in inputs:
            self._check_rank(inputs["images"].shape)
            outputs["images"] = self._cast(inputs["images"])
        if "bounding_boxes" in inputs:
            if not self.bounding_box_format:
                raise ValueError(
                    f"Layer '{self.name}' was given 'bounding_boxes' but no `bounding_box_format`. Pass e.g. "
                    "`bounding_box_format='xyxy'` to the layer."
                )
            boxes = dict(inputs["bounding_boxes"])
            extra = set(boxes) - {"boxes", "labels"}
            if extra or "boxes" not in boxes or "labels" not in boxes:
                raise ValueError(
                    f"Layer '{self.name}' expected `bounding_boxes` with keys 'boxes' and 'labels'. "
                    f"Received keys: {sorted(boxes)}"
                )
            if boxes["boxes"].dim() != 3 or boxes["boxes"].shape[-1] != 4:
                raise ValueError(
                    f"Layer '{self.name}' expected boxes of shape (batch, num_boxes, 4). "
                    f"Received: boxes.shape={tuple(boxes['boxes'].shape)}"
                )
            boxes["boxes"] = _fixed_count(self._cast(boxes["boxes"]), self.max_number, self.fill_value)
            boxes["labels"] = _fixed_count(boxes["labels"], self.max_number, self.fill_value)
            outputs["bounding_boxes"] = boxes
        return outputs

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, dict):
            return super().compute_output_shape(input_shape)
        shapes = dict(input_shape)
        if "bounding_boxes" in shapes:
            boxes = dict(shapes["bounding_boxes"])
            for key in ("boxes", "labels"):
                if key in boxes:
                    boxes[key] = (boxes[key][0], self.max_number) + tuple(boxes[key][2:])
            shapes["bounding_boxes"] = boxes
        return shapes

    def get_config(self):
        config = super().get_config()
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        # Keras leaves `fill_value` out of its config (so reloading resets it to -1); kept here.
        config.update({"max_number": self.max_number, "fill_value": self.fill_value})
        return config
