"""``RandomPosterization``: keep a random number of bits of each pixel."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    per_image,
    sorted_value_range,
    transform_value_range,
)
from lamina.saving.object_registration import register_builtin


def posterize(images, bits, value_range):
    """Keep the ``bits`` (``(batch,)`` ints in 1..8) high bits of each 8-bit pixel, with
    ``value_range`` mapped to ``0..255`` (truncated to integers) and back."""
    # Clamped first: float-to-uint8 casts of out-of-range values are undefined in torch.
    as_bytes = torch.clamp(transform_value_range(images, value_range, (0, 255)), 0, 255).to(torch.uint8).to(torch.int32)
    shift = per_image(8 - bits.to(torch.int32))
    kept = torch.bitwise_left_shift(torch.bitwise_right_shift(as_bytes, shift), shift)
    return transform_value_range(kept.to(images.dtype), (0, 255), value_range)


@register_builtin("keras.layers")
class RandomPosterization(BaseImagePreprocessingLayer):
    """Randomly reduces the number of bits per colour channel during training.

    Each image keeps ``b`` bits per 8-bit channel value, ``b`` drawn per image as an integer in
    ``[factor[0], factor[1])`` (``factor[0]`` when both are equal; Keras's upper bound is
    exclusive). With ``training=False`` the images pass through.

    Args:
        factor: An integer ``f`` in ``[1, 8]`` (range ``[1, f]``) or a pair ``(lower, upper)``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomPosterization((2, 2))
    >>> layer(np.full((1, 1, 1, 1), 200.0), training=True).item()
    192.0
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(1, 8))
        self.value_range = sorted_value_range(value_range)
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        images = self._cast(images)
        low, high = int(self.factor[0]), int(self.factor[1])
        batch = images.shape[0]
        if low != high:
            bits = torch.randint(low, high, (batch,), generator=self._generator(images), device=images.device)
        else:
            bits = torch.full((batch,), low, device=images.device)
        return posterize(images, bits, self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
