"""Image warps as ``keras.ops.image`` defines them: ``map_coordinates``, ``perspective_transform``
and ``elastic_transform``.

Sampling follows ``jax.scipy.ndimage.map_coordinates`` (Keras's JAX backend defines the
numbers): order 0 rounds half away from zero, order 1 is multilinear, and with
``fill_mode="constant"`` every out-of-range neighbour contributes ``fill_value``.
"""

import itertools

import torch

from lamina.backend.config import standardize_data_format
from lamina.backend.random import make_generator
from lamina.ops._image_math import (
    AFFINE_TRANSFORM_FILL_MODES,
    AFFINE_TRANSFORM_INTERPOLATIONS,
    check_images_rank,
    fix_index,
    interpolation_nodes,
    round_half_away_from_zero,
)
from lamina.ops.image_filters import gaussian_blur

__all__ = ["elastic_transform", "map_coordinates", "perspective_transform"]

MAP_COORDINATES_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_ORDERS = {"nearest": 0, "bilinear": 1}


def _finish(out, dtype):
    if not dtype.is_floating_point:
        out = round_half_away_from_zero(out)
    return out.to(dtype)


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0.0):
    """Sample ``inputs`` at fractional ``coordinates`` (one row of indices per input axis).

    Args:
        inputs: Tensor of any rank ``n``.
        coordinates: Array of shape ``(n, *output_shape)``; ``coordinates[i]`` indexes axis ``i``.
        order: ``0`` (nearest) or ``1`` (linear).
        fill_mode: ``"constant"``, ``"nearest"``, ``"wrap"``, ``"mirror"`` or ``"reflect"``:
            how coordinates outside the input are read.
        fill_value: The value read outside the input with ``fill_mode="constant"``.

    Returns:
        Tensor of shape ``output_shape`` and the dtype of ``inputs``.

    Example:

    >>> x = np.arange(9.0).reshape(3, 3)
    >>> lamina.ops.image.map_coordinates(x, [[0.5, 2.0], [0.5, 1.0]], order=1)
    tensor([2., 7.], dtype=torch.float64)
    """
    inputs = torch.as_tensor(inputs)
    coordinates = torch.as_tensor(coordinates, device=inputs.device)
    if coordinates.dim() < 2:
        raise ValueError(
            "Invalid coordinates rank: expected at least rank 2. "
            f"Received input with shape: {tuple(coordinates.shape)}"
        )
    if coordinates.shape[0] != inputs.dim():
        raise ValueError(
            "First dim of `coordinates` must be the same as the rank of `inputs`. "
            f"Received inputs with shape: {tuple(inputs.shape)} and coordinate leading dim of "
            f"{coordinates.shape[0]}"
        )
    if fill_mode not in MAP_COORDINATES_FILL_MODES:
        raise ValueError(
            f"Invalid value for argument `fill_mode`. Expected one of {MAP_COORDINATES_FILL_MODES}. "
            f"Received: fill_mode={fill_mode!r}"
        )
    if order not in (0, 1):
        raise ValueError(f"Invalid value for argument `order`. Expected one of [0, 1]. Received: order={order!r}")
    if not coordinates.is_floating_point():
        coordinates = coordinates.to(torch.float32)
    compute = inputs if inputs.is_floating_point() else inputs.to(coordinates.dtype)
    interpolation = "nearest" if order == 0 else "bilinear"
    nodes = [interpolation_nodes(c, interpolation) for c in coordinates.unbind(0)]
    fill = torch.as_tensor(fill_value, dtype=inputs.dtype).to(compute.dtype)
    out = None
    for corner in itertools.product(*nodes):
        index = tuple(fix_index(i, size, fill_mode) for (i, _), size in zip(corner, inputs.shape))
        values = compute[index]
        if fill_mode == "constant":
            valid = torch.ones_like(values, dtype=torch.bool)
            for (i, _), size in zip(corner, inputs.shape):
                valid &= (i >= 0) & (i < size)
            values = torch.where(valid, values, fill.to(values.device))
        for _, weight in corner:
            if weight is not None:
                values = weight * values
        out = values if out is None else out + values
    return _finish(out, inputs.dtype)


def _sample_nhwc(x, y_in, x_in, interpolation, fill_mode, fill_value):
    """Sample a ``(batch, height, width, channels)`` batch at per-image ``(batch, H, W)`` grids."""
    batch, height, width, _ = x.shape
    compute = x if x.is_floating_point() else x.to(y_in.dtype)
    fill = torch.as_tensor(fill_value, dtype=x.dtype).to(compute.dtype).to(x.device)
    batch_index = torch.arange(batch, device=x.device)[:, None, None]
    out = None
    for y_index, y_weight in interpolation_nodes(y_in, interpolation):
        for x_index, x_weight in interpolation_nodes(x_in, interpolation):
            values = compute[batch_index, fix_index(y_index, height, fill_mode), fix_index(x_index, width, fill_mode)]
            if fill_mode == "constant":
                valid = (y_index >= 0) & (y_index < height) & (x_index >= 0) & (x_index < width)
                values = torch.where(valid[..., None], values, fill)
            if y_weight is not None:
                values = (y_weight * x_weight)[..., None].to(compute.dtype) * values
            out = values if out is None else out + values
    return _finish(out, x.dtype)


def _as_nhwc(images, data_format):
    """(4D channels_last batch, function restoring the caller's layout and rank)."""
    batched = images.dim() == 4
    x = images if batched else images.unsqueeze(0)
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)

    def restore(out):
        if data_format == "channels_first":
            out = out.permute(0, 3, 1, 2)
        return out if batched else out.squeeze(0)

    return x, restore


def _check_interpolation(interpolation):
    if interpolation not in AFFINE_TRANSFORM_INTERPOLATIONS:
        raise ValueError(
            f"Invalid value for argument `interpolation`. Expected one of {AFFINE_TRANSFORM_INTERPOLATIONS}. "
            f"Received: interpolation={interpolation!r}"
        )


def _check_points(points, name):
    if points.dim() not in (2, 3) or tuple(points.shape[-2:]) != (4, 2):
        raise ValueError(
            f"Invalid {name} shape: expected (4, 2) for a single image or (N, 4, 2) for a batch. "
            f"Received shape: {tuple(points.shape)}"
        )


def homography_matrices(start_points, end_points):
    """``(batch, 8)`` projective maps taking each of the 4 ``end_points`` to its ``start_point``.

    ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps output ``(x, y)`` to input
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``.
    """
    # Solved in float64: the 8x8 systems are poorly scaled for large images.
    start = start_points.to(torch.float64)
    end = end_points.to(torch.float64)
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    zeros, ones = torch.zeros_like(ex), torch.ones_like(ex)
    x_rows = torch.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], dim=-1)
    y_rows = torch.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], dim=-1)
    system = torch.cat([x_rows, y_rows], dim=1)
    target = torch.cat([sx, sy], dim=-1).unsqueeze(-1)
    return torch.linalg.solve(system, target).squeeze(-1).to(torch.float32)


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0, data_format=None):
    """Warp images so that the four ``start_points`` move to the ``end_points``.

    Points are ``(x, y)`` pixel coordinates, e.g. the corners
    ``[[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]``. Each output pixel samples the input
    through the homography taking ``end_points`` back to ``start_points``; samples outside the
    image read ``fill_value``.

    Args:
        images: Tensor of rank 3 (one image) or 4 (a batch).
        start_points: Array of shape ``(4, 2)`` or ``(batch, 4, 2)``.
        end_points: Array of the same shape as ``start_points``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_value: The value of samples outside the image.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The warped images, same shape and dtype.

    Example:

    >>> x = np.random.random((2, 8, 8, 3))
    >>> corners = np.array([[0, 0], [7, 0], [0, 7], [7, 7]], "float32")
    >>> lamina.ops.image.perspective_transform(x, corners, corners * 0.9).shape
    torch.Size([2, 8, 8, 3])
    """
    data_format = standardize_data_format(data_format)
    _check_interpolation(interpolation)
    images = torch.as_tensor(images)
    check_images_rank(images)
    start_points = torch.as_tensor(start_points, device=images.device)
    end_points = torch.as_tensor(end_points, device=images.device)
    _check_points(start_points, "start_points")
    _check_points(end_points, "end_points")
    if start_points.shape != end_points.shape:
        raise ValueError(
            "start_points and end_points must have the same shape. "
            f"Received start_points.shape={tuple(start_points.shape)}, end_points.shape={tuple(end_points.shape)}"
        )
    if start_points.dim() == 2:
        start_points, end_points = start_points.unsqueeze(0), end_points.unsqueeze(0)
    x, restore = _as_nhwc(images, data_format)
    _, height, width, _ = x.shape
    m = homography_matrices(start_points, end_points)[:, :, None, None]
    rows = torch.arange(height, dtype=torch.float32, device=x.device)[:, None]
    cols = torch.arange(width, dtype=torch.float32, device=x.device)[None, :]
    denominator = m[:, 6] * cols + m[:, 7] * rows + 1.0
    x_in = (m[:, 0] * cols + m[:, 1] * rows + m[:, 2]) / denominator
    y_in = (m[:, 3] * cols + m[:, 4] * rows + m[:, 5]) / denominator
    return restore(_sample_nhwc(x, y_in, x_in, interpolation, "constant", fill_value))


def elastic_transform(
    images,
    alpha=20.0,
    sigma=5.0,
    interpolation="bilinear",
    fill_mode="reflect",
    fill_value=0.0,
    seed=None,
    data_format=None,
):
    """Displace every pixel by smoothed random noise (an elastic deformation).

    Per image, two fields of standard normal noise scaled by ``sigma`` are blurred with a
    Gaussian of standard deviation ``sigma`` (kernel size ``int(6 * sigma) | 1``); the output
    pixel ``(x, y)`` samples the input at ``(x + alpha * dx, y + alpha * dy)``.

    Args:
        images: Float tensor of rank 3 (one image) or 4 (a batch).
        alpha: Float, the displacement strength.
        sigma: Float, the smoothness of the displacement field.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: ``"constant"``, ``"nearest"``, ``"wrap"``, ``"mirror"`` or ``"reflect"``.
        fill_value: The value outside the image with ``fill_mode="constant"``.
        seed: An integer, a ``torch.Generator`` or ``None`` (a fresh seed).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The deformed images, same shape and dtype.

    Example:

    >>> x = np.random.random((2, 16, 16, 3)).astype("float32")
    >>> lamina.ops.image.elastic_transform(x, alpha=5.0, sigma=2.0, seed=1).shape
    torch.Size([2, 16, 16, 3])
    """
    data_format = standardize_data_format(data_format)
    _check_interpolation(interpolation)
    if fill_mode not in AFFINE_TRANSFORM_FILL_MODES:
        raise ValueError(
            f"Invalid value for argument `fill_mode`. Expected one of {AFFINE_TRANSFORM_FILL_MODES}. "
            f"Received: fill_mode={fill_mode!r}"
        )
    images = torch.as_tensor(images)
    check_images_rank(images)
    x, restore = _as_nhwc(images, data_format)
    batch, height, width, _ = x.shape
    dtype = x.dtype if x.is_floating_point() else torch.float32
    generator = seed if isinstance(seed, torch.Generator) else make_generator(seed, device=x.device)
    sigma = float(sigma)
    size = int(6 * sigma) | 1
    noise = torch.randn((batch, height, width, 2), generator=generator, device=x.device, dtype=dtype) * sigma
    # The two fields are blurred as the two channels of one image batch.
    field = gaussian_blur(noise, kernel_size=(size, size), sigma=(sigma, sigma), data_format="channels_last")
    rows = torch.arange(height, dtype=dtype, device=x.device)[:, None]
    cols = torch.arange(width, dtype=dtype, device=x.device)[None, :]
    x_in = cols + alpha * field[..., 0]
    y_in = rows + alpha * field[..., 1]
    return restore(_sample_nhwc(x, y_in, x_in, interpolation, fill_mode, fill_value))
