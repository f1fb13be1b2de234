"""``GlobalMaxPooling1D`` (alias ``GlobalMaxPool1D``): maximum over the steps axis."""

import torch

from lamina.layers.pooling.base_global_pooling import BaseGlobalPooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class GlobalMaxPooling1D(BaseGlobalPooling):
    """Global max pooling for 1D spatial data: the maximum of each channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        keepdims: If ``True`` the spatial axes are kept with length 1, otherwise (the default)
            they are removed.

    Input shape:
        - ``"channels_last"``: ``(batch_size, steps, features)``
        - ``"channels_first"``: ``(batch_size, features, steps)``

    Output shape:
        ``(batch_size, channels)``; with ``keepdims=True``, ``(batch_size, 1, features)``
        (``"channels_last"``) or ``(batch_size, features, 1)`` (``"channels_first"``).

    Example:

    >>> x = np.random.rand(2, 4, 5).astype("float32")
    >>> lamina.layers.GlobalMaxPooling1D()(x).shape
    torch.Size([2, 5])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return torch.amax(inputs, dim=self._spatial_axes, keepdim=self.keepdims)


GlobalMaxPool1D = GlobalMaxPooling1D
register_builtin("keras.layers", "GlobalMaxPool1D")(GlobalMaxPooling1D)
