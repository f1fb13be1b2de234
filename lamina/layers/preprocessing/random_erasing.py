"""``RandomErasing``: replace a random rectangle of some images by noise or a constant."""

import torch

from lamina.layers.preprocessing._mixing import box_bounds, box_masks
from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    is_number,
    uniform,
    validate_value_range,
)
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomErasing(BaseImagePreprocessingLayer):
    """Randomly erases a rectangle of images during training (Cutout / random erasing).

    Per image, an erasing probability ``p`` is drawn from ``factor`` and the image is erased
    with probability ``p``. The rectangle's width and height are ``sqrt(s)`` times the image's,
    with ``s`` drawn from ``scale`` for each side, and it is placed uniformly inside the image.
    Erased pixels take ``fill_value``, or Gaussian noise times ``value_range[1]`` when
    ``fill_value`` is ``None``, clipped to ``value_range``. Images are cast to the compute dtype;
    with ``training=False`` they are returned otherwise unchanged.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (probabilities in ``[0, f]``) or a pair: the
            probability of erasing each image. Defaults to ``1.0``.
        scale: A float or a pair in ``[0, 1]``: the range of the erased fraction of each side,
            squared. Defaults to ``(0.02, 0.33)``.
        fill_value: ``None`` (noise), a number, or a list of one number per channel.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        seed: Integer seed of the layer's random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomErasing(factor=0.5, fill_value=0.0, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3) * 255, training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        factor=1.0,
        scale=(0.02, 0.33),
        fill_value=None,
        value_range=(0, 255),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.scale = bounded_factor(scale, bounds=(0, 1), name="scale")
        if not (
            fill_value is None
            or is_number(fill_value)
            or (isinstance(fill_value, (tuple, list)) and len(fill_value) == 3 and all(map(is_number, fill_value)))
        ):
            raise ValueError(
                "The `fill_value` argument should be a number (or a list of three numbers). "
                f"Received: fill_value={fill_value!r}"
            )
        self.fill_value = fill_value
        self.value_range = validate_value_range(value_range)
        self._init_seed(seed)

    def _draw(self, images):
        """(erase-or-not ``(batch,)``, pixel masks, fill values) for a 4D batch."""
        generator, device, dtype = self._generator(images), images.device, images.dtype
        batch = images.shape[0]
        height, width = self._size(images)
        sides = torch.sqrt(uniform(generator, (batch, 2), self.scale[0], self.scale[1], device, dtype))
        x0, x1 = box_bounds(generator, batch, width, sides[:, 0], dtype, device)
        y0, y1 = box_bounds(generator, batch, height, sides[:, 1], dtype, device)
        masks = box_masks(x0, x1, y0, y1, height, width, self.data_format)
        probability = uniform(generator, (batch,), self.factor[0], self.factor[1], device, dtype)
        apply = torch.rand((batch,), generator=generator, device=device, dtype=dtype) < probability
        if self.fill_value is None:
            fill = torch.randn(images.shape, generator=generator, device=device, dtype=dtype) * self.value_range[1]
        else:
            fill = torch.as_tensor(self.fill_value, dtype=dtype, device=device)
            if fill.dim() == 1 and self.data_format == "channels_first":
                fill = fill[:, None, None]
        fill = torch.clamp(fill, self.value_range[0], self.value_range[1])
        return apply, masks, fill

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        apply, masks, fill = self._draw(images)
        return torch.where(masks & apply[:, None, None, None], fill, images)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "factor": self.factor,
                "scale": self.scale,
                "fill_value": self.fill_value,
                "value_range": self.value_range,
                "seed": self.seed,
            }
        )
        return config
