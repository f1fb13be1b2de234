"""``Softmax``: softmax along an axis, with an optional mask of positions to exclude."""

import torch

from lamina import activations
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _masked_fill_value(dtype):
    # Large enough that exp() underflows to 0, small enough to stay finite in float16.
    return -3e4 if dtype == torch.float16 else -1e9


@register_builtin("keras.layers")
class Softmax(Layer):
    """Softmax activation layer: ``exp(x - max(x)) / sum(exp(x - max(x)))`` along ``axis``.

    Args:
        axis: Integer, or list of integers, the axis (axes) along which to normalize.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Call arguments:
        inputs: The logits.
        mask: Boolean (or 0/1) tensor broadcastable to ``inputs``, True where a position takes
            part. Masked positions get probability 0, even when a whole slice is masked. Each mask
            axis must be 1 or equal to the matching input axis, and the mask may not have more
            axes than the inputs.

    Input shape:
        Arbitrary.

    Output shape:
        Same shape as the input.

    Example:

    >>> lamina.layers.Softmax()(np.array([1.0, 2.0, 1.0]))
    tensor([0.2119, 0.5761, 0.2119])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(not isinstance(a, int) or isinstance(a, bool) for a in axes):
            raise ValueError(
                f"`axis` of a Softmax layer must be an integer or a non-empty list of integers. "
                f"Received: axis={axis!r}"
            )
        self.axis = axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = self._broadcastable_mask(inputs, mask)
            inputs = torch.where(mask, inputs, _masked_fill_value(inputs.dtype))
        axis = self.axis
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        outputs = activations.softmax(inputs, axis=tuple(axis) if isinstance(axis, list) else axis)
        if mask is not None:
            # A fully masked slice would otherwise come out uniform.
            outputs = torch.where(mask, outputs, 0.0)
        return outputs

    def _broadcastable_mask(self, inputs, mask):
        mask = torch.as_tensor(mask, device=inputs.device)
        if mask.dim() > inputs.dim() or any(
            m != 1 and m != i for m, i in zip(reversed(mask.shape), reversed(inputs.shape))
        ):
            raise ValueError(
                f"The `mask` of Softmax layer '{self.name}' must be broadcastable to `inputs`: each "
                "mask axis must be 1 or match the corresponding input axis, and the mask must not "
                f"have more axes. Received: inputs.shape={tuple(inputs.shape)}, "
                f"mask.shape={tuple(mask.shape)}"
            )
        return mask if mask.dtype == torch.bool else mask > 0.5

    def compute_mask(self, inputs, previous_mask=None):
        # An explicit mask may arrive as a numpy array or a list; the output carries a tensor.
        if previous_mask is None or isinstance(previous_mask, torch.Tensor) or hasattr(previous_mask, "_keras_history"):
            return previous_mask
        return torch.as_tensor(previous_mask)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
