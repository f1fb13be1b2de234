"""``GlobalAveragePooling1D`` (alias ``GlobalAvgPool1D``): mean over the steps axis."""

import torch

from lamina.backend.core import convert_to_tensor
from lamina.layers.pooling.base_global_pooling import BaseGlobalPooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class GlobalAveragePooling1D(BaseGlobalPooling):
    """Global average pooling for 1D spatial data: the mean of each channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        keepdims: If ``True`` the spatial axes are kept with length 1, otherwise (the default)
            they are removed.

    Call arguments:
        inputs: A 3D tensor.
        mask: Optional boolean tensor ``(batch_size, steps)``; steps where it is ``False`` are
            left out of the average (as produced by ``Embedding(mask_zero=True)`` or ``Masking``).

    Input shape:
        - ``"channels_last"``: ``(batch_size, steps, features)``
        - ``"channels_first"``: ``(batch_size, features, steps)``

    Output shape:
        ``(batch_size, channels)``; with ``keepdims=True``, ``(batch_size, 1, features)``
        (``"channels_last"``) or ``(batch_size, features, 1)`` (``"channels_first"``).

    Example:

    >>> x = np.random.rand(2, 4, 5).astype("float32")
    >>> lamina.layers.GlobalAveragePooling1D()(x).shape
    torch.Size([2, 5])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return torch.mean(inputs, dim=self._spatial_axes, keepdim=self.keepdims)
        return _masked_mean(inputs, mask, self._spatial_axes[0], self.keepdims)

    def compute_mask(self, inputs, mask=None):
        # The steps axis is gone, and with it anything a mask could describe.
        return None


GlobalAvgPool1D = GlobalAveragePooling1D
register_builtin("keras.layers", "GlobalAvgPool1D")(GlobalAveragePooling1D)


def _masked_mean(inputs, mask, steps_axis, keepdims):
    """Mean over ``steps_axis`` of the steps where ``mask`` (``(batch, steps)``) is true."""
    keep = convert_to_tensor(mask, dtype="bool", device=inputs.device).unsqueeze(3 - steps_axis)
    # `where` rather than a product, so that inf/nan in masked steps cannot leak into the mean.
    total = torch.where(keep, inputs, 0).sum(dim=steps_axis, keepdim=keepdims)
    count = keep.to(inputs.dtype).sum(dim=steps_axis, keepdim=keepdims)
    return total / count
