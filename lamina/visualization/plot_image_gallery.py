"""``plot_image_gallery``: a grid of images (with optional labels) drawn with matplotlib."""

import math

import numpy as np

from lamina.backend import config
from lamina.visualization._deps import require_pyplot, to_numpy


def _to_0_255(images, value_range):
    low, high = value_range
    if (low, high) == (0, 255):
        return images
    images = images.astype("float32")
    return (images - np.float32(low)) / (np.float32(high) - np.float32(low)) * np.float32(255)


def plot_image_gallery(
    images,
    y_true=None,
    y_pred=None,
    label_map=None,
    rows=None,
    cols=None,
    value_range=(0, 255),
    scale=2,
    path=None,
    show=None,
    transparent=True,
    dpi=60,
    legend_handles=None,
    data_format=None,
):
    """Show (or save) a batch of images as a ``rows`` x ``cols`` grid.

    Args:
        images: Batch of images ``(batch, height, width, channels)`` (or channels first).
        y_true: Optional true labels, shown as "Label: ..." titles (needs ``label_map``).
        y_pred: Optional predicted labels, shown as "Pred: ..." titles (needs ``label_map``).
        label_map: Dict from label id to label text.
        rows: Grid rows; defaults to ``ceil(sqrt(batch))``.
        cols: Grid columns; defaults to ``batch // rows``.
        value_range: Value range of ``images``, mapped to [0, 255] for display.
        scale: Size of each image in inches.
        path: Save the figure to this file instead of showing it.
        show: Show the figure with ``plt.show()``; defaults to ``path is None``.
        transparent: Save with a transparent background.
        dpi: Resolution of the saved figure.
        legend_handles: Matplotlib handles for a figure legend.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            `lamina.config.image_data_format()`.

    Returns:
        None (the figure is shown or saved and closed). With ``show=False`` and no ``path``,
        the figure stays open for the caller (``plt.gcf()``).

    Example:

    >>> lamina.visualization.plot_image_gallery(images, rows=2, cols=4, path="gallery.png")
    """
    plt = require_pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("If `y_true` or `y_pred` are provided, a `label_map` must also be provided.")
    show = show if show is not None else path is None
    data_format = data_format or config.image_data_format()
    images = to_numpy(images)
    if images.ndim != 4:
        raise ValueError(
            "`plot_images_gallery()` requires you to batch your `np.array` samples together. "
            f"Received: images.shape={images.shape}"
        )
    batch_size = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch_size)))
    cols = cols or int(math.ceil(batch_size // rows))
    if rows * cols > batch_size:
        raise ValueError(
            f"A {rows}x{cols} gallery needs {rows * cols} images; received {batch_size}."
        )
    images = images[: rows * cols]
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))

    fig, axes = plt.subplots(
        nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
        layout="tight", squeeze=True, sharex="row", sharey="col",
    )
    fig.subplots_adjust(wspace=0, hspace=0)
    axes = np.asarray(axes).reshape(rows, cols)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    images = _to_0_255(images, value_range)
    y_true = None if y_true is None else to_numpy(y_true)
    y_pred = None if y_pred is None else to_numpy(y_pred)
    for index, axis in enumerate(axes.flat):
        axis.imshow(images[index].astype("uint8"))
        axis.margins(x=0, y=0)
        axis.axis("off")
        title = []
        if y_true is not None and index < len(y_true):
            title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
        if y_pred is not None and index < len(y_pred):
            title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
        if title:
            axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()
