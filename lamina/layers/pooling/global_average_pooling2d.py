"""``GlobalAveragePooling2D`` (alias ``GlobalAvgPool2D``): mean over height and width."""

import torch

from lamina.layers.pooling.base_global_pooling import BaseGlobalPooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class GlobalAveragePooling2D(BaseGlobalPooling):
    """Global average pooling for 2D spatial data: the mean of each channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        keepdims: If ``True`` the spatial axes are kept with length 1, otherwise (the default)
            they are removed.

    Input shape:
        - ``"channels_last"``: ``(batch_size, height, width, channels)``
        - ``"channels_first"``: ``(batch_size, channels, height, width)``

    Output shape:
        ``(batch_size, channels)``; with ``keepdims=True``, ``(batch_size, 1, 1, channels)``
        (``"channels_last"``) or ``(batch_size, channels, 1, 1)`` (``"channels_first"``).

    Example:

    >>> x = np.random.rand(2, 4, 5, 3).astype("float32")
    >>> lamina.layers.GlobalAveragePooling2D()(x).shape
    torch.Size([2, 3])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return torch.mean(inputs, dim=self._spatial_axes, keepdim=self.keepdims)


GlobalAvgPool2D = GlobalAveragePooling2D
register_builtin("keras.layers", "GlobalAvgPool2D")(GlobalAveragePooling2D)
