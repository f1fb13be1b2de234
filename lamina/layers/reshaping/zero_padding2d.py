"""``ZeroPadding2D``: add rows and columns of zeros around images."""

from lamina.layers.reshaping.base_spatial import BaseZeroPadding
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_pairs


@register_builtin("keras.layers")
class ZeroPadding2D(BaseZeroPadding):
    """Zero-padding layer for 2D input (e.g. pictures): adds zeros at the top, bottom, left
    and right of each image.

    Args:
        padding: One of

            - an int: the same amount of zeros on all four sides;
            - a tuple of 2 ints ``(symmetric_height_pad, symmetric_width_pad)``;
            - a tuple of 2 tuples of 2 ints ``((top_pad, bottom_pad), (left_pad, right_pad))``.

            Defaults to ``(1, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, rows, cols, channels)``
        - ``"channels_first"``: ``(batch_size, channels, rows, cols)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, padded_rows, padded_cols, channels)``
        - ``"channels_first"``: ``(batch_size, channels, padded_rows, padded_cols)``

    Example:

    >>> x = np.ones((1, 1, 2, 1), dtype="float32")
    >>> lamina.layers.ZeroPadding2D(padding=((1, 0), (0, 1)))(x)[0, :, :, 0]
    tensor([[0., 0., 0.],
            [1., 1., 0.]])
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        pairs = standardize_pairs(padding, 2, "padding")
        super().__init__(2, pairs, data_format=data_format, **kwargs)
        self.padding = pairs

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
