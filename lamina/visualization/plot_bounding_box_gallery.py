"""``plot_bounding_box_gallery``: a gallery of images with true and predicted boxes drawn."""

import numpy as np

from lamina.backend import config
from lamina.visualization._deps import check_batched, require_pyplot, to_numpy
from lamina.visualization.draw_bounding_boxes import draw_bounding_boxes
from lamina.visualization.plot_image_gallery import plot_image_gallery


def plot_bounding_box_gallery(
    images,
    bounding_box_format,
    y_true=None,
    y_pred=None,
    value_range=(0, 255),
    true_color=(0, 188, 212),
    pred_color=(255, 235, 59),
    line_thickness=2,
    font_scale=1.0,
    text_thickness=None,
    class_mapping=None,
    ground_truth_mapping=None,
    prediction_mapping=None,
    legend=False,
    legend_handles=None,
    rows=None,
    cols=None,
    data_format=None,
    **kwargs,
):
    """Draw true and predicted boxes on a batch of images and show them as a gallery.

    Args:
        images: Batch of images ``(batch, height, width, channels)`` (or channels first).
        bounding_box_format: Format of the boxes (see `draw_bounding_boxes`).
        y_true: Optional true boxes: a dict with ``"boxes"`` and ``"labels"``.
        y_pred: Optional predicted boxes (may also hold ``"confidences"``).
        value_range: Value range of ``images`` for display.
        true_color: RGB color of the true boxes.
        pred_color: RGB color of the predicted boxes.
        line_thickness: Thickness of the box lines.
        font_scale: Scale of the label text.
        text_thickness: Thickness of the label text.
        class_mapping: Dict from class id to label text, for both box sets.
        ground_truth_mapping: Mapping for the true boxes (overrides ``class_mapping``).
        prediction_mapping: Mapping for the predicted boxes (overrides ``class_mapping``).
        legend: Add a "Ground Truth" / "Prediction" legend.
        legend_handles: Custom legend handles (not together with ``legend``).
        rows: Gallery rows.
        cols: Gallery columns.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        **kwargs: Passed to `plot_image_gallery` (``path``, ``show``, ``scale``, ``dpi``...).

    Example:

    >>> lamina.visualization.plot_bounding_box_gallery(
    ...     images, "xyxy", y_true=boxes, class_mapping={0: "cat"}, path="boxes.png")
    """
    require_pyplot("plot_bounding_box_gallery")
    from matplotlib import patches

    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = data_format or config.image_data_format()
    check_batched(images)
    images = to_numpy(images)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))

    def draw(images, boxes, color, mapping):
        return draw_bounding_boxes(
            images, boxes, bounding_box_format=bounding_box_format, class_mapping=mapping,
            color=color, line_thickness=line_thickness, text_thickness=text_thickness,
            font_scale=font_scale, data_format="channels_last",
        )

    if y_true is not None:
        images = draw(images, y_true, true_color, ground_truth_mapping)
    if y_pred is not None:
        images = draw(images, y_pred, pred_color, prediction_mapping)
    if legend:
        if legend_handles:
            raise ValueError(
                "Only pass `legend` OR `legend_handles` to "
                "`lamina.visualization.plot_bounding_box_gallery()`."
            )
        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    return plot_image_gallery(
        images, value_range=value_range, legend_handles=legend_handles, rows=rows, cols=cols,
        data_format="channels_last", **kwargs,
    )
