"""``RandomGrayscale``: turn a random subset of the images gray."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    is_number,
    per_image,
)
from lamina.ops.image import rgb_to_grayscale
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomGrayscale(BaseImagePreprocessingLayer):
    """Randomly converts images to grayscale during training.

    Each image is replaced, with probability ``factor``, by its luma
    ``0.2989 R + 0.5870 G + 0.1140 B`` repeated over the three channels, so the output keeps the
    input's shape and dtype. With ``training=False`` the images pass through.

    Args:
        factor: Probability in ``[0, 1]`` of converting an image. Defaults to 0.5.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomGrayscale(factor=1.0)
    >>> layer(np.random.rand(2, 8, 8, 3), training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not is_number(factor) or factor < 0 or factor > 1:
            raise ValueError(f"`factor` should be between 0 and 1. Received: factor={factor}")
        self.factor = factor
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        draws = torch.rand(images.shape[0], generator=self._generator(images), device=images.device)
        gray = rgb_to_grayscale(images, data_format=self.data_format)
        return torch.where(per_image(draws < self.factor), gray, images)

    def get_config(self):
        config = super().get_config()
        # Keras 3 leaves `seed` out of this layer's config; keeping it makes saved models replay
        # the same draws, and Keras's constructor accepts it.
        config.update({"factor": self.factor, "seed": self.seed})
        return config
