"""``RandomGaussianBlur``: blur some images with a Gaussian kernel of random width."""

import numbers

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    uniform,
    validate_value_range,
)
from lamina.ops.image_filters import gaussian_blur
from lamina.saving.object_registration import register_builtin


def odd_kernel_size(value, name="kernel_size"):
    """``(size_x, size_y)`` from an odd integer or a pair of odd integers."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"The `{name}` argument should be a number (or a list of two numbers) Received: {name}={value!r}"
            )
        items = tuple(value)
    else:
        items = (value, value)
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v != int(v) or v <= 0 or int(v) % 2 == 0:
            raise ValueError(f"{name} must be an odd number. Received: {name}={value!r}")
    return int(items[0]), int(items[1])


@register_builtin("keras.layers")
class RandomGaussianBlur(BaseImagePreprocessingLayer):
    """Randomly blurs images with a Gaussian kernel during training.

    Per image, a blur probability ``p`` is drawn from ``factor`` and the image is blurred with
    probability ``p``. One pair of standard deviations ``(sigma_x, sigma_y)`` is drawn from
    ``sigma`` per call (shared by the batch). The result is clipped to ``value_range``. Images
    are cast to the compute dtype; with ``training=False`` they are returned otherwise unchanged.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (probabilities in ``[0, f]``) or a pair: the
            probability of blurring each image. Defaults to ``1.0``.
        kernel_size: An odd integer or a pair ``(width, height)`` of odd integers. Defaults to 3.
        sigma: A float in ``[0, 1]`` (range ``[0, sigma]``) or a pair: the range of the kernel's
            standard deviations. Defaults to ``1.0``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomGaussianBlur(factor=0.5, kernel_size=5, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3) * 255, training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        factor=1.0,
        kernel_size=3,
        sigma=1.0,
        value_range=(0, 255),
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.kernel_size = odd_kernel_size(kernel_size)
        self.sigma = bounded_factor(sigma, bounds=(0, 1), name="sigma")
        self.value_range = validate_value_range(value_range)
        self._init_seed(seed)

    def _draw(self, images):
        """(blur-or-not ``(batch,)``, the ``(sigma_x, sigma_y)`` of this call)."""
        generator, device = self._generator(images), images.device
        batch = images.shape[0]
        probability = uniform(generator, (batch,), self.factor[0], self.factor[1], device)
        apply = torch.rand((batch,), generator=generator, device=device) < probability
        # The small offset keeps a zero draw from dividing by zero in the kernel.
        sigma = uniform(generator, (2,), self.sigma[0], self.sigma[1], device, images.dtype) + 1e-6
        return apply, sigma

    def _blur(self, images, apply, sigma):
        blurred = gaussian_blur(images, self.kernel_size, sigma, data_format=self.data_format)
        images = torch.where(apply[:, None, None, None], blurred, images)
        return torch.clamp(images, self.value_range[0], self.value_range[1])

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        return self._blur(images, *self._draw(images))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "factor": self.factor,
                "kernel_size": self.kernel_size,
                "sigma": self.sigma,
                "value_range": self.value_range,
                "seed": self.seed,
            }
        )
        return config
