"""``ZeroPadding3D``: add zeros around volumes."""

from lamina.layers.reshaping.base_spatial import BaseZeroPadding
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_pairs


@register_builtin("keras.layers")
class ZeroPadding3D(BaseZeroPadding):
    """Zero-padding layer for 3D data (spatial or spatio-temporal volumes).

    Args:
        padding: One of

            - an int: the same amount of zeros at both ends of all three spatial axes;
            - a tuple of 3 ints ``(symmetric_dim1_pad, symmetric_dim2_pad, symmetric_dim3_pad)``;
            - a tuple of 3 tuples of 2 ints ``((left_dim1_pad, right_dim1_pad),
              (left_dim2_pad, right_dim2_pad), (left_dim3_pad, right_dim3_pad))``.

            Defaults to ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, first_axis_to_pad, second_axis_to_pad,
          third_axis_to_pad, depth)``
        - ``"channels_first"``: ``(batch_size, depth, first_axis_to_pad, second_axis_to_pad,
          third_axis_to_pad)``

    Output shape:
        The same axes, each spatial one lengthened by its two padding amounts.

    Example:

    >>> x = np.ones((1, 2, 2, 2, 3), dtype="float32")
    >>> lamina.layers.ZeroPadding3D(padding=(1, 0, 2))(x).shape
    torch.Size([1, 4, 2, 6, 3])
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        pairs = standardize_pairs(padding, 3, "padding")
        super().__init__(3, pairs, data_format=data_format, **kwargs)
        self.padding = pairs

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
