"""``BaseDepthwiseConv``: the per-channel convolution of ``DepthwiseConv{1,2}D``."""

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops import _conv_math
from lamina.saving import serialization_lib
from lamina.utils.argument_validation import standardize_tuple


class BaseDepthwiseConv(Layer):
    """Abstract N-D depthwise convolution.

    Every input channel is convolved with its own ``depth_multiplier`` filters and never mixed with
    the other channels, so the output has ``input_channels * depth_multiplier`` channels (those of
    input channel ``c`` at positions ``c * depth_multiplier + m``).

    Args:
        rank: Number of spatial dimensions (1 or 2).
        depth_multiplier: Positive integer, output channels per input channel.
        kernel_size: Int or tuple of ``rank`` ints, the window size.
        strides: Int or tuple of ``rank`` ints, the step of the window.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of ``rank`` ints, the spacing between kernel taps.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector of size ``input_channels * depth_multiplier``.
        depthwise_initializer, bias_initializer: Initializers for the kernel and the bias.
        depthwise_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        depthwise_constraint, bias_constraint: Constraints applied after optimizer updates.

    The weight ``kernel`` has the Keras layout ``(*kernel_size, input_channels, depth_multiplier)``.
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        rank,
        depth_multiplier,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        _conv_math.pop_legacy_groups(kwargs, type(self).__name__)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.depth_multiplier = _conv_math.standardize_positive_int(
            depth_multiplier, "depth_multiplier"
        )
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = _conv_math.standardize_padding(padding, ("valid", "same"))
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = _conv_math.input_channels(input_shape, self.rank, self.data_format, self.name)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(channels * self.depth_multiplier,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})
        self.built = True

    def call(self, inputs):
        x = _conv_math.to_channels_first(inputs, self.data_format)
        try:
            out = _conv_math.conv(
                x, _conv_math.torch_depthwise_kernel(self.kernel), self.bias, self.strides,
                self.padding, self.dilation_rate, groups=self.kernel.shape[-2],
            )
        except RuntimeError:
            self.compute_output_shape(tuple(inputs.shape))
            raise
        # Back in the layer's layout first: softmax-like activations act on its last axis.
        out = _conv_math.from_channels_first(out, self.data_format)
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return _conv_math.conv_output_shape(
            input_shape, None if channels is None else channels * self.depth_multiplier,
            self.kernel_size, self.strides, self.padding, self.dilation_rate, self.data_format,
            self.name,
        )

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "depth_multiplier": self.depth_multiplier,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "depthwise_initializer": s(self.depthwise_initializer),
                "bias_initializer": s(self.bias_initializer),
                "depthwise_regularizer": s(self.depthwise_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "activity_regularizer": s(self.activity_regularizer),
                "depthwise_constraint": s(self.depthwise_constraint),
                "bias_constraint": s(self.bias_constraint),
            }
        )
        return config
