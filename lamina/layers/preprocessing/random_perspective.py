"""``RandomPerspective``: move image corners randomly and warp by the resulting homography."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    is_number,
    uniform,
    validate_option,
)
from lamina.ops.image_warps import perspective_transform
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomPerspective(BaseImagePreprocessingLayer):
    """Randomly applies perspective transforms to images during training.

    Per image, a probability ``p`` is drawn from ``factor`` and the image is warped with
    probability ``p``. Each corner ``(x, y)`` of the image (``(0, 0)``, ``(w - 1, 0)``,
    ``(0, h - 1)``, ``(w - 1, h - 1)``) moves to ``(x (1 + u), y (1 + v))`` with ``u, v`` drawn
    uniformly from ``[-scale / 2, scale / 2]`` (so, as in Keras, the top-left corner stays),
    and the image is warped by the homography between the two quadrilaterals. Uncovered
    pixels take ``fill_value``. Images are cast to the compute dtype; with ``training=False``
    they are returned otherwise unchanged.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (probabilities in ``[0, f]``) or a pair: the
            probability of warping each image. Defaults to ``1.0``.
        scale: A float in ``[0, 1]``, the strength of the distortion. Defaults to ``1.0``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_value: Float, the value of uncovered pixels. Defaults to ``0.0``.
        seed: Integer seed of the layer's random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomPerspective(factor=1.0, scale=0.3, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3), training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        factor=1.0,
        scale=1.0,
        interpolation="bilinear",
        fill_value=0.0,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        if not is_number(scale) or scale < 0.0 or scale > 1.0:
            raise ValueError(f"The `scale` argument should be a number in the range [0,1]. Received: scale={scale!r}")
        self.scale = scale
        self.interpolation = validate_option(interpolation, ("nearest", "bilinear"), "interpolation")
        if not is_number(fill_value):
            raise ValueError(f"Argument `fill_value` must be a number. Received: fill_value={fill_value!r}")
        self.fill_value = fill_value
        self._init_seed(seed)

    def _draw(self, images):
        """(warp-or-not ``(batch,)``, start corners, end corners ``(batch, 4, 2)``)."""
        generator, device = self._generator(images), images.device
        batch = images.shape[0]
        height, width = self._size(images)
        probability = uniform(generator, (batch,), self.factor[0], self.factor[1], device)
        apply = torch.rand((batch,), generator=generator, device=device) < probability
        offsets = uniform(generator, (batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale, device)
        corners = [[0.0, 0.0], [width - 1.0, 0.0], [0.0, height - 1.0], [width - 1.0, height - 1.0]]
        start = torch.tensor(corners, device=device).expand(batch, 4, 2)
        return apply, start, start + start * offsets

    def _warp(self, images, apply, start, end):
        warped = perspective_transform(
            images,
            start,
            end,
            interpolation=self.interpolation,
            fill_value=self.fill_value,
            data_format=self.data_format,
        )
        return torch.where(apply[:, None, None, None], warped, images)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        return self._warp(images, *self._draw(images))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "factor": self.factor,
                "scale": self.scale,
                "interpolation": self.interpolation,
                "fill_value": self.fill_value,
                "seed": self.seed,
            }
        )
        return config
