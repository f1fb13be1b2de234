"""``RandomInvert``: invert a random subset of the images."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    per_image,
    uniform,
)
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomInvert(BaseImagePreprocessingLayer):
    """Randomly inverts images during training.

    Per image, a probability ``p`` is drawn from ``factor`` and, with probability ``p``, the
    pixels ``x`` become ``value_range[1] - x``. With ``training=False`` the images pass through.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (``p`` in ``[0, f]``) or a pair ``(lower, upper)``.
            Defaults to 1.0.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        seed: Integer seed of the layer's random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomInvert(factor=(1.0, 1.0), value_range=(0, 1))
    >>> layer(np.ones((1, 2, 2, 3)), training=True).sum().item()
    0.0
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.value_range = value_range
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        images = self._cast(images)
        generator, batch = self._generator(images), images.shape[0]
        probability = uniform(generator, (batch,), self.factor[0], self.factor[1], images.device)
        threshold = torch.rand(batch, generator=generator, device=images.device)
        return torch.where(per_image(threshold < probability), self.value_range[1] - images, images)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
