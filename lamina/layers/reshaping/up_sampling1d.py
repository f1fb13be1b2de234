"""``UpSampling1D``: repeat each step of a sequence."""

import operator

from lamina.layers.reshaping.base_spatial import BaseUpSampling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class UpSampling1D(BaseUpSampling):
    """Upsampling layer for 1D inputs: repeats each temporal step ``size`` times.

    Args:
        size: Positive int, the upsampling factor. Defaults to ``2``.

    Input shape:
        3D tensor ``(batch_size, steps, features)``.

    Output shape:
        3D tensor ``(batch_size, upsampled_steps, features)`` with
        ``upsampled_steps = steps * size``.

    Example:

    >>> x = np.array([[[1.0], [2.0]]], dtype="float32")
    >>> lamina.layers.UpSampling1D(size=3)(x)[0, :, 0]
    tensor([1., 1., 1., 2., 2., 2.])
    """

    def __init__(self, size=2, **kwargs):
        try:
            if isinstance(size, bool):
                raise TypeError
            size = operator.index(size)
        except TypeError:
            raise ValueError(
                f"The `size` argument must be a positive integer. Received: size={size!r}"
            ) from None
        if size <= 0:
            raise ValueError(
                f"The `size` argument must be a positive integer. Received: size={size!r}"
            )
        super().__init__(1, (size,), data_format="channels_last", **kwargs)
        self.size = size

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size})
        return config
