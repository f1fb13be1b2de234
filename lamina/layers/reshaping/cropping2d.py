"""``Cropping2D``: remove rows and columns at the borders of images."""

from lamina.layers.reshaping.base_spatial import BaseCropping
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_pairs


@register_builtin("keras.layers")
class Cropping2D(BaseCropping):
    """Cropping layer for 2D input (e.g. pictures): crops along height and width.

    Args:
        cropping: One of

            - an int: the same amount is removed at all four borders;
            - a tuple of 2 ints ``(symmetric_height_crop, symmetric_width_crop)``;
            - a tuple of 2 tuples of 2 ints ``((top_crop, bottom_crop), (left_crop, right_crop))``.

            Defaults to ``((0, 0), (0, 0))``.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, rows, cols, channels)``
        - ``"channels_first"``: ``(batch_size, channels, rows, cols)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, cropped_rows, cropped_cols, channels)``
        - ``"channels_first"``: ``(batch_size, channels, cropped_rows, cropped_cols)``

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Cropping2D(cropping=((2, 2), (4, 4)), input_shape=(28, 28, 3)))
    >>> model.output_shape
    (None, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        pairs = standardize_pairs(cropping, 2, "cropping")
        super().__init__(2, pairs, data_format=data_format, **kwargs)
        self.cropping = pairs

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config
