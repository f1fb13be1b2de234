"""``Dense``: ``activation(inputs @ kernel + bias)`` on the last axis."""

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.layers import _inference
from lamina.backend.quantized_dtype_policy import QUANTIZATION_MODES
from lamina.layers._quantization import check_lora_arguments
from lamina.layers.core._dense_quantization import DenseQuantization
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops._utils import is_int
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Dense(DenseQuantization, Layer):
    """A densely connected layer: ``output = activation(dot(input, kernel) + bias)``.

    Inputs of rank > 2 are multiplied along their last axis (every other axis is kept).

    Args:
        units: Positive integer, size of the output space.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        kernel_initializer: Initializer for the ``(input_dim, units)`` kernel.
        bias_initializer: Initializer for the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the weights.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.
        lora_rank: If set, the layer is built with LoRA enabled at this rank (see
            ``enable_lora``): the kernel is frozen and two small factors train instead.
        lora_alpha: Scale numerator of the LoRA update (defaults to ``lora_rank``).

    A ``dtype`` such as ``"int8_from_float32"``, ``"int4/128_from_float32"``,
    ``"float8_from_mixed_bfloat16"`` or ``"gptq/4/128_from_float32"`` builds the
    layer already quantized (to load quantized weights); ``quantize(mode)`` quantizes a built one
    (GPTQ and AWQ through ``Model.quantize``, which calibrates them).

    Input shape:
        N-D tensor ``(batch_size, ..., input_dim)``.

    Output shape:
        N-D tensor ``(batch_size, ..., units)``.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Dense(32, input_shape=(16,)))
    >>> model.output_shape
    (None, 32)
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        units,
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
        quantization_config=None,
        **kwargs,
    ):
        check_lora_arguments(lora_rank, lora_alpha)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        # numpy integers are accepted as Keras 2 did (`Dense(np.max(y) + 1)` is common).
        if not is_int(units) or units <= 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive integer. Received: "
                f"units={units!r}"
            )
        units = int(units)
        if self.quantization_mode not in (None,) + QUANTIZATION_MODES:
            raise ValueError(
                f"Dense layer '{self.name}': quantization mode '{self.quantization_mode}' is not "
                f"supported by Lamina (dtype={self.dtype_policy.name!r}); use int8, int4, float8, gptq or awq."
            )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = self._standardize_quantization_config(quantization_config)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        self._linear = activations.linear

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"The last dimension of the inputs to Dense layer '{self.name}' should be defined. "
                f"Found None. Full input shape received: {tuple(input_shape)}"
            )
        mode = self.quantization_mode
        if mode is not None:
            self.quantized_build((input_dim, self.units), mode)
        if mode not in ("int8", "int4", "gptq", "awq"):
            self.kernel = self.add_weight(
                shape=(input_dim, self.units),
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
                name="kernel",
            )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)
        self._select_call()

    def call(self, inputs):
        # addmm/matmul on the (in, units) kernel: F.linear would need a transposed copy per call.
        if self.bias is not None:
            if inputs.dim() == 2:
                # In predict/evaluate a narrow kernel may be read from a transposed copy.
                transposed = _inference.transposed_kernel(self, inputs)
                kernel = self.kernel if transposed is None else transposed.t()
                out = torch.addmm(self.bias, inputs, kernel)
            else:
                # One addmm on the flattened batch: the bias is added inside the product.
                flat = torch.addmm(self.bias, inputs.reshape(-1, inputs.shape[-1]), self.kernel)
                out = flat.view(*inputs.shape[:-1], self.units)
        else:
            out = torch.matmul(inputs, self.kernel)
        if self.activation is not self._linear:
            out = _inference.activate(self.activation, out)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": s(self.kernel_initializer),
                "bias_initializer": s(self.bias_initializer),
                "kernel_regularizer": s(self.kernel_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "kernel_constraint": s(self.kernel_constraint),
                "bias_constraint": s(self.bias_constraint),
                "quantization_config": s(self.quantization_config),
            }
        )
        if self.activity_regularizer is not None:
            # Keras's Dense writes the key only when it is set (its base Layer's rule).
            config["activity_regularizer"] = s(self.activity_regularizer)
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config
