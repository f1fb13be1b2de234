"""Random and fixed transformations of single images (Keras 2 ``keras.preprocessing.image``).

Keras 2 resamples with ``scipy.ndimage.affine_transform``; ``_resample`` reproduces its spline
order 0 and 1 interpolation and its boundary modes in NumPy, so the results match without SciPy.
The random draws use ``np.random`` in Keras's order: seeding NumPy gives Keras's transforms.
"""

import numpy as np

from lamina.utils import image_utils

_FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def flip_axis(x, axis):
    """Reverse an array along ``axis``."""
    return np.flip(np.asarray(x), axis)


def _map_coordinate(c, size, mode):
    """SciPy's mapping of sample coordinates outside ``[0, size - 1]`` back into range.

    "nearest" coordinates stay where they are: their interpolation taps are clamped instead.

    Returns the mapped coordinates and a mask of those that take the constant ``cval`` instead.
    """
    c = c.copy()
    outside = np.zeros(c.shape, dtype=bool)
    if mode == "nearest":
        return c, outside
    if size <= 1:
        if mode == "constant":
            outside = (c < 0) | (c > size - 1)
        c[(c < 0) | (c > size - 1)] = 0
        return c, outside
    low, high = c < 0, c > size - 1
    if mode == "constant":
        outside = low | high
    elif mode == "reflect":
        # Half-sample symmetric: (d c b a | a b c d | d c b a), period 2 * size.
        period = 2 * size
        v = c[low]
        far = v < -period
        v[far] += period * np.trunc(-v[far] / period)
        c[low] = np.where(v < -size, v + period, -v - 1)
        v = c[high]
        v -= period * np.trunc(v / period)
        c[high] = np.where(v >= size, period - v - 1, v)
    elif mode == "wrap":  # SciPy's 'wrap' has period size - 1 (first and last samples overlap).
        period = size - 1
        v = c[low]
        c[low] = v + period * (np.trunc(-v / period) + 1)
        v = c[high]
        c[high] = v - period * np.trunc(v / period)
    return c, outside


def _edge_index(idx, size, mode):
    # Taps of the interpolation that fall outside the image: clamped in "nearest" mode, reflected
    # (half-sample) in "reflect" mode, mirrored (whole-sample) otherwise, as SciPy does.
    if size <= 1:
        return np.zeros_like(idx)
    if mode == "nearest":
        return np.clip(idx, 0, size - 1)
    if mode == "reflect":
        period = 2 * size
        idx = idx % period
        return np.where(idx >= size, period - idx - 1, idx)
    period = 2 * size - 2
    low, high = idx < 0, idx >= size
    v = idx[low]
    v = period * (-v // period) + v
    idx[low] = np.where(v <= 1 - size, v + period, -v)
    v = idx[high]
    v -= period * (v // period)
    idx[high] = np.where(v >= size, period - v, v)
    return idx


def _axis_taps(c, size, mode, order):
    """Indices and weights of the samples that interpolate coordinate ``c`` along one axis."""
    c, outside = _map_coordinate(c, size, mode)
    if order == 0:
        return [_edge_index(np.floor(c + 0.5).astype(np.int64), size, mode)], [None], outside
    start = np.floor(c)
    # SciPy derives the last weight as 1 minus the others; kept for bit-identical results.
    first_weight = 1.0 - (c - start)
    start = start.astype(np.int64)
    return (
        [_edge_index(start.copy(), size, mode), _edge_index(start + 1, size, mode)],
        [first_weight, 1.0 - first_weight],
        outside,
    )


def _cast_like_scipy(t, dtype):
    if dtype.kind in "fcb":
        return t.astype(dtype)
    info = np.iinfo(dtype)
    # SciPy rounds half away from zero (half up for unsigned types) and saturates.
    if dtype.kind == "u":
        t = np.where(t > 0, np.trunc(t + 0.5), 0)
    else:
        t = np.trunc(np.where(t > 0, t + 0.5, t - 0.5))
    return np.clip(t, info.min, info.max).astype(dtype)


def _resample(channels, matrix, offset, order, mode, cval):
    """``scipy.ndimage.affine_transform(channel, matrix, offset, order, mode=mode, cval=cval)``
    for every 2D channel of ``channels`` (shape ``(C, H, W)``), spline order 0 or 1.

    The sample coordinates, taps and weights are shared by all channels and computed once.
    """
    _, rows, cols = channels.shape
    out_r, out_c = np.meshgrid(np.arange(rows, dtype=np.float64),
                               np.arange(cols, dtype=np.float64), indexing="ij")
    # Accumulated from the offset, as SciPy does, so coordinates round the same way.
    coord_r = offset[0] + out_r * matrix[0, 0] + out_c * matrix[0, 1]
    coord_c = offset[1] + out_r * matrix[1, 0] + out_c * matrix[1, 1]
    idx_r, w_r, outside_r = _axis_taps(coord_r, rows, mode, order)
    idx_c, w_c, outside_c = _axis_taps(coord_c, cols, mode, order)
    # Pixels as rows (channels last) so each tap is one gather of whole pixels.
    source = np.moveaxis(channels, 0, -1).reshape(rows * cols, -1).astype(np.float64)
    total = np.zeros(source.shape)
    # Summed in SciPy's order (row tap outer, column tap inner) for the same rounding.
    for ir, wr in zip(idx_r, w_r):
        for ic, wc in zip(idx_c, w_c):
            term = np.take(source, (ir * cols + ic).ravel(), axis=0)
            if order > 0:
                term *= wr.reshape(-1, 1)
                term *= wc.reshape(-1, 1)
            total += term
    total[(outside_r | outside_c).ravel()] = cval
    total = total.reshape(rows, cols, -1)
    return np.moveaxis(_cast_like_scipy(total, channels.dtype), -1, 0)


def transform_matrix_offset_center(matrix, x, y):
    """Conjugate a homogeneous 3x3 transform so it acts about the center of an ``x`` by ``y``
    image."""
    o_x = float(x) / 2 - 0.5
    o_y = float(y) / 2 - 0.5
    to_center = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    from_center = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(to_center, matrix), from_center)


def apply_affine_transform(
    x,
    theta=0,
    tx=0,
    ty=0,
    shear=0,
    zx=1,
    zy=1,
    row_axis=1,
    col_axis=2,
    channel_axis=0,
    fill_mode="nearest",
    cval=0.0,
    order=1,
):
    """Apply a rotation, shift, shear and zoom (about the image center) to a 3D image.

    Args:
        x: 3D NumPy array, a single image.
        theta: Rotation angle in degrees.
        tx: Shift along the row axis, in pixels.
        ty: Shift along the column axis, in pixels.
        shear: Shear angle in degrees.
        zx: Zoom factor along the row axis (values above 1 shrink the content).
        zy: Zoom factor along the column axis.
        row_axis: Index of the row axis in ``x``.
        col_axis: Index of the column axis in ``x``.
        channel_axis: Index of the channel axis in ``x`` (0 or 2).
        fill_mode: How points outside the image are filled: ``"constant"``, ``"nearest"``,
            ``"reflect"`` or ``"wrap"`` (SciPy's modes).
        cval: Fill value for ``fill_mode="constant"``.
        order: Interpolation order: 0 (nearest sample) or 1 (bilinear).

    Returns:
        The transformed image, same shape and dtype as ``x``.
    """
    if np.unique([row_axis, col_axis, channel_axis]).size != 3:
        raise ValueError("'row_axis', 'col_axis', and 'channel_axis' must be distinct")
    axes = {row_axis, col_axis, channel_axis}
    if axes != {0, 1, 2}:
        raise ValueError(f"Invalid axis' indices: {axes - {0, 1, 2}}")
    if x.ndim != 3:
        raise ValueError(f"Input arrays must be multi-channel 2D images. Received shape: {x.shape}")
    if channel_axis not in (0, 2):
        raise ValueError(
            f"`channel_axis` must be 0 or 2 (channels first or last). Received: {channel_axis}"
        )
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"Invalid `fill_mode`: {fill_mode!r}. Expected one of {_FILL_MODES}.")
    if order not in (0, 1):
        raise ValueError(
            f"Invalid interpolation `order`: {order!r}. Lamina supports 0 (nearest) and 1 "
            "(bilinear)."
        )

    # Compose in Keras's order: rotation, shift, shear, zoom.
    parts = []
    if theta != 0:
        t = np.deg2rad(theta)
        parts.append(np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        parts.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        parts.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        parts.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if not parts:
        return x
    transform = parts[0]
    for part in parts[1:]:
        transform = np.dot(transform, part)

    h, w = x.shape[row_axis], x.shape[col_axis]
    transform = transform_matrix_offset_center(transform, h, w)
    x = np.rollaxis(x, channel_axis, 0)
    if col_axis > row_axis:
        # Keras 2 swaps the matrix's two spatial coordinates in this case; so must we, to
        # transform images the same way.
        transform[:, [0, 1]] = transform[:, [1, 0]]
        transform[[0, 1]] = transform[[1, 0]]
    matrix, offset = transform[:2, :2], transform[:2, 2]
    x = _resample(x, matrix, offset, order, fill_mode, cval)
    return np.rollaxis(x, 0, channel_axis + 1)


def random_rotation(
    x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
    interpolation_order=1,
):
    """Rotate an image by a random angle drawn uniformly in ``[-rg, rg]`` degrees.

    Args:
        x: 3D NumPy array, a single image.
        rg: Rotation range, in degrees.
        row_axis, col_axis, channel_axis, fill_mode, cval: See ``apply_affine_transform``.
        interpolation_order: 0 or 1, see ``apply_affine_transform``'s ``order``.

    Returns:
        The rotated image.
    """
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(
        x, theta=theta, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
        fill_mode=fill_mode, cval=cval, order=interpolation_order,
    )


def random_shift(
    x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
    interpolation_order=1,
):
    """Shift an image by random fractions of its width and height.

    Args:
        x: 3D NumPy array, a single image.
        wrg: Width shift range, a fraction of the width.
        hrg: Height shift range, a fraction of the height.
        row_axis, col_axis, channel_axis, fill_mode, cval: See ``apply_affine_transform``.
        interpolation_order: 0 or 1.

    Returns:
        The shifted image.
    """
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(
        x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
        fill_mode=fill_mode, cval=cval, order=interpolation_order,
    )


def random_shear(
    x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
    interpolation_order=1,
):
    """Shear an image by a random angle drawn uniformly in ``[-intensity, intensity]`` degrees.

    Args:
        x: 3D NumPy array, a single image.
        intensity: Shear range, in degrees.
        row_axis, col_axis, channel_axis, fill_mode, cval: See ``apply_affine_transform``.
        interpolation_order: 0 or 1.

    Returns:
        The sheared image.
    """
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(
        x, shear=shear, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
        fill_mode=fill_mode, cval=cval, order=interpolation_order,
    )


def random_zoom(
    x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
    interpolation_order=1,
):
    """Zoom an image by random factors drawn independently for its two axes.

    Args:
        x: 3D NumPy array, a single image.
        zoom_range: ``(lower, upper)`` range of the zoom factors.
        row_axis, col_axis, channel_axis, fill_mode, cval: See ``apply_affine_transform``.
        interpolation_order: 0 or 1.

    Returns:
        The zoomed image.
    """
    if len(zoom_range) != 2:
        raise ValueError(
            f"`zoom_range` should be a tuple or list of two floats. Received: {zoom_range}"
        )
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(
        x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
        fill_mode=fill_mode, cval=cval, order=interpolation_order,
    )


def apply_channel_shift(x, intensity, channel_axis=0):
    """Add ``intensity`` to every channel, clipped to the image's original value range.

    Args:
        x: 3D NumPy array, a single image.
        intensity: The value added.
        channel_axis: Index of the channel axis.

    Returns:
        The shifted image.
    """
    x = np.rollaxis(x, channel_axis, 0)
    low, high = np.min(x), np.max(x)
    shifted = np.stack([np.clip(channel + intensity, low, high) for channel in x], axis=0)
    return np.rollaxis(shifted, 0, channel_axis + 1)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """``apply_channel_shift`` with an intensity drawn uniformly in
    ``[-intensity_range, intensity_range]``."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def apply_brightness_shift(x, brightness, scale=True):
    """Change an image's brightness with Pillow's ``ImageEnhance.Brightness``.

    Args:
        x: 3D NumPy array (channels last), a single image.
        brightness: Enhancement factor: 1 keeps the image, 0 makes it black.
        scale: Whether to rescale the result to ``[0, 255]`` (as ``array_to_img`` does). With
            ``False``, an image whose values were outside ``[0, 255]`` is mapped back to its
            original range.

    Returns:
        The adjusted image (a ``floatx()`` array).
    """
    image_utils._pil_image("apply_brightness_shift")
    from PIL import ImageEnhance

    low, high = np.min(x), np.max(x)
    out_of_8_bits = (low < 0) or (high > 255)
    img = image_utils.array_to_img(x, scale=out_of_8_bits or scale)
    img = ImageEnhance.Brightness(img).enhance(brightness)
    x = image_utils.img_to_array(img)
    if not scale and out_of_8_bits:
        x = x / 255 * (high - low) + low
    return x


def random_brightness(x, brightness_range, scale=True):
    """``apply_brightness_shift`` with a factor drawn uniformly in ``brightness_range``.

    Args:
        x: 3D NumPy array (channels last), a single image.
        brightness_range: ``(lower, upper)`` range of the factor.
        scale: See ``apply_brightness_shift``.

    Returns:
        The adjusted image.
    """
    if len(brightness_range) != 2:
        raise ValueError(
            "`brightness_range should be tuple or list of two floats. "
            f"Received: {brightness_range}"
        )
    factor = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, factor, scale)
