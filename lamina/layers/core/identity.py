"""``Identity``: a placeholder layer that returns its inputs."""

from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Identity(Layer):
    """Returns its inputs unchanged (masks included).

    Useful as a placeholder where a layer is expected but no operation should happen.

    Args:
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary (a tensor or a nested structure of tensors).

    Output shape:
        Same as the input.

    Example:

    >>> lamina.layers.Identity()(np.ones((2, 3))).shape
    torch.Size([2, 3])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs
