"""``Cropping1D``: remove cells from both ends of the steps axis."""

from lamina.layers.reshaping.base_spatial import BaseCropping
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_tuple


@register_builtin("keras.layers")
class Cropping1D(BaseCropping):
    """Cropping layer for 1D input (e.g. a temporal sequence): crops along axis 1.

    Args:
        cropping: Int or tuple of 2 ints: how many steps to remove at the start and at the end
            of the steps axis. A single int removes that many at both ends. Defaults to
            ``(1, 1)``.

    Input shape:
        3D tensor ``(batch_size, axis_to_crop, features)``.

    Output shape:
        3D tensor ``(batch_size, cropped_axis, features)``.

    Example:

    >>> x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    >>> lamina.layers.Cropping1D(cropping=(1, 0))(x)
    tensor([[[ 2.,  3.],
             [ 4.,  5.]],
    <BLANKLINE>
            [[ 8.,  9.],
             [10., 11.]]])
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        pair = standardize_tuple(cropping, 2, "cropping", allow_zero=True)
        super().__init__(1, (pair,), data_format="channels_last", **kwargs)
        self.cropping = pair

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping})
        return config
