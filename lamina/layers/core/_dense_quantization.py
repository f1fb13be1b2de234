"""Quantization (int8, int4, float8; GPTQ/AWQ via ``_calibrated_kernel``) and LoRA for ``Dense``.

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
from lamina.backend.quantized_dtype_policy import QUANTIZATION_MODES
from lamina.layers import _quantized_weights as qw
from lamina.layers._calibrated_kernel import CALIBRATED_MODES, CalibratedKernel
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


_quantizers = qw._quantizers


class DenseQuantization(CalibratedKernel, qw.QuantizedKernel):
    """``Dense``'s ``enable_lora``, ``quantize`` and the quantized calls."""

    def _lora_base_shape(self, base):
        # An int4 kernel is packed along the units: the LoRA factors see the unpacked shape.
        return (base.shape[0], self.units)

    def _base_kernel(self):
        """The stored kernel, int4 values unpacked (what Keras's ``kernel`` shows)."""
        kernel = self.__dict__["_kernel"]
        if self.quantization_mode == "int4":
            kernel = q.unpack_int4(kernel, self.units, axis=-1)
        return kernel

    def _select_call(self):
        from lamina.layers.core.dense import Dense

        qw.select_call(self, Dense)

    def _lora_call(self, inputs):
        out = torch.matmul(inputs, self._merged_kernel())
        return self._finish(out)

    # --- quantization ----------------------------------------------------------------------------
    def _quantization_base_class(self):
        from lamina.layers.core.dense import Dense

        return Dense

    def _int8_quantize(self, kernel, config):
        """int8 values and the per-unit scale of a float kernel."""
        quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
            config, _quantizers().AbsMaxQuantizer(axis=0)
        )
        values, scale = quantizer(kernel, to_numpy=True)
        return values, scale.reshape(-1)

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
                self._set_computed_attribute("kernel", qw.merged_kernel)
        elif mode == "int4":
            self._int4_build(kernel_shape, config if config is not None else self.quantization_config)
        elif mode == "float8":
            self._float8_build()
        elif mode in CALIBRATED_MODES:
            self._calibrated_build(kernel_shape, mode, config if config is not None else self.quantization_config)
        else:
            raise self._quantization_mode_error(mode)
        self.__dict__["_is_quantized"] = True
        self._install_variable_hooks()

    def _calibrated_product(self, inputs, kernel):
        return self._finish(torch.matmul(inputs, kernel.to(inputs.dtype)))

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
        qw.add_int4_scales(self, "kernel", shape, input_dim, block_size)
        # `kernel` reads as the unpacked int4 values (LoRA-merged when enabled), as in Keras.
        self._set_computed_attribute("kernel", qw.merged_kernel)

    def _float8_build(self):
        length = getattr(self._resolved_dtype_policy, "amax_history_length", 1024)
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
            out = qw.add_lora_output(self, out, lora)
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
            out = qw.add_lora_output(self, out, lora)
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
        return self._float8_finish(out, out.dtype == torch.float32)

    def _standardize_quantization_config(self, config):
        config = _quantizers().deserialize(config)
        if config is not None and not isinstance(config, _quantizers().QuantizationConfig):
            raise ValueError(
                f"Layer '{self.name}': `quantization_config` must be a QuantizationConfig. Received: {config!r}"
            )
        if config is not None and config.mode not in QUANTIZATION_MODES:
            raise NotImplementedError(f"Layer '{self.name}': quantization mode '{config.mode}' is not supported by Lamina.")
        return config

    # --- saving ----------------------------------------------------------------------------------
    def _quantization_spec(self):
        return _SPEC

    def _dequantized_kernel(self):
        if self.quantization_mode == "int8":
            return self.__dict__["_kernel"].to(torch.float32) / self.kernel_scale
        kernel = q.unpack_int4(self.__dict__["_kernel"], self.units, axis=-1)
        if self._int4_block_size is None:
            return kernel.to(torch.float32) / self.kernel_scale
        return q.dequantize_with_sz_map(kernel, self.kernel_scale, self.kernel_zero, self.g_idx)

    def _int8_requantize(self, kernel):
        merged, scale = q.abs_max_quantize(kernel, axis=0, to_numpy=True)
        return merged, scale.reshape(-1)
