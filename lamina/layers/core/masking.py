"""``Masking``: marks timesteps whose features all equal ``mask_value`` as masked."""

import numbers

import torch

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


def _keep(inputs, mask_value):
    """Boolean tensor, True where some feature (last axis) differs from ``mask_value``."""
    return torch.ne(inputs, mask_value).any(dim=-1)


@register_builtin("keras.layers")
class Masking(Layer):
    """Masks timesteps whose every feature equals ``mask_value``.

    For inputs of shape ``(batch, timesteps, features)``, a timestep is masked (skipped by
    downstream layers that support masking, such as recurrent layers) when all of its features
    equal ``mask_value``. Masked timesteps are also zeroed in the output. In the mask, ``True``
    means "use this timestep".

    Args:
        mask_value: The number marking padded timesteps.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Tensor of rank >= 1, ``(batch, ..., features)``; the mask drops the last axis.

    Output shape:
        Same shape as the input.

    Example:

    >>> x = np.ones((2, 4, 3), "float32")
    >>> x[0, 2, :] = 0.0
    >>> y = lamina.layers.Masking(mask_value=0.0)(x)
    >>> y._keras_mask
    tensor([[ True,  True, False,  True],
            [ True,  True,  True,  True]])
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and mask_value.get("config") is not None:
            # Keras writes non-plain values (e.g. numpy scalars) as serialized objects.
            mask_value = serialization_lib.deserialize_keras_object(mask_value)
        if hasattr(mask_value, "item") and getattr(mask_value, "ndim", 1) == 0:
            mask_value = mask_value.item()
        if not isinstance(mask_value, numbers.Number):
            raise ValueError(
                "Argument `mask_value` must be a number (int or float). "
                f"Received: mask_value={mask_value!r} (of type {type(mask_value).__name__})"
            )
        self.mask_value = mask_value
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=1)
        self.built = True

    def call(self, inputs):
        keep = _keep(inputs, self.mask_value).unsqueeze(-1)
        # A select rather than a product, as in Keras: with `mask_value=inf` a product would
        # turn masked entries into NaN instead of 0.
        return torch.where(keep, inputs, 0)

    def compute_mask(self, inputs, mask=None):
        return _keep(inputs, self.mask_value)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
