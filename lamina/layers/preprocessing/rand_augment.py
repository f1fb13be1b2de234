"""``RandAugment``: apply a few augmentations chosen at random from a fixed pool."""

import numbers

import torch

from lamina.layers.preprocessing._augmenters import attach_augmenters, build_augmenters
from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    sorted_value_range,
    validate_option,
)
from lamina.saving.object_registration import register_builtin


# Keras creates its sublayers in this order (solarization before posterization, unlike the pool).
_CREATION_ORDER = (
    "random_shear",
    "random_translation",
    "random_rotation",
    "random_brightness",
    "random_color_degeneration",
    "random_contrast",
    "random_sharpness",
    "solarization",
    "random_posterization",
    "auto_contrast",
    "equalization",
)


@register_builtin("keras.layers")
class RandAugment(BaseImagePreprocessingLayer):
    """RandAugment (Cubuk et al., 2019) during training.

    Each call picks ``num_ops`` augmentations (with replacement) from: shear, translation,
    rotation, brightness, colour degeneration, contrast, sharpness, posterization,
    solarization, auto-contrast and equalization, all at strength ``factor``, and applies them
    in turn to the whole batch. Images are cast to the compute dtype; with ``training=False``
    they are returned otherwise unchanged.

    Args:
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        num_ops: Integer, the number of augmentations applied per call. Defaults to 2.
        factor: A float ``f`` in ``[0, 1]`` (range ``[0, f]``) or a pair: the strength of the
            augmentations. Defaults to ``0.5``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``, for the geometric ones.
        seed: Integer seed of the random streams.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandAugment(num_ops=2, factor=0.4, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3) * 255, training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    AUGMENT_LAYERS = (
        "random_shear",
        "random_translation",
        "random_rotation",
        "random_brightness",
        "random_color_degeneration",
        "random_contrast",
        "random_sharpness",
        "random_posterization",
        "solarization",
        "auto_contrast",
        "equalization",
    )

    def __init__(
        self,
        value_range=(0, 255),
        num_ops=2,
        factor=0.5,
        interpolation="bilinear",
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(num_ops, bool) or not isinstance(num_ops, numbers.Integral) or num_ops < 0:
            raise ValueError(f"Argument `num_ops` must be a non-negative integer. Received: num_ops={num_ops!r}")
        self.value_range = value_range
        sorted_value_range(value_range)
        self.num_ops = int(num_ops)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.interpolation = validate_option(interpolation, ("nearest", "bilinear"), "interpolation")
        self._init_seed(seed)
        self._augmenters = build_augmenters(
            _CREATION_ORDER, self.factor, value_range, interpolation, seed, self.data_format, self.dtype_policy
        )
        attach_augmenters(self, _CREATION_ORDER, self._augmenters)

    def _choose(self):
        """Names of the augmentations of this call (drawn on the CPU: they steer Python)."""
        picks = torch.randint(
            len(self.AUGMENT_LAYERS), (self.num_ops,), generator=self.seed_generator.generator("cpu")
        )
        return [self.AUGMENT_LAYERS[i] for i in picks.tolist()]

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        for name in self._choose():
            images = self._cast(self._augmenters[name]._transform(images, True))
        return images

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": self.value_range,
                "num_ops": self.num_ops,
                "factor": self.factor,
                "interpolation": self.interpolation,
                "seed": self.seed,
            }
        )
        return config
