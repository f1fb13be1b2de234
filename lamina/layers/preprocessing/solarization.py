"""``Solarization``: invert the pixels above a random threshold, after a random brightening."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    is_number,
    sorted_value_range,
    transform_value_range,
    uniform,
)
from lamina.saving.object_registration import register_builtin

_FACTOR_ERROR = (
    "The `addition_factor` and `threshold_factor` arguments should be a number (or a list of two numbers) "
    "in the range [0, 1]. "
)


def _solarization_factor(factor, name):
    """A number ``f`` gives ``(0, f)``; a pair is sorted; every number must be in ``[0, 1]``."""
    items = tuple(factor) if isinstance(factor, (tuple, list)) else (factor,)
    if len(items) not in (1, 2) or (isinstance(factor, (tuple, list)) and len(items) != 2):
        raise ValueError(_FACTOR_ERROR + f"Received: {name}={factor!r}")
    for v in items:
        if not is_number(v) or v < 0 or v > 1:
            raise ValueError(_FACTOR_ERROR + f"Received: {name}={factor!r}")
    if len(items) == 2:
        return tuple(sorted(items))
    return (0, factor)


def solarize(images, additions, thresholds, value_range):
    """In ``0..255`` units: ``y = clip(x + additions, 0, 255)``, then ``255 - y`` where
    ``y >= thresholds`` (``additions``/``thresholds`` broadcast per image)."""
    x = transform_value_range(images, value_range, (0, 255))
    y = torch.clamp(x + additions, 0, 255)
    y = torch.where(y < thresholds, y, 255 - y)
    return transform_value_range(y, (0, 255), value_range)


@register_builtin("keras.layers")
class Solarization(BaseImagePreprocessingLayer):
    """Applies (random) solarization to images.

    With pixel values mapped to ``0..255``, each image gets a random offset added (and is
    clipped), then every value at or above a random threshold ``t`` is inverted
    (``255 - x``). The offset is drawn from ``[addition_factor[0], addition_factor[1] * 255]``
    and ``t`` from ``[threshold_factor[0], threshold_factor[1] * 255]`` (Keras scales only the
    upper bound). With the defaults (``t = 0``) every image is inverted. Images are cast to the
    compute dtype; with ``training=False`` they are returned otherwise unchanged.

    Args:
        addition_factor: A float ``f`` in ``[0, 1]`` (range ``(0, f)``) or a pair. Defaults to 0.
        threshold_factor: A float ``f`` in ``[0, 1]`` (range ``(0, f)``) or a pair. Defaults to 0.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.Solarization(threshold_factor=(0.5, 0.5))
    >>> layer(np.array([[[[100.0], [200.0]]]]), training=True).flatten().tolist()
    [100.0, 55.0]
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self._init_seed(seed)
        self.addition_factor = _solarization_factor(addition_factor, "addition_factor")
        self.threshold_factor = _solarization_factor(threshold_factor, "threshold_factor")
        self.value_range = sorted_value_range(value_range)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        generator, shape = self._generator(images), (images.shape[0], 1, 1, 1)
        additions = uniform(
            generator, shape, self.addition_factor[0], self.addition_factor[1] * 255, images.device, images.dtype
        )
        thresholds = uniform(
            generator, shape, self.threshold_factor[0], self.threshold_factor[1] * 255, images.device, images.dtype
        )
        return solarize(images, additions, thresholds, self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": self.value_range,
                "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor,
                "seed": self.seed,
            }
        )
        return config
