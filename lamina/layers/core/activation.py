"""``Activation``: applies an activation function element-wise."""

from lamina import activations
from lamina.layers import _inference
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: An activation name (``"relu"``, ``"softmax"``, ...), a config dict, or any
            callable taking a tensor and returning a tensor. ``None`` means linear.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary. Use ``input_shape`` (without the batch axis) when it is the first layer of a
        model.

    Output shape:
        Same shape as the input.

    Example:

    >>> layer = lamina.layers.Activation("relu")
    >>> layer(np.array([-3.0, -1.0, 0.0, 2.0]))
    tensor([0., 0., 0., 2.])
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True
        # No weights: the layer is usable (and reports `built`) as soon as it exists, as in Keras.
        self.built = True

    def call(self, inputs):
        if _inference.rectified_already(self, inputs):
            return inputs  # the convolution before applied this ReLU (predict / evaluate)
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
