"""``ssim``: the structural similarity index of two images, as ``keras.ops.image`` defines it."""

import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.ops._symbolic import records_keras_op

__all__ = ["ssim"]


def _gaussian_kernel(size, sigma, dtype, device):
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def _check_rank(images, name):
    if images.dim() not in (3, 4):
        raise ValueError(
            f"Invalid {name} rank: expected rank 3 (single image) or rank 4 (batch of images). "
            f"Received input with shape: {name}.shape={tuple(images.shape)}"
        )


@records_keras_op("ssim")
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """The structural similarity index (SSIM, Wang et al. 2004) of two images or batches.

    Local means, variances and the covariance are taken under a ``filter_size`` Gaussian window
    (valid positions only); the SSIM map
    ``(2 mu1 mu2 + c1)(2 sigma12 + c2) / ((mu1^2 + mu2^2 + c1)(sigma1^2 + sigma2^2 + c2))``, with
    ``c1 = (k1 * max_val)^2`` and ``c2 = (k2 * max_val)^2``, is averaged over the positions and
    the channels. 1 means identical images.

    Args:
        image1: An image ``(H, W, C)`` or a batch ``(N, H, W, C)`` (channels first with
            ``data_format="channels_first"``).
        image2: Same shape as `image1`.
        max_val: The dynamic range of the pixels (1.0 for ``[0, 1]`` images, 255 for 8-bit).
        filter_size: Size of the Gaussian window. Defaults to 11.
        filter_sigma: Standard deviation of the Gaussian window. Defaults to 1.5.
        k1: First stabilisation constant. Defaults to 0.01.
        k2: Second stabilisation constant. Defaults to 0.03.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``image_data_format()``.

    Returns:
        One SSIM value per image pair (shape ``(N,)``), or a scalar for single images, in the
        dtype of `image1`.

    Example:

    >>> image = np.random.rand(32, 32, 3).astype("float32")
    >>> float(lamina.ops.image.ssim(image, image)) > 0.99
    True
    """
    data_format = standardize_data_format(data_format)
    image1 = torch.as_tensor(image1)
    image2 = torch.as_tensor(image2, device=image1.device)
    original_dtype = image1.dtype
    compute_dtype = original_dtype if original_dtype.is_floating_point else torch.float32
    _check_rank(image1, "image1")
    _check_rank(image2, "image2")
    if image1.shape != image2.shape:
        raise ValueError(
            "`image1` and `image2` must have the same shape. Received: "
            f"image1.shape={tuple(image1.shape)}, image2.shape={tuple(image2.shape)}"
        )
    x, y = image1.to(compute_dtype), image2.to(compute_dtype)
    unbatched = x.dim() == 3
    if unbatched:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if data_format == "channels_last":
        x, y = x.movedim(-1, 1), y.movedim(-1, 1)
    batch, channels, height, width = x.shape
    if height < filter_size or width < filter_size:
        raise ValueError(
            f"Images must be at least `filter_size`={filter_size} pixels high and wide. Received: "
            f"height={height}, width={width}"
        )
    kernel = _gaussian_kernel(filter_size, filter_sigma, compute_dtype, x.device)
    kernel = kernel.reshape(1, 1, filter_size, filter_size)
    # Every channel is filtered on its own: fold the channels into the batch.
    x = x.reshape(batch * channels, 1, height, width)
    y = y.reshape(batch * channels, 1, height, width)

    def local_mean(t):
        return F.conv2d(t, kernel)

    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    mu1, mu2 = local_mean(x), local_mean(y)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = local_mean(x * x) - mu1_sq
    sigma2_sq = local_mean(y * y) - mu2_sq
    sigma12 = local_mean(x * y) - mu1_mu2
    numerator = (2.0 * mu1_mu2 + c1) * (2.0 * sigma12 + c2)
    denominator = (mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2)
    per_channel = (numerator / denominator).mean(dim=(1, 2, 3)).reshape(batch, channels)
    result = per_channel.mean(dim=-1)
    if unbatched:
        result = result.squeeze(0)
    return result.to(original_dtype)
