"""Image filters as ``keras.ops.image`` defines them: Gaussian blur and Sobel edges.

Both are per-channel (depthwise) cross-correlations with zero padding that keeps the spatial
size ("SAME" padding), run as one grouped ``conv2d`` over the whole batch.
"""

import torch
import torch.nn.functional as F

from lamina.backend.config import standardize_data_format

__all__ = ["gaussian_blur", "sobel_edges"]


def _check_rank(images, ranks=(3, 4)):
    if images.dim() not in ranks:
        expected = "rank 3 (single image) or rank 4 (batch of images)" if 3 in ranks else "rank 4 (batch of images)"
        raise ValueError(
            f"Invalid images rank: expected {expected}. "
            f"Received input with shape: images.shape={tuple(images.shape)}"
        )


def _depthwise_same(x, kernel):
    """Correlate every channel of NCHW ``x`` with the 2D ``kernel``, zero padded to "SAME"."""
    kh, kw = kernel.shape
    channels = x.shape[1]
    # "SAME" puts the extra row/column of an even kernel's padding after the image.
    top, left = (kh - 1) // 2, (kw - 1) // 2
    x = F.pad(x, (left, kw - 1 - left, top, kh - 1 - top))
    return F.conv2d(x, kernel.expand(channels, 1, kh, kw), groups=channels)


def _gaussian_1d(size, sigma, dtype, device):
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur images with a separable Gaussian kernel (zero padding, same output size).

    As in Keras, the first entries of ``kernel_size`` and ``sigma`` shape the kernel along the
    width (columns) and the second ones along the height (rows); the kernel is normalised to
    sum to one.

    Args:
        images: Float tensor of rank 3 (one image) or 4 (a batch).
        kernel_size: Pair of integers, the kernel's extent.
        sigma: Pair of floats (or a tensor of two), the standard deviations.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The blurred images, same shape and dtype.

    Example:

    >>> x = np.random.random((2, 64, 80, 3))
    >>> lamina.ops.image.gaussian_blur(x, kernel_size=(5, 5), sigma=(2.0, 2.0)).shape
    torch.Size([2, 64, 80, 3])
    """
    data_format = standardize_data_format(data_format)
    images = torch.as_tensor(images)
    _check_rank(images)
    if not images.is_floating_point():
        images = images.to(torch.float32)
    dtype, device = images.dtype, images.device
    sigma = torch.as_tensor(sigma, dtype=dtype, device=device).reshape(-1)
    if sigma.numel() == 1:
        sigma = sigma.expand(2)
    size_x, size_y = (int(s) for s in kernel_size)
    kernel = torch.outer(_gaussian_1d(size_y, sigma[1], dtype, device), _gaussian_1d(size_x, sigma[0], dtype, device))
    x = images if images.dim() == 4 else images.unsqueeze(0)
    if data_format == "channels_last":
        x = x.permute(0, 3, 1, 2)
    out = _depthwise_same(x, kernel)
    if data_format == "channels_last":
        out = out.permute(0, 2, 3, 1)
    return out if images.dim() == 4 else out.squeeze(0)


def sobel_edges(images, data_format=None):
    """Sobel gradients of each channel: a trailing axis of size 2 holds ``[dy, dx]``.

    ``dy`` correlates with ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]`` and ``dx`` with its
    transpose, with zero padding.

    Args:
        images: Float tensor of rank 4 (a batch).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        Tensor of shape ``images.shape + (2,)``.

    Example:

    >>> lamina.ops.image.sobel_edges(np.random.random((2, 8, 8, 3))).shape
    torch.Size([2, 8, 8, 3, 2])
    """
    data_format = standardize_data_format(data_format)
    images = torch.as_tensor(images)
    _check_rank(images, ranks=(4,))
    if not images.is_floating_point():
        images = images.to(torch.float32)
    x = images.permute(0, 3, 1, 2) if data_format == "channels_last" else images
    ky = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]], dtype=x.dtype, device=x.device)
    edges = [_depthwise_same(x, k) for k in (ky, ky.T)]
    if data_format == "channels_last":
        edges = [e.permute(0, 2, 3, 1) for e in edges]
    return torch.stack(edges, dim=-1)
