"""``Rescaling``: ``inputs * scale + offset`` (e.g. pixels from [0, 255] to [0, 1])."""

import numpy as np
import torch

from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Rescaling(Layer):
    """Multiplies inputs by ``scale`` and adds ``offset``.

    Args:
        scale: Float, or a list/array broadcast against the last axes of the input.
        offset: Float, or a list/array like ``scale``.

    Input shape:
        Any; integer inputs are cast to the layer's compute dtype.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.Rescaling(1.0 / 255)
    >>> layer(np.array([[0, 255]])).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "iuf":
                raise ValueError(f"`{name}` must be a number or an array of numbers. Received: {name}={value!r}")
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dtype = self._compute_torch_dtype
        if inputs.dtype != dtype:
            inputs = inputs.to(dtype)
        scale = torch.as_tensor(self.scale, dtype=dtype, device=inputs.device)
        offset = torch.as_tensor(self.offset, dtype=dtype, device=inputs.device)
        return inputs * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": _plain(self.scale), "offset": _plain(self.offset)})
        return config


def _plain(value):
    return np.asarray(value).tolist() if not isinstance(value, (int, float)) else value
