"""``CenterCrop``: the central ``(height, width)`` window of images."""

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    validate_size,
)
from lamina.layers.preprocessing.resizing import resized_shape
from lamina.ops.image import resize
from lamina.saving.object_registration import register_builtin


def center_crop(images, height, width, data_format):
    """Crop the centre of 4D ``images``; resize (bilinear) when they are smaller than the target.

    An image smaller than the target on either axis is first cropped to the largest centred
    window with the target's aspect ratio, then resized to ``(height, width)``.
    """
    h_axis = 1 if data_format == "channels_last" else 2
    in_height, in_width = images.shape[h_axis], images.shape[h_axis + 1]
    if in_height < height or in_width < width:
        return resize(images, (height, width), crop_to_aspect_ratio=True, data_format=data_format)
    top, left = (in_height - height) // 2, (in_width - width) // 2
    if data_format == "channels_last":
        return images[:, top : top + height, left : left + width, :]
    return images[:, :, top : top + height, left : left + width]


@register_builtin("keras.layers")
class CenterCrop(BaseImagePreprocessingLayer):
    """Crops the central ``(height, width)`` portion of images.

    When an image is smaller than the target on either axis, the largest centred window with
    the target's aspect ratio is resized (bilinear) to the target instead. If the input size
    and the target size differ in parity, the extra pixel is removed on the bottom/right side.
    Outputs are in the layer's compute dtype.

    Args:
        height: Integer, the height of the output.
        width: Integer, the width of the output.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched): ``(..., height, width, channels)`` in
        ``"channels_last"`` format, ``(..., channels, height, width)`` in ``"channels_first"``.

    Output shape:
        ``(..., target_height, target_width, channels)``, or
        ``(..., channels, target_height, target_width)`` in ``"channels_first"`` format.

    Example:

    >>> images = np.arange(2 * 5 * 5 * 1, dtype="float32").reshape(2, 5, 5, 1)
    >>> lamina.layers.CenterCrop(3, 3)(images)[0, :, :, 0]
    tensor([[ 6.,  7.,  8.],
            [11., 12., 13.],
            [16., 17., 18.]])
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = validate_size(height, "height")
        self.width = validate_size(width, "width")

    def call(self, inputs):
        self._check_rank(inputs.shape)
        images = self._cast(inputs)
        if images.dim() == 3:
            return center_crop(images.unsqueeze(0), self.height, self.width, self.data_format).squeeze(0)
        return center_crop(images, self.height, self.width, self.data_format)

    def compute_output_shape(self, input_shape):
        return resized_shape(self, input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config
