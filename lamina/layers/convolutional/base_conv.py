"""``BaseConv``: the N-D convolution layer behind ``Conv1D``, ``Conv2D`` and ``Conv3D``."""

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.config import standardize_data_format
from lamina.layers import _inference
from lamina.layers._quantization import check_lora_arguments
from lamina.layers.convolutional._conv_lora import ConvLora
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops import _conv_math
from lamina.saving import serialization_lib
from lamina.utils.argument_validation import standardize_tuple


class BaseConv(ConvLora, Layer):
    """Abstract N-D convolution: ``activation(conv(inputs, kernel) + bias)``.

    Subclasses fix ``rank``; everything else is shared.

    Args:
        rank: Number of spatial dimensions (1, 2 or 3).
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of ``rank`` ints, the window size.
        strides: Int or tuple of ``rank`` ints, the step of the window. A stride above 1 cannot be
            combined with a dilation rate above 1.
        padding: ``"valid"`` (no padding), ``"same"`` (pad so that the output has
            ``ceil(input / stride)`` positions; an odd total puts the extra cell at the end) or,
            for ``rank=1`` only, ``"causal"`` (pad the start so that ``output[t]`` never sees
            ``input[t + 1:]``). Case-insensitive.
        data_format: ``"channels_last"`` (``(batch, *spatial, channels)``) or
            ``"channels_first"`` (``(batch, channels, *spatial)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of ``rank`` ints, the spacing between kernel taps.
        groups: Positive integer; input and output channels are split into this many groups,
            each convolved separately. ``filters`` and the input channels must be divisible by it.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.
        lora_rank: If set, the layer is built with LoRA enabled at this rank (see
            ``enable_lora``): the kernel is frozen and two small factors train instead.
        lora_alpha: Scale numerator of the LoRA update (defaults to ``lora_rank``).

    The kernel has the Keras layout ``(*kernel_size, input_channels // groups, filters)``.
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        **kwargs,
    ):
        check_lora_arguments(lora_rank, lora_alpha)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.rank = rank
        self.filters = _conv_math.standardize_positive_int(filters, "filters")
        self.groups = _conv_math.standardize_groups(groups)
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={self.groups}, filters={self.filters}."
            )
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        _conv_math.check_strides_and_dilation(self.strides, self.dilation_rate)
        allowed = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = _conv_math.standardize_padding(padding, allowed)
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = _conv_math.input_channels(input_shape, self.rank, self.data_format, self.name)
        if channels % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. "
                f"Received groups={self.groups}, but the input has {channels} channels "
                f"(full input shape is {tuple(input_shape)})."
            )
        # Fails early on a spatial size the kernel does not fit in.
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def call(self, inputs):
        # In predict/evaluate, positions no later layer reads may be cut off first, and a large
        # output may be pooled by the pooling layer after it, a slice of the batch at a time (or,
        # compiled, all at once without storing the convolution's output).
        inputs = _inference.cropped(self, inputs)
        pooled = _inference.compiled_max_pool(self, inputs)
        if pooled is not None:
            return pooled
        chunked = _inference.chunked_pool(self, inputs)
        if chunked is not None:
            return _inference.conv_pool_in_chunks(self, *chunked, inputs)
        return self._convolve(inputs)

    def _convolve(self, inputs):
        x = _conv_math.to_channels_first(inputs, self.data_format)
        # In predict/evaluate, a BatchNormalization right after may be folded into the weights.
        folded = _inference.folded_weights(self, x)
        kernel, bias = folded or (_conv_math.torch_kernel(self.kernel), self.bias)
        try:
            out = _conv_math.conv(
                x, kernel, bias, self.strides, self.padding, self.dilation_rate, self.groups
            )
        except RuntimeError:
            # torch rejects inputs smaller than the kernel; say so in Keras's words.
            self.compute_output_shape(tuple(inputs.shape))
            raise
        # Back in the layer's layout first: softmax-like activations act on its last axis.
        out = _conv_math.from_channels_first(out, self.data_format)
        # In predict/evaluate, a ReLU layer reading only this output may be applied here, in place.
        if _inference.takes_relu(self, out, folded is not None):
            return out
        if self.activation is not activations.linear and not _inference.relu_deferred(self):
            out = _inference.activate(self.activation, out)
        return out

    def compute_output_shape(self, input_shape):
        return _conv_math.conv_output_shape(
            input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.dilation_rate, self.data_format, self.name,
        )

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "groups": self.groups,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": s(self.kernel_initializer),
                "bias_initializer": s(self.bias_initializer),
                "kernel_regularizer": s(self.kernel_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "activity_regularizer": s(self.activity_regularizer),
                "kernel_constraint": s(self.kernel_constraint),
                "bias_constraint": s(self.bias_constraint),
            }
        )
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config
