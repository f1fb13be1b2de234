"""``BaseConvTranspose``: transposed convolution of ``Conv{1,2,3}DTranspose``."""

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops import _conv_math
from lamina.saving import serialization_lib
from lamina.utils.argument_validation import standardize_tuple


class BaseConvTranspose(Layer):
    """Abstract N-D transposed convolution (sometimes called deconvolution).

    It maps something shaped like the output of a convolution back to the shape of that
    convolution's input, with the same connectivity: it is the gradient of a convolution with
    respect to its input, plus a bias.

    Args:
        rank: Number of spatial dimensions (1, 2 or 3).
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of ``rank`` ints, the window size.
        strides: Int or tuple of ``rank`` ints, the upsampling step. A stride above 1 cannot be
            combined with a dilation rate above 1.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        output_padding: ``None`` (the output size is inferred) or int / tuple of ``rank`` ints,
            extra cells added at the end of each spatial axis; each must be smaller than the
            stride on that axis.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of ``rank`` ints, the spacing between kernel taps.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.

    Output size along each spatial axis, with ``k = (kernel_size - 1) * dilation_rate + 1``:
    with ``output_padding=None``, ``length * stride`` for ``"same"`` and
    ``length * stride + max(k - stride, 0)`` for ``"valid"``; otherwise
    ``(length - 1) * stride + k - 2 * pad + output_padding`` where ``pad`` is ``k // 2`` for
    ``"same"`` and ``0`` for ``"valid"``.

    The kernel has the Keras layout ``(*kernel_size, filters, input_channels)``.
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        _conv_math.pop_legacy_groups(kwargs, type(self).__name__)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = _conv_math.standardize_positive_int(filters, "filters")
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        _conv_math.check_strides_and_dilation(self.strides, self.dilation_rate)
        self.padding = _conv_math.standardize_padding(padding, ("valid", "same"))
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = standardize_tuple(
                output_padding, rank, "output_padding", allow_zero=True
            )
            for axis, (pad, stride) in enumerate(zip(self.output_padding, self.strides)):
                if pad >= stride:
                    raise ValueError(
                        "`output_padding` must be strictly less than `strides` for all "
                        f"dimensions. At dimension {axis}, `output_padding` is {pad} but `strides` "
                        f"is {stride}. Received: output_padding={self.output_padding}, "
                        f"strides={self.strides}"
                    )
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
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels),
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

    def call(self, inputs):
        out = _conv_math.conv_transpose(
            _conv_math.to_channels_first(inputs, self.data_format),
            _conv_math.torch_kernel(self.kernel), self.bias, self.strides, self.padding,
            self.output_padding, self.dilation_rate,
        )
        # Back in the layer's layout first: softmax-like activations act on its last axis.
        out = _conv_math.from_channels_first(out, self.data_format)
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def compute_output_shape(self, input_shape):
        spatial = _conv_math.spatial_shape(input_shape, self.rank, self.data_format, self.name)
        paddings = self.output_padding or (None,) * self.rank
        lengths = tuple(
            _conv_math.conv_transpose_output_length(n, k, s, self.padding, op, d)
            for n, k, s, op, d in zip(
                spatial, self.kernel_size, self.strides, paddings, self.dilation_rate
            )
        )
        return _conv_math.output_shape(input_shape, lengths, self.filters, self.data_format)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "output_padding": self.output_padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
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
        return config
