"""``Cropping3D``: remove cells at the borders of volumes."""

from lamina.layers.reshaping.base_spatial import BaseCropping
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_pairs


@register_builtin("keras.layers")
class Cropping3D(BaseCropping):
    """Cropping layer for 3D data (e.g. spatial or spatio-temporal volumes).

    Args:
        cropping: One of

            - an int: the same amount is removed at both ends of all three spatial axes;
            - a tuple of 3 ints ``(symmetric_dim1_crop, symmetric_dim2_crop,
              symmetric_dim3_crop)``;
            - a tuple of 3 tuples of 2 ints ``((left_dim1_crop, right_dim1_crop),
              (left_dim2_crop, right_dim2_crop), (left_dim3_crop, right_dim3_crop))``.

            Defaults to ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, first_axis_to_crop, second_axis_to_crop,
          third_axis_to_crop, channels)``
        - ``"channels_first"``: ``(batch_size, channels, first_axis_to_crop,
          second_axis_to_crop, third_axis_to_crop)``

    Output shape:
        The same axes, each spatial one shortened by its two cropping amounts.

    Example:

    >>> x = np.random.rand(2, 28, 28, 10, 3).astype("float32")
    >>> lamina.layers.Cropping3D(cropping=(2, 4, 2))(x).shape
    torch.Size([2, 24, 20, 6, 3])
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        pairs = standardize_pairs(cropping, 3, "cropping")
        super().__init__(3, pairs, data_format=data_format, **kwargs)
        self.cropping = pairs

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config
