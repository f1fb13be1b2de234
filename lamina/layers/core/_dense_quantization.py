"""Quantization (int8, int4, float8) and LoRA for ``Dense``: its variables, calls and saving.

Variable names, shapes and the saved order follow Keras 3.15: int8 keeps an int8 ``kernel`` and a
per-unit ``kernel_scale``; int4 packs two values per byte along the units axis
(``(input_dim, ceil(units / 2))``) with one scale per unit, or, with a ``block_size``, a scale
and a zero point per block of input rows and unit (``kernel_zero``, ``g_idx``); float8 keeps
the float kernel plus scales and amax histories for the inputs, the kernel and the output
gradients; LoRA adds ``lora_kernel_a`` / ``lora_kernel_b`` and
freezes the kernel, and a saved LoRA layer holds the merged kernel.
"""

import math

import torch

from lamina.backend.call_context import call_context_training
from lamina.ops import quantization as q

_SPEC = {
    None: ("kernel", "bias"),
    "int8": ("kernel", "bias", "kernel_scale"),
    "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
    "float8": (
        "kernel",
        "bias",
        "inputs_scale",
        "inputs_amax_history",
        "kernel_scale",
        "kernel_amax_history",
        "outputs_grad_scale",
        "outputs_grad_amax_history",
    ),
}


def _quantizers():
    # `lamina.quantizers` imports the saving registry, which imports layers: import when used.
    from lamina import quantizers

    return quantizers


class DenseQuantization:
    """``Dense``'s ``enable_lora``, ``quantize`` and the quantized calls."""

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freeze the kernel and train a low-rank update ``lora_kernel_a @ lora_kernel_b`` instead.

        The layer computes with ``kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b``.

        Args:
            rank: Inner dimension of the two factors.
            lora_alpha: Scale numerator of the update; defaults to ``rank``.
            a_initializer: Initializer of ``lora_kernel_a`` ``(input_dim, rank)``.
            b_initializer: Initializer of ``lora_kernel_b`` ``(rank, units)`` (zeros: the layer
                starts out unchanged).
        """
        self._check_lora_allowed(self.kernel_constraint, "kernel")
        base = self._kernel_variable()
        self.lora_kernel_a, self.lora_kernel_b = self._add_lora_weights(
            base, "lora_kernel_a", "lora_kernel_b", (base.shape[0], rank), (rank, self.units), rank,
            lora_alpha, a_initializer, b_initializer, self.kernel_regularizer,
        )
        self.__dict__["_kernel"] = base
        self._set_computed_attribute("kernel", DenseQuantization._merged_kernel)
        self._select_call()
        self._install_variable_hooks()

    def _kernel_variable(self):
        kernel = self.__dict__.get("_kernel")
        return kernel if kernel is not None else self.__dict__["kernel"]

    def _lora_delta(self):
        return (self.lora_alpha / self.lora_rank) * torch.matmul(self.lora_kernel_a, self.lora_kernel_b)

    def _base_kernel(self):
        """The stored kernel, int4 values unpacked (what Keras's ``kernel`` shows)."""
        kernel = self.__dict__["_kernel"]
        if self.quantization_mode == "int4":
            kernel = q.unpack_int4(kernel, self.units, axis=-1)
        return kernel

    def _merged_kernel(self):
        kernel = self._base_kernel()
        if not self.lora_enabled:
            return kernel
        return (kernel + self._lora_delta()).to(self._compute_torch_dtype)

    def _select_call(self):
        from lamina.layers.core.dense import Dense

        if type(self).call is not Dense.call:
            # A subclass's own `call` reads `self.kernel`, which then is the merged kernel.
            return
        mode = self.quantization_mode
        if mode is not None:
            self._use_call(self.quantized_call)
        elif self.lora_enabled:
            self._use_call(self._lora_call)

    def _lora_call(self, inputs):
        out = torch.matmul(inputs, self._merged_kernel())
        return self._finish(out)

    def _finish(self, out):
        if self.bias is not None:
            out = out + self.bias
        if self.activation is not self._linear:
            out = self.activation(out)
        return out

    # --- quantization ----------------------------------------------------------------------------
    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the kernel in place: ``"int8"``, ``"int4"`` or ``"float8"``.

        Args:
            mode: ``"int8"`` (per-unit abs-max), ``"int4"`` (per unit, or per block of input
                rows with ``Int4QuantizationConfig(block_size=...)``; Keras's default block is
                128) or ``"float8"``.
            type_check: Refuse subclasses of ``Dense`` (which may compute differently).
            config: An ``Int8QuantizationConfig``, ``Int4QuantizationConfig`` or
                ``Float8QuantizationConfig``; ``None`` for the mode's default config.
        """
        from lamina.layers.core.dense import Dense

        if type_check and type(self) is not Dense:
            raise self._not_implemented_error(self.quantize)
        config = _quantizers()._resolve_config(mode, config)
        mode = config.mode
        self._check_quantize_args(mode, self.compute_dtype)
        if mode not in ("int8", "int4", "float8"):
            raise NotImplementedError(
                f"Layer '{self.name}' (Dense): quantization mode '{mode}' is not supported by "
                "Lamina; use 'int8', 'int4' or 'float8'."
            )
        self.quantization_config = config
        kernel = self._kernel_variable()
        shape = tuple(kernel.shape)
        if mode == "int4":
            values, scale, zero = self._int4_quantize(kernel.detach(), config)
            self._replace_kernel(shape, mode, config)
            with torch.no_grad():
                self._kernel.copy_(values)
                self.kernel_scale.copy_(scale)
                if zero is not None:
                    self.kernel_zero.copy_(zero)
        elif mode == "int8":
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=0)
            )
            values, scale = quantizer(kernel.detach(), to_numpy=True)
            self.__dict__.get("_computed_attributes", {}).pop("kernel", None)
            self._remove_variable("kernel")
            self.__dict__.pop("_kernel", None)
            self.quantized_build(shape, mode)
            with torch.no_grad():
                self._kernel.copy_(values)
                self.kernel_scale.copy_(scale.reshape(-1))
        else:
            self.quantized_build(shape, mode)
        self._set_quantized_policy(self._policy_mode(mode, config))
        self._select_call()

    def _policy_mode(self, mode, config):
        if mode != "int4":
            return mode
        block_size = _quantizers()._int4_block_size(self, config)
        return f"int4/{-1 if block_size is None else block_size}"

    def _replace_kernel(self, shape, mode, config):
        self.__dict__.get("_computed_attributes", {}).pop("kernel", None)
        self._remove_variable("kernel")
        self.__dict__.pop("_kernel", None)
        self.quantized_build(shape, mode, config)

    def _int4_quantize(self, kernel, config, axis=0):
        """Packed int4 values, scale and zero point (``None`` per channel) of a float kernel."""
        block_size = _quantizers()._int4_block_size(self, config)
        zero = None
        if block_size is None:
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=axis, value_range=(-8, 7), output_dtype="int8")
            )
            values, scale = quantizer(kernel, to_numpy=True)
            scale = scale.squeeze(axis)
        else:
            values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(kernel, block_size=block_size)
        packed, _, _ = q.pack_int4(values, axis=-1)
        return packed, scale, zero

    def quantized_build(self, kernel_shape, mode, config=None):
        """Create the variables of quantization ``mode`` for a kernel of ``kernel_shape``."""
        if mode == "int8":
            self.inputs_quantizer = _quantizers().QuantizationConfig.activation_quantizer_or_default(
                self.quantization_config, _quantizers().AbsMaxQuantizer()
            )
            kernel = self.add_weight(
                name="kernel", shape=kernel_shape, initializer="zeros", dtype="int8", trainable=False
            )
            self.kernel_scale = self.add_weight(
                name="kernel_scale", shape=(self.units,), initializer="ones", trainable=False
            )
            self.__dict__["_kernel"] = kernel
            if self.lora_enabled:
                self._set_computed_attribute("kernel", DenseQuantization._merged_kernel)
        elif mode == "int4":
            self._int4_build(kernel_shape, config if config is not None else self.quantization_config)
        elif mode == "float8":
            self._float8_build()
        else:
            raise self._quantization_mode_error(mode)
        self.__dict__["_is_quantized"] = True
        self._install_variable_hooks()

    def _int4_build(self, kernel_shape, config):
        input_dim, units = kernel_shape
        self.inputs_quantizer = _quantizers().QuantizationConfig.activation_quantizer_or_default(config, None)
        self.__dict__["_kernel"] = self.add_weight(
            name="kernel", shape=(input_dim, (units + 1) // 2), initializer="zeros", dtype="int8",
            trainable=False,
        )
        block_size = _quantizers()._int4_block_size(self, config)
        self._int4_block_size = block_size
        shape = (units,) if block_size is None else (math.ceil(input_dim / block_size), units)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=shape, initializer="ones", trainable=False)
        if block_size is not None:
            self.kernel_zero = self.add_weight(
                name="kernel_zero", shape=shape, initializer="zeros", dtype="int8", trainable=False
            )
            self.g_idx = self.add_weight(
                name="g_idx", shape=(input_dim,), dtype="float32", trainable=False,
                initializer=lambda shape, dtype=None: torch.div(
                    torch.arange(shape[0], dtype=torch.float32), block_size, rounding_mode="floor"
                ),
            )
        # `kernel` reads as the unpacked int4 values (LoRA-merged when enabled), as in Keras.
        self._set_computed_attribute("kernel", DenseQuantization._merged_kernel)

    def _float8_build(self):
        length = getattr(self.dtype_policy, "amax_history_length", 1024)
        for name in _SPEC["float8"][2:]:
            shape = (length,) if name.endswith("history") else ()
            variable = self.add_weight(
                name=name, shape=shape, initializer="zeros" if shape else "ones", dtype="float32",
                autocast=False, overwrite_with_gradient=True,
            )
            try:
                variable.overwrite_with_gradient = True
            except AttributeError:  # A read-only property of `Variable` already says so.
                pass
            setattr(self, name, variable)

    def _int8_call(self, inputs):
        kernel = self.__dict__["_kernel"]
        out = q.int8_matmul(inputs, kernel, self.kernel_scale.to(inputs.dtype), self.inputs_quantizer)
        if self.lora_enabled:
            lora = torch.matmul(torch.matmul(inputs, self.lora_kernel_a), self.lora_kernel_b)
            out = (out + (self.lora_alpha / self.lora_rank) * lora).to(self._compute_torch_dtype)
        return self._finish(out)

    def _int4_call(self, inputs):
        unpacked = q.unpack_int4(self.__dict__["_kernel"], self.units, axis=-1)
        if self._int4_block_size is None:
            out = q.int8_matmul(inputs, unpacked, self.kernel_scale.to(inputs.dtype), self.inputs_quantizer)
        else:
            kernel = q.dequantize_with_sz_map(unpacked, self.kernel_scale, self.kernel_zero, self.g_idx)
            out = torch.matmul(inputs, kernel.to(inputs.dtype))
        if self.lora_enabled:
            lora = torch.matmul(torch.matmul(inputs, self.lora_kernel_a), self.lora_kernel_b)
            out = (out + (self.lora_alpha / self.lora_rank) * lora).to(self._compute_torch_dtype)
        return self._finish(out)

    def _float8_call(self, inputs):
        if self.lora_enabled:
            raise NotImplementedError("Currently, `_float8_call` doesn't support LoRA")
        training = bool(call_context_training())
        kernel = self._kernel_variable()
        x = q.float8_qdq_inputs(inputs, self.inputs_scale, self.inputs_amax_history, training)
        k = q.float8_qdq_inputs(kernel, self.kernel_scale, self.kernel_amax_history, training)
        out = q.float8_qdq_output_gradients(
            torch.matmul(x, k), self.outputs_grad_scale, self.outputs_grad_amax_history
        )
        if self.bias is not None:
            bias = self.bias
            if bias.dtype == torch.float32 and out.dtype == torch.float32:
                # Keras rounds a float32 bias through bfloat16 here (for XLA's fused bias add).
                bias = bias.to(torch.bfloat16).to(torch.float32)
            out = out + bias
        if self.activation is not self._linear:
            out = self.activation(out)
        return out

    def _standardize_quantization_config(self, config):
        config = _quantizers().deserialize(config)
        if config is not None and not isinstance(config, _quantizers().QuantizationConfig):
            raise ValueError(
                f"Layer '{self.name}': `quantization_config` must be a QuantizationConfig. Received: {config!r}"
            )
        if config is not None and config.mode not in ("int8", "int4", "float8"):
            raise NotImplementedError(f"Layer '{self.name}': quantization mode '{config.mode}' is not supported by Lamina.")
        return config

    # --- saving ----------------------------------------------------------------------------------
    def _serialized_variables(self):
        variables = []
        for name in _SPEC[self.quantization_mode]:
            if name == "kernel":
                variables.append(self._kernel_variable())
            elif name == "bias" and self.bias is None:
                continue
            elif name in ("kernel_zero", "g_idx") and self.__dict__.get("_int4_block_size") is None:
                continue  # Only sub-channel int4 has them.
            else:
                variables.append(getattr(self, name))
        return variables

    def _serialized_values(self):
        values = self._serialized_variables()
        if not self.lora_enabled:
            return values
        mode = self.quantization_mode
        if mode is None:
            values[0] = self._merged_kernel()
        elif mode == "int8":
            # Keras merges the update into the dequantized kernel and quantizes again.
            kernel = self.__dict__["_kernel"].to(torch.float32) / self.kernel_scale
            merged, scale = q.abs_max_quantize(kernel + self._lora_delta(), axis=0, to_numpy=True)
            values[0] = merged
            values[-1] = scale.reshape(-1)
        elif mode == "int4":
            kernel = q.unpack_int4(self.__dict__["_kernel"], self.units, axis=-1)
            if self._int4_block_size is None:
                kernel = kernel.to(torch.float32) / self.kernel_scale
            else:
                kernel = q.dequantize_with_sz_map(kernel, self.kernel_scale, self.kernel_zero, self.g_idx)
            packed, scale, zero = self._int4_quantize(kernel + self._lora_delta(), self.quantization_config)
            values[0], values[2 if self.bias is not None else 1] = packed, scale
            if zero is not None:
                values[3 if self.bias is not None else 2] = zero
        return values
