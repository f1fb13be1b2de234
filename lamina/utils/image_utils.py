"""Image files to arrays and back (``keras.utils.load_img`` and friends), through Pillow.

Pillow is an optional dependency (``pip install pillow``, or the ``lamina[image]`` extra); it is
imported when one of these functions first needs it, so ``import lamina`` works without it.
"""

import io
import pathlib
import warnings

import numpy as np

from lamina.backend import config

# Keras's names for Pillow's resampling filters.
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_COLOR_MODES = ("grayscale", "rgb", "rgba")


def _pil_image(caller):
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            f"`{caller}` requires the Pillow package, which could not be imported ({e}). "
            "Install it with `pip install pillow` (or `pip install lamina[image]`)."
        ) from e
    return Image


def _resampling_filter(image_module, interpolation):
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Invalid `interpolation`: {interpolation!r}. Supported methods are "
            f"{', '.join(_INTERPOLATIONS)}."
        )
    # Pillow >= 9.1 moved the filters into `Image.Resampling`.
    filters = getattr(image_module, "Resampling", image_module)
    return getattr(filters, interpolation.upper())


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """Convert a 3D array (height, width, channels) into a PIL Image.

    Args:
        x: Array-like image with 1 (grayscale), 3 (RGB) or 4 (RGBA) channels.
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``keras.config.image_data_format()``.
        scale: Whether to rescale the values so that the smallest becomes 0 and the largest 255.
        dtype: Dtype the array is converted to first; ``None`` means ``keras.config.floatx()``.

    Returns:
        A PIL Image (mode ``"L"``, ``"RGB"`` or ``"RGBA"``; ``"I"`` for one channel with values
        above 255).

    Example:

    >>> img = keras.utils.array_to_img(np.random.random((100, 100, 3)))
    >>> img.size
    (100, 100)
    """
    data_format = config.standardize_data_format(data_format)
    dtype = config.floatx() if dtype is None else dtype
    image_module = _pil_image("array_to_img")
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 3:
        raise ValueError(
            f"Expected an image array of rank 3 (a single image). Received shape: {x.shape}"
        )
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x /= peak
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        # Values beyond 8 bits (e.g. 16-bit grayscale) keep their range in a 32-bit image.
        if np.max(x) > 255:
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(
        f"Unsupported number of channels: {channels}. Expected 1, 3 or 4 (shape {x.shape})."
    )


def img_to_array(img, data_format=None, dtype=None):
    """Convert a PIL Image into a 3D NumPy array.

    Args:
        img: A PIL Image (or anything ``np.asarray`` turns into a 2D or 3D array).
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``keras.config.image_data_format()``.
        dtype: Dtype of the result; ``None`` means ``keras.config.floatx()``.

    Returns:
        A 3D array; a grayscale image gets a channel axis of size 1.

    Example:

    >>> img = keras.utils.array_to_img(np.random.random((100, 100, 3)))
    >>> keras.utils.img_to_array(img).shape
    (100, 100, 3)
    """
    data_format = config.standardize_data_format(data_format)
    dtype = config.floatx() if dtype is None else dtype
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        shape = (1,) + x.shape if data_format == "channels_first" else x.shape + (1,)
        x = x.reshape(shape)
    else:
        raise ValueError(f"Unsupported image shape: {x.shape}. Expected a 2D or 3D image.")
    return x


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save an image stored as an array to a path or file object.

    Args:
        path: A path, or a file object (then give ``file_format``).
        x: The image array (see ``array_to_img``).
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``keras.config.image_data_format()``.
        file_format: Format to write (e.g. ``"png"``); by default taken from the file name's
            extension.
        scale: Whether to rescale the values to ``[0, 255]`` (see ``array_to_img``).
        **kwargs: Passed on to ``PIL.Image.Image.save``.

    Example:

    >>> keras.utils.save_img("image.png", np.random.random((32, 32, 3)))
    """
    data_format = config.standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn(
            "The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2
        )
        img = img.convert("RGB")
    img.save(path, format=file_format or None, **kwargs)


def load_img(
    path,
    color_mode="rgb",
    target_size=None,
    interpolation="nearest",
    keep_aspect_ratio=False,
    grayscale=False,
):
    """Load an image file into a PIL Image.

    Args:
        path: Path to the image file (``str``, ``bytes`` or ``pathlib.Path``), or an ``io.BytesIO``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``: the mode the image is converted to.
            Grayscale images of 16 or 32 bits keep their depth.
        target_size: ``None`` (keep the file's size) or ``(height, width)``.
        interpolation: Resampling filter used when resizing: ``"nearest"``, ``"bilinear"``,
            ``"bicubic"``, ``"hamming"``, ``"box"`` or ``"lanczos"``.
        keep_aspect_ratio: Resize without distorting the aspect ratio: the largest centered crop
            with the target's aspect ratio is resized.
        grayscale: Deprecated Keras 2 spelling of ``color_mode="grayscale"`` (Keras 2 took it as
            the second positional argument, which is accepted too).

    Returns:
        A PIL Image.

    Example:

    >>> image = keras.utils.load_img(image_path, target_size=(224, 224))
    >>> batch = np.array([keras.utils.img_to_array(image)])
    >>> predictions = model.predict(batch)
    """
    image_module = _pil_image("load_img")
    if isinstance(color_mode, bool):  # Keras 2: load_img(path, grayscale, ...)
        color_mode, grayscale = "rgb", color_mode
    if grayscale:
        warnings.warn(
            'The `grayscale` argument is deprecated. Please use `color_mode="grayscale"`.',
            DeprecationWarning,
            stacklevel=2,
        )
        color_mode = "grayscale"
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            f"Invalid `color_mode`: {color_mode!r}. Expected one of {', '.join(_COLOR_MODES)}."
        )
    if isinstance(path, io.BytesIO):
        img = image_module.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        # Read the bytes first so the file is closed before returning.
        with open(path, "rb") as f:
            img = image_module.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"`path` should be path-like or io.BytesIO, not {type(path)}.")

    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif img.mode != color_mode.upper():
        img = img.convert(color_mode.upper())

    if target_size is None:
        return img
    size = (target_size[1], target_size[0])  # Pillow sizes are (width, height).
    if img.size == size:
        return img
    resample = _resampling_filter(image_module, interpolation)
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    target_width, target_height = size
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return img.resize(size, resample, box=[left, top, left + crop_width, top + crop_height])
