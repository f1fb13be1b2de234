"""``RandomCrop``: crop images to a fixed size at a random location."""

from lamina.backend.random import draw_seed
from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    uniform,
    validate_seed,
    validate_size,
)
from lamina.layers.preprocessing.resizing import resized_shape
from lamina.ops.image import resize
from lamina.saving.object_registration import register_builtin


def crop_images(images, top, left, height, width, data_format):
    """The ``(height, width)`` window of 4D ``images`` starting at ``(top, left)``."""
    if data_format == "channels_last":
        return images[:, top : top + height, left : left + width, :]
    return images[:, :, top : top + height, left : left + width]


@register_builtin("keras.layers")
class RandomCrop(BaseImagePreprocessingLayer):
    """Randomly crops images to ``(height, width)`` during training.

    In training, one random window is drawn per batch (all images are cropped at the same
    place). At inference, and in training when an image is not larger than the target on both
    axes, the largest centred window with the target's aspect ratio is taken and resized
    (bilinear) to the target, so the output size is always ``(height, width)``. Outputs are in
    the layer's compute dtype.

    Args:
        height: Integer, the height of the output.
        width: Integer, the width of the output.
        seed: Integer seed of the layer's random stream (drawn once when ``None``, and then
            part of the config).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)`` in
        ``"channels_last"`` format.

    Output shape:
        ``(..., target_height, target_width, channels)`` (channels first with
        ``"channels_first"``).

    Example:

    >>> layer = lamina.layers.RandomCrop(24, 24, seed=0)
    >>> layer(np.random.rand(2, 32, 32, 3), training=True).shape
    torch.Size([2, 24, 24, 3])
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(data_format=data_format, name=name, **kwargs)
        self.height = validate_size(height, "height")
        self.width = validate_size(width, "width")
        seed = validate_seed(seed)
        self._init_seed(draw_seed() if seed is None else seed)

    def _transform(self, images, training):
        images = self._cast(images)
        in_height, in_width = self._size(images)
        if training and in_height > self.height and in_width > self.width:
            # Offsets are drawn on the CPU: slicing needs Python ints, and this avoids a
            # device-to-host sync.
            generator = self.seed_generator.generator("cpu")
            draws = uniform(generator, (2,), 0.0, 1.0, "cpu")
            top = int(draws[0] * float(in_height - self.height + 1))
            left = int(draws[1] * float(in_width - self.width + 1))
            top, left = min(top, in_height - self.height), min(left, in_width - self.width)
            return crop_images(images, top, left, self.height, self.width, self.data_format)
        return resize(images, (self.height, self.width), crop_to_aspect_ratio=True, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        return resized_shape(self, input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "seed": self.seed})
        return config
