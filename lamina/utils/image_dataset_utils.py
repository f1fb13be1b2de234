"""``image_dataset_from_directory``: a labelled image dataset from a folder of class subfolders.

Images are decoded with Pillow (the optional ``image`` extra: ``pip install lamina[image]``) and
resized with ``lamina.ops.image.resize``, the same arithmetic as ``keras.ops.image.resize``.
"""

import numpy as np

from lamina.backend.config import standardize_data_format
from lamina.utils import dataset_utils

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
_TF_ONLY_INTERPOLATIONS = ("area", "gaussian", "mitchellcubic")
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def _pil_image():
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            "Reading images needs Pillow, which is not installed. Install it with "
            "`pip install pillow` (or `pip install lamina[image]`)."
        ) from e
    return Image


def _decode_image(path, num_channels):
    """The image at ``path`` as a float32 ``(height, width, num_channels)`` array (first frame of
    an animation; converted to grayscale / RGB / RGBA as asked)."""
    image_module = _pil_image()
    with image_module.open(path) as img:
        mode = _MODES[num_channels]
        if img.mode != mode and not (num_channels == 1 and img.mode in ("I;16", "I")):
            img = img.convert(mode)
        array = np.asarray(img, dtype="float32")
    return array[..., None] if array.ndim == 2 else array


def _image_loader(image_size, num_channels, interpolation, data_format, crop_to_aspect_ratio, pad_to_aspect_ratio):
    # Upward on purpose (one of the two of issue 12): the dataset builder is `keras.utils` API and
    # resizes with the ops' image math (the only copy); imported when a dataset is made.
    from lamina.ops import image as image_ops

    def load(path):
        array = _decode_image(path, num_channels)
        resized = image_ops.resize(
            array, image_size, interpolation=interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio,
            pad_to_aspect_ratio=pad_to_aspect_ratio, data_format="channels_last",
        )
        resized = resized.numpy() if hasattr(resized, "numpy") else np.asarray(resized)
        return resized.transpose(2, 0, 1) if data_format == "channels_first" else resized

    return load


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                                 data_format=None, format="tf", verbose=True):
    """A ``lamina.utils.Dataset`` of images (and labels) read from ``directory``.

    With ``labels="inferred"`` the folder holds one subfolder per class::

        main_directory/
        ...class_a/  a_image_1.jpg  a_image_2.jpg
        ...class_b/  b_image_1.jpg  b_image_2.jpg

    Supported formats: bmp, gif (first frame), jpeg, png. Batches are float32 CPU torch tensors
    ``(batch_size, height, width, channels)`` (``channels_first``: channels before height).

    Args:
        directory: The folder of images.
        labels: ``"inferred"`` (from the subfolders), ``None``, or a list of integer labels,
            one per image file in sorted path order.
        label_mode: ``"int"`` (int32), ``"categorical"`` (one-hot float32), ``"binary"`` (float32
            of shape ``(batch, 1)``, two classes) or ``None`` (images only).
        class_names: With inferred labels, the subfolders to use, in label order.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (1, 3 or 4 channels).
        batch_size: Images per batch; ``None`` yields single images.
        image_size: ``(height, width)`` (or one int) that images are resized to.
        shuffle: Shuffle the files (once, from ``seed``) and the training data every epoch.
        seed: Seed of the shuffles; needed with ``validation_split`` and ``shuffle``.
        validation_split: Fraction of the files kept for validation (the last ones after the
            seeded shuffle, as in Keras).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns both datasets).
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"lanczos3"`` or
            ``"lanczos5"``.
        follow_links: Follow symbolic links to subfolders.
        crop_to_aspect_ratio: Crop the largest centred window of the target aspect ratio first.
        pad_to_aspect_ratio: Pad the image to the target aspect ratio first (with zeros).
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to the global setting.
        format: ``"tf"`` (Keras's default) or ``"grain"``; both give a ``lamina.utils.Dataset``.
        verbose: Print the number of files and classes found.

    Returns:
        A ``lamina.utils.Dataset`` with ``class_names`` and ``file_paths`` attributes, or a list of
        two (training, validation) with ``subset="both"``.

    Example:

    >>> train_ds, val_ds = lamina.utils.image_dataset_from_directory(
    ...     "flowers/", validation_split=0.2, subset="both", seed=1337, image_size=(180, 180))
    >>> model.fit(train_ds, validation_data=val_ds, epochs=5)
    """
    dataset_utils.check_labels_arg(labels, label_mode, class_names, "image")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}
    if color_mode not in channels:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. Received: color_mode={color_mode}')
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation in _TF_ONLY_INTERPOLATIONS:
        raise ValueError(
            f"`interpolation={interpolation!r}` is a TensorFlow-only resize method that Lamina does "
            f"not implement; use one of {_INTERPOLATIONS}."
        )
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    _pil_image()
    load = _image_loader(tuple(int(s) for s in image_size), channels[color_mode], interpolation,
                         standardize_data_format(data_format), crop_to_aspect_ratio, pad_to_aspect_ratio)
    return dataset_utils.directory_datasets(
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
        subset, follow_links, verbose, ALLOWLIST_FORMATS, "image", load,
    )
