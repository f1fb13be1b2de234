"""``UpSampling3D``: repeat the cells of volumes along the three spatial axes."""

from lamina.layers.reshaping.base_spatial import BaseUpSampling
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_tuple


@register_builtin("keras.layers")
class UpSampling3D(BaseUpSampling):
    """Upsampling layer for 3D inputs: repeats the first, second and third spatial axes
    ``size[0]``, ``size[1]`` and ``size[2]`` times.

    Args:
        size: Int or tuple of 3 positive ints, the upsampling factors for ``dim1``, ``dim2`` and
            ``dim3``. Defaults to ``(2, 2, 2)``.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, dim1, dim2, dim3, channels)``
        - ``"channels_first"``: ``(batch_size, channels, dim1, dim2, dim3)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, upsampled_dim1, upsampled_dim2, upsampled_dim3,
          channels)``
        - ``"channels_first"``: ``(batch_size, channels, upsampled_dim1, upsampled_dim2,
          upsampled_dim3)``

    Example:

    >>> x = np.ones((2, 1, 2, 3, 4), dtype="float32")
    >>> lamina.layers.UpSampling3D(size=(2, 1, 2))(x).shape
    torch.Size([2, 2, 2, 6, 4])
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        size = standardize_tuple(size, 3, "size")
        super().__init__(3, size, data_format=data_format, **kwargs)
        self.size = size

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config
