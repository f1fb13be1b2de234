"""``GlobalAveragePooling3D`` (alias ``GlobalAvgPool3D``): mean over the three spatial axes."""

import torch

from lamina.layers.pooling.base_global_pooling import BaseGlobalPooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class GlobalAveragePooling3D(BaseGlobalPooling):
    """Global average pooling for 3D spatial data: the mean of each channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        keepdims: If ``True`` the spatial axes are kept with length 1, otherwise (the default)
            they are removed.

    Input shape:
        - ``"channels_last"``: ``(batch_size, dim1, dim2, dim3, channels)``
        - ``"channels_first"``: ``(batch_size, channels, dim1, dim2, dim3)``

    Output shape:
        ``(batch_size, channels)``; with ``keepdims=True``, ``(batch_size, 1, 1, 1, channels)``
        (``"channels_last"``) or ``(batch_size, channels, 1, 1, 1)`` (``"channels_first"``).

    Example:

    >>> x = np.random.rand(2, 4, 5, 3, 6).astype("float32")
    >>> lamina.layers.GlobalAveragePooling3D()(x).shape
    torch.Size([2, 6])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=3, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return torch.mean(inputs, dim=self._spatial_axes, keepdim=self.keepdims)


GlobalAvgPool3D = GlobalAveragePooling3D
register_builtin("keras.layers", "GlobalAvgPool3D")(GlobalAveragePooling3D)
