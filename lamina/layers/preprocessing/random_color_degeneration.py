"""``RandomColorDegeneration``: blend each image toward its grayscale version."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    sorted_value_range,
    uniform,
)
from lamina.ops.image import rgb_to_grayscale
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomColorDegeneration(BaseImagePreprocessingLayer):
    """Randomly reduces the colour of images during training.

    Each image becomes ``x + f * (gray(x) - x)``, clipped to ``value_range``, with ``f`` drawn
    per image from ``factor``: 0 keeps the image, 1 makes it fully gray. With ``training=False``
    the images pass through.

    Args:
        factor: A float ``f`` in ``[-1, 1]`` (range ``[-|f|, |f|]``, as Keras 3) or a pair
            ``(lower, upper)``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images (3 channels).

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomColorDegeneration((0.2, 0.8), seed=0)
    >>> layer(np.random.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor)
        self.value_range = sorted_value_range(value_range)
        self._init_seed(seed)

    def _check_channels(self, shape):
        channels = shape[-1] if self.data_format == "channels_last" else shape[-3]
        if channels is not None and channels != 3:
            raise ValueError(
                f"Layer '{self.name}' expects images with 3 channels. Received: inputs.shape={tuple(shape)}"
            )

    def _transform(self, images, training):
        self._check_channels(images.shape)
        if not training:
            return images
        images = self._cast(images)
        factor = uniform(
            self._generator(images), (images.shape[0], 1, 1, 1), self.factor[0], self.factor[1],
            images.device, images.dtype,
        )
        gray = rgb_to_grayscale(images, data_format=self.data_format)
        return torch.clamp(images + factor * (gray - images), self.value_range[0], self.value_range[1])

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        self._check_channels(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
