"""``ZeroPadding1D``: add zeros at both ends of the steps axis."""

from lamina.layers.reshaping.base_spatial import BaseZeroPadding
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_tuple


@register_builtin("keras.layers")
class ZeroPadding1D(BaseZeroPadding):
    """Zero-padding layer for 1D input (e.g. a temporal sequence).

    Args:
        padding: Int or tuple of 2 ints: how many zeros to add at the start and at the end of
            the padded axis. A single int adds that many at both ends. Defaults to ``1``.
        data_format: ``"channels_last"`` (inputs ``(batch_size, axis_to_pad, features)``) or
            ``"channels_first"`` (inputs ``(batch_size, features, axis_to_pad)``). Defaults to
            ``image_data_format()``.

    Input shape:
        3D tensor ``(batch_size, axis_to_pad, features)`` (``"channels_last"``) or
        ``(batch_size, features, axis_to_pad)`` (``"channels_first"``).

    Output shape:
        The same with the padded axis lengthened by ``padding[0] + padding[1]``.

    Example:

    >>> x = np.ones((1, 2, 1), dtype="float32")
    >>> lamina.layers.ZeroPadding1D(padding=(1, 2))(x)[0, :, 0]
    tensor([0., 1., 1., 0., 0.])
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        pair = standardize_tuple(padding, 2, "padding", allow_zero=True)
        super().__init__(1, (pair,), data_format=data_format, **kwargs)
        self.padding = pair

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
