"""``RandomColorJitter``: random brightness, contrast, saturation and hue, in that order."""

from lamina.layers.preprocessing._augmenters import attach_augmenters
from lamina.layers.preprocessing.base_image_preprocessing_layer import BaseImagePreprocessingLayer
from lamina.layers.preprocessing.random_brightness import RandomBrightness
from lamina.layers.preprocessing.random_contrast import RandomContrast
from lamina.layers.preprocessing.random_hue import RandomHue
from lamina.layers.preprocessing.random_saturation import RandomSaturation
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomColorJitter(BaseImagePreprocessingLayer):
    """Randomly jitters the colours of images during training.

    Applies, for each factor given, ``RandomBrightness``, ``RandomContrast``,
    ``RandomSaturation`` and ``RandomHue`` (in this order) with that factor and
    ``value_range``. With ``training=False`` the images pass through.

    Args:
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        brightness_factor: ``factor`` of ``RandomBrightness``, or ``None`` to skip it.
        contrast_factor: ``factor`` of ``RandomContrast``, or ``None`` to skip it.
        saturation_factor: ``factor`` of ``RandomSaturation``, or ``None`` to skip it.
        hue_factor: ``factor`` of ``RandomHue``, or ``None`` to skip it.
        seed: Integer seed of the random streams.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomColorJitter(brightness_factor=0.2, hue_factor=0.1, seed=0)
    >>> layer(np.random.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(
        self,
        value_range=(0, 255),
        brightness_factor=None,
        contrast_factor=None,
        saturation_factor=None,
        hue_factor=None,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self._init_seed(seed)
        common = dict(value_range=value_range, seed=seed, data_format=self.data_format, dtype=self.dtype_policy)
        # Sublayers named and built in Keras's order, `None` for a factor left out; each has its
        # own seed generator (Keras counts them) but all draw from this layer's stream.
        jitters = {
            name: cls(factor, **common)
            for name, cls, factor in (
                ("random_brightness", RandomBrightness, brightness_factor),
                ("random_contrast", RandomContrast, contrast_factor),
                ("random_saturation", RandomSaturation, saturation_factor),
                ("random_hue", RandomHue, hue_factor),
            )
            if factor is not None
        }
        attach_augmenters(
            self, ("random_brightness", "random_contrast", "random_saturation", "random_hue"), jitters
        )
        self._jitters = list(jitters.values())

    def _transform(self, images, training):
        if not training:
            return images
        images = self._cast(images)
        for layer in self._jitters:
            images = layer._transform(images, True)
        return self._cast(images)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": self.value_range,
                "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor,
                "seed": self.seed,
            }
        )
        return config
