"""``Permute``: reorder the non-batch axes."""

import numbers

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _validate_dims(dims):
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise ValueError(
            f"Argument `dims` must be a tuple of integers. Received: dims={dims!r}"
        )
    dims = tuple(dims)
    if any(isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in dims) or sorted(
        dims
    ) != list(range(1, len(dims) + 1)):
        raise ValueError(
            "Invalid permutation argument `dims` for Permute layer: it must be a permutation of "
            f"1..{len(dims)} (indexing starts at 1, the batch axis is excluded). "
            f"Received: dims={dims!r}"
        )
    return tuple(int(d) for d in dims)


@register_builtin("keras.layers")
class Permute(Layer):
    """Permutes the non-batch axes of the input following ``dims``.

    Useful, for example, to connect RNNs and convnets. The output is a permuted view of the
    input (no copy), as torch's ``permute`` gives.

    Args:
        dims: Tuple of integers, the permutation of the non-batch axes, counted from 1. For
            example ``(2, 1)`` swaps the first and second axes after the batch axis.

    Input shape:
        Tensor of rank ``len(dims) + 1``.

    Output shape:
        The input shape with its non-batch axes reordered by ``dims``.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Permute((2, 1), input_shape=(10, 64)))
    >>> model.output_shape
    (None, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = _validate_dims(dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return inputs.permute(0, *self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config
