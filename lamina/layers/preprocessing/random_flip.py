"""``RandomFlip``: flip images horizontally and/or vertically at random."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import BaseImagePreprocessingLayer, uniform
from lamina.saving.object_registration import register_builtin

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"
_MODES = (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)


def flip_images(images, flips, mode, data_format):
    """Flip the 4D ``images`` whose entry of the boolean ``(batch,)`` tensor ``flips`` is set.

    ``"horizontal_and_vertical"`` flips a selected image along both axes (as Keras 3 does, with
    one draw per image).
    """
    h_axis = 1 if data_format == "channels_last" else 2
    axes = {HORIZONTAL: (h_axis + 1,), VERTICAL: (h_axis,), HORIZONTAL_AND_VERTICAL: (h_axis, h_axis + 1)}[mode]
    return torch.where(flips.view(-1, 1, 1, 1), torch.flip(images, axes), images)


@register_builtin("keras.layers")
class RandomFlip(BaseImagePreprocessingLayer):
    """Randomly flips images during training.

    Each image of a batch is flipped with probability 1/2 (``"horizontal_and_vertical"`` flips
    it along both axes at once). With ``training=False`` the images pass through, cast to the
    layer's compute dtype; called directly the layer augments, as in Keras 3.

    Args:
        mode: ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"`` (default).
        seed: Integer seed of the layer's random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)`` in
        ``"channels_last"`` format.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomFlip("horizontal", seed=1)
    >>> y = layer(np.random.rand(4, 8, 8, 3), training=True)
    """

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in _MODES:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode!r}. Expected one of {_MODES}.")
        self.mode = mode
        self._init_seed(seed)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        draws = uniform(self._generator(images), (images.shape[0],), 0.0, 1.0, images.device)
        return flip_images(images, draws <= 0.5, self.mode, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed, "mode": self.mode})
        return config
