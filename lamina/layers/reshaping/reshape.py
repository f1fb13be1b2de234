"""``Reshape``: give the non-batch axes a new shape with the same number of elements."""

import math
import numbers

from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _validate_target_shape(target_shape):
    if isinstance(target_shape, (str, bytes)) or not hasattr(target_shape, "__iter__"):
        raise ValueError(
            "Argument `target_shape` must be a tuple of integers (without the batch axis). "
            f"Received: target_shape={target_shape!r}"
        )
    target_shape = tuple(target_shape)
    for dim in target_shape:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < -1:
            raise ValueError(
                "Each dimension in `target_shape` must be a non-negative integer, or `-1` for a "
                f"single unknown dimension. Received: target_shape={target_shape!r}"
            )
    if target_shape.count(-1) > 1:
        raise ValueError(
            "There must be at most one unknown dimension (-1) in `target_shape`. "
            f"Received: target_shape={target_shape!r}"
        )
    return tuple(int(d) for d in target_shape)


def _resolve_target_shape(input_shape, target_shape, layer_name):
    """``target_shape`` with its ``-1`` resolved from the non-batch ``input_shape``.

    The ``-1`` stays ``None`` while some input dimension is unknown. Raises ``ValueError`` when
    the element counts cannot match.
    """
    if None in input_shape:
        return tuple(None if d == -1 else d for d in target_shape)
    size = math.prod(input_shape)
    known = math.prod(d for d in target_shape if d != -1)
    if -1 not in target_shape:
        if size != known:
            raise ValueError(
                f"Layer '{layer_name}': the total size of the tensor must be unchanged. "
                f"Received: input_shape={tuple(input_shape)} ({size} elements per sample), "
                f"target_shape={target_shape} ({known} elements)"
            )
        return target_shape
    if known == 0 or size % known:
        raise ValueError(
            f"Layer '{layer_name}': the total size of the tensor must be unchanged, but the input "
            f"size {size} cannot be divided by the known dimensions of `target_shape`. "
            f"Received: input_shape={tuple(input_shape)}, target_shape={target_shape}"
        )
    return tuple(size // known if d == -1 else d for d in target_shape)


@register_builtin("keras.layers")
class Reshape(Layer):
    """Reshapes the inputs (batch axis excluded) to ``target_shape``.

    Args:
        target_shape: Tuple of integers, the new shape without the batch axis. One entry may be
            ``-1``: it is inferred from the input size and the other entries.

    Input shape:
        Any, with as many elements per sample as ``target_shape`` describes.

    Output shape:
        ``(batch_size,) + target_shape``.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Reshape((3, 4), input_shape=(12,)))
    >>> model.output_shape
    (None, 3, 4)
    >>> model.add(lamina.layers.Reshape((-1, 2, 2)))
    >>> model.output_shape
    (None, 3, 2, 2)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _validate_target_shape(target_shape)
        self.built = True

    def call(self, inputs):
        shape = _resolve_target_shape(tuple(inputs.shape[1:]), self.target_shape, self.name)
        return inputs.reshape((inputs.shape[0],) + shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + _resolve_target_shape(
            tuple(input_shape[1:]), self.target_shape, self.name
        )

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
