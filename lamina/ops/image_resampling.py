"""``scale_and_translate``: resampling with an arbitrary scale and offset per axis.

The semantics are ``keras.ops.image.scale_and_translate`` on JAX (``jax.image.scale_and_translate``):
output cell ``i`` of an axis samples the input at ``(i + 0.5 - translation) / scale - 0.5``; the
weights are the kernel at the distance to each input cell (widened by ``1 / scale`` when
antialiasing a downsample), renormalised to sum to one, and zero for a sample outside the input.
"""

import math

import torch

from lamina.ops._symbolic import records_keras_op

__all__ = ["scale_and_translate"]

_METHODS = {
    "linear": "triangle",
    "bilinear": "triangle",
    "trilinear": "triangle",
    "cubic": "keys_cubic",
    "bicubic": "keys_cubic",
    "tricubic": "keys_cubic",
    "lanczos3": "lanczos3",
    "lanczos5": "lanczos5",
}


def _kernel(name, x):
    if name == "triangle":
        return torch.clamp(1.0 - x.abs(), min=0.0)
    if name == "keys_cubic":
        # Keys' cubic convolution kernel with a = -0.5.
        near = (1.5 * x - 2.5) * x * x + 1.0
        far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
        return torch.where(x < 1.0, near, torch.where(x < 2.0, far, torch.zeros_like(x)))
    radius = 3.0 if name == "lanczos3" else 5.0
    y = radius * torch.sin(math.pi * x) * torch.sin(math.pi * x / radius)
    safe = torch.where(x != 0, math.pi**2 * x * x, torch.ones_like(x))
    value = torch.where(x > 1e-3, y / safe, torch.ones_like(x))
    return torch.where(x > radius, torch.zeros_like(x), value)


def _weight_matrix(in_size, out_size, scale, translation, kernel, antialias):
    """The ``(in_size, out_size)`` weights of one axis (scale and translation: 0-d tensors)."""
    dtype, device = scale.dtype, scale.device
    inv_scale = 1.0 / scale
    kernel_scale = torch.clamp(inv_scale, min=1.0) if antialias else 1.0
    sample = (torch.arange(out_size, dtype=dtype, device=device) + 0.5) * inv_scale
    sample = sample - translation * inv_scale - 0.5
    distance = (sample[None, :] - torch.arange(in_size, dtype=dtype, device=device)[:, None]).abs()
    weights = _kernel(kernel, distance / kernel_scale)
    total = weights.sum(dim=0, keepdim=True)
    usable = total.abs() > 1000.0 * torch.finfo(torch.float32).eps
    weights = torch.where(usable, weights / torch.where(total != 0, total, torch.ones_like(total)), 0.0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return torch.where(inside[None, :], weights, 0.0)


@records_keras_op("scale_and_translate")
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resample `images` along `spatial_dims` with the given scale and translation.

    Output cell ``i`` of a resampled axis is centred on input coordinate
    ``(i + 0.5 - translation) / scale - 0.5``. The other axes are left as they are.

    Args:
        images: A tensor of any rank (integers are computed in float32).
        output_shape: The full output shape, one entry per axis of `images` (the entries of
            axes not in `spatial_dims` are not used: those axes keep their size).
        scale: A sequence (or 1D tensor) with one scale per axis in `spatial_dims`.
        translation: A sequence (or 1D tensor) with one translation per axis in `spatial_dims`.
        spatial_dims: The axes to resample.
        method: ``"linear"``/``"bilinear"``/``"trilinear"``, ``"cubic"``/``"bicubic"``/
            ``"tricubic"``, ``"lanczos3"`` or ``"lanczos5"``.
        antialias: Whether to widen the kernel when downsampling (a low-pass filter).
            Defaults to `True`.

    Returns:
        The resampled tensor of shape `output_shape`.

    Example:

    >>> images = np.random.rand(1, 4, 4, 3).astype("float32")
    >>> out = lamina.ops.image.scale_and_translate(
    ...     images, (1, 8, 8, 3), scale=[2.0, 2.0], translation=[0.0, 0.0],
    ...     spatial_dims=(1, 2), method="linear")
    >>> out.shape
    torch.Size([1, 8, 8, 3])
    """
    if method not in _METHODS:
        raise ValueError(
            f"Invalid value for argument `method`. Expected of one {sorted(_METHODS)}. Received: "
            f"method={method}"
        )
    images = torch.as_tensor(images)
    if not (images.is_floating_point() or images.is_complex()):
        images = images.to(torch.float32)
    if len(output_shape) != images.dim():
        raise ValueError(
            "Argument `output_shape` must have one entry per axis of `images`. Received: "
            f"output_shape={tuple(output_shape)}, images.shape={tuple(images.shape)}"
        )
    spatial_dims = [int(d) % images.dim() for d in spatial_dims]
    # Only the resampled axes use `output_shape`; the others keep their size (as in JAX, where
    # e.g. a `None` batch entry of a functional graph is fine).
    output_shape = tuple(
        int(size) if axis in spatial_dims else images.shape[axis] for axis, size in enumerate(output_shape)
    )
    # The weight matrices are small: they are built on the host (a symbolic run has its images on
    # the "meta" device, where no values exist) and moved to the images' device.
    scale = _as_float_vector(scale)
    translation = _as_float_vector(translation)
    if not len(spatial_dims) == scale.shape[0] == translation.shape[0]:
        raise ValueError(
            "Arguments `scale` and `translation` must have one entry per axis in `spatial_dims`. "
            f"Received: spatial_dims={spatial_dims}, scale shape={tuple(scale.shape)}, "
            f"translation shape={tuple(translation.shape)}"
        )
    kernel = _METHODS[method]
    x = images
    for i, axis in enumerate(spatial_dims):
        weights = _weight_matrix(
            images.shape[axis], output_shape[axis], scale[i], translation[i], kernel, antialias
        ).to(device=x.device, dtype=x.dtype)
        x = torch.tensordot(x, weights, dims=([axis], [0])).movedim(-1, axis)
    return x


def _as_float_vector(value):
    value = value.detach().cpu() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    if not value.is_floating_point():
        value = value.to(torch.float32)
    return value.reshape(-1)
