"""``RandomElasticTransform``: deform images by smoothed random displacement fields."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    is_number,
    uniform,
    validate_option,
    validate_value_range,
)
from lamina.ops.image_warps import elastic_transform
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomElasticTransform(BaseImagePreprocessingLayer):
    """Randomly applies elastic deformations to images during training.

    Per image, a probability ``p`` is drawn from ``factor`` and the image is deformed with
    probability ``p``. One distortion strength ``s`` is drawn from ``scale`` per call; the
    displacement field has standard deviation ``0.05 * s * min(height, width)`` (its
    smoothness) and is scaled by ``0.1 * s * max(height, width)`` pixels (see
    ``lamina.ops.image.elastic_transform``). The result is clipped to ``value_range``. Images
    are cast to the compute dtype; with ``training=False`` they are returned otherwise unchanged.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (probabilities in ``[0, f]``) or a pair: the
            probability of deforming each image. Defaults to ``1.0``.
        scale: A float ``s`` in ``[0, 1]`` (range ``[0, s]``) or a pair: the distortion
            strength. Defaults to ``1.0``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode: ``"reflect"`` (default), ``"constant"``, ``"nearest"``, ``"wrap"`` or
            ``"mirror"``.
        fill_value: Float, the value outside the image with ``fill_mode="constant"``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        seed: Integer seed of the layer's random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomElasticTransform(scale=0.5, seed=0)
    >>> layer(np.random.rand(2, 32, 32, 3) * 255, training=True).shape
    torch.Size([2, 32, 32, 3])
    """

    _FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")

    def __init__(
        self,
        factor=1.0,
        scale=1.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        value_range=(0, 255),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.scale = bounded_factor(scale, bounds=(0, 1), name="scale")
        self.interpolation = validate_option(interpolation, ("nearest", "bilinear"), "interpolation")
        self.fill_mode = validate_option(fill_mode, self._FILL_MODES, "fill_mode")
        if not is_number(fill_value):
            raise ValueError(f"Argument `fill_value` must be a number. Received: fill_value={fill_value!r}")
        self.fill_value = fill_value
        self.value_range = validate_value_range(value_range)
        self._init_seed(seed)

    def _draw(self, images):
        """(deform-or-not ``(batch,)``, the distortion strength of this call as a float)."""
        generator, device = self._generator(images), images.device
        batch = images.shape[0]
        probability = uniform(generator, (batch,), self.factor[0], self.factor[1], device)
        apply = torch.rand((batch,), generator=generator, device=device) < probability
        # Drawn on the CPU: the strength sets the blur kernel's size, a Python integer.
        strength = uniform(self.seed_generator.generator("cpu"), (), self.scale[0], self.scale[1], "cpu")
        return apply, float(strength)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return images
        apply, strength = self._draw(images)
        if strength == 0:
            return images
        height, width = self._size(images)
        deformed = elastic_transform(
            images,
            alpha=max(height, width) * 0.1 * strength,
            sigma=min(height, width) * 0.05 * strength,
            interpolation=self.interpolation,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            seed=self._generator(images),
            data_format=self.data_format,
        )
        images = torch.where(apply[:, None, None, None], deformed, images)
        return torch.clamp(images, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "factor": self.factor,
                "scale": self.scale,
                "interpolation": self.interpolation,
                "fill_mode": self.fill_mode,
                "fill_value": self.fill_value,
                "value_range": self.value_range,
                "seed": self.seed,
            }
        )
        return config
