"""Quantization (int8, int4, float8) and LoRA for ``EinsumDense``: its variables, calls and saving.

The variables and their saved order follow Keras 3.15. int8 quantizes the kernel per output
position (abs-max over the kernel axes the equation contracts) and, by default, the inputs per
position too; the scales are stored already laid out to broadcast against the einsum's output
(reduced axes kept or dropped, axes ordered like the output), so their shapes equal Keras's.
int4 flattens the kernel to ``(contracted size, other size)`` (a plain reshape, as Keras does),
packs two values per byte along the second axis and keeps a scale per column, or per block of
rows and column with a zero point.
"""

import math
import string

import numpy as np
import torch

# `call_context_training` through Dense's module: one place says where it comes from.
from lamina.layers import _quantized_weights as qw
from lamina.layers._calibrated_kernel import CALIBRATED_MODES, CalibratedKernel
from lamina.layers.core._dense_quantization import _SPEC, _quantizers, call_context_training
from lamina.ops import quantization as q


def _full_specs(equation, ndim):
    """Input, weight and output letters of ``equation`` with any ellipsis spelled out."""
    inputs, rest = equation.split(",")
    weight, output = rest.split("->")
    if "..." not in inputs:
        return inputs, weight, output
    named = inputs.replace("...", "")
    spare = sorted(set(string.ascii_letters) - set(named) - set(weight) - set(output.replace("...", "")))
    extra = "".join(spare[: ndim - len(named)])
    if inputs.startswith("..."):
        return extra + named, weight, extra + output[3:]
    return named + extra, weight, output[:-3] + extra


def _scale_layout(spec, output, index):
    """How a keepdims scale over ``spec``'s contracted axes is laid out against ``output``.

    Returns ``(reduced, transpose, expand, squeeze, index)``: the scale is transposed, then
    gets the ``expand`` axes, then loses the ``squeeze`` axes. Each contracted axis takes the
    place of an output axis that ``spec`` lacks; when none is left it is squeezed away and
    inserted at the last place used (``index``, carried across calls as Keras does).
    """
    reduced = [i for i, c in enumerate(spec) if c not in output]
    expand = [i for i, c in enumerate(output) if c not in spec]
    transpose = [spec.index(c) for c in output if c in spec]
    squeeze = []
    for axis in reduced:
        if expand:
            index = expand.pop(0)
        else:
            squeeze.append(axis)
        transpose.insert(index, axis)
    return reduced, transpose, expand, squeeze, index


class _Layout:
    """The scale layouts of an equation for inputs of rank ``ndim`` (Keras's quantization info)."""

    def __init__(self, equation, ndim):
        inputs, weight, output = _full_specs(equation, ndim)
        index = output.find(weight[-1])
        (self.input_reduced, self.input_transpose, self.input_expand, self.input_squeeze,
         index) = _scale_layout(inputs, output, index)
        (self.kernel_reduced, self.kernel_transpose, self.kernel_expand, self.kernel_squeeze,
         _) = _scale_layout(weight, output, index)
        # The einsum that takes an output gradient back to the inputs.
        lhs, rest = equation.split(",")
        kernel, out = rest.split("->")
        self.gradient_equation = f"{out},{kernel}->{lhs}"

    def to_output(self, scale, kind):
        """Lay a keepdims scale (of the inputs or the kernel) out against the output."""
        transpose, expand, squeeze = (
            (self.input_transpose, self.input_expand, self.input_squeeze)
            if kind == "input"
            else (self.kernel_transpose, self.kernel_expand, self.kernel_squeeze)
        )
        if transpose:
            scale = scale.permute(*transpose)
        for axis in sorted(expand):
            scale = scale.unsqueeze(axis)
        if squeeze:
            scale = scale.squeeze(tuple(squeeze))
        return scale

    def to_kernel(self, scale):
        """The inverse of ``to_output(scale, "kernel")``: a scale broadcasting against the kernel."""
        for axis in sorted(self.kernel_squeeze):
            scale = scale.unsqueeze(axis)
        if self.kernel_expand:
            scale = scale.squeeze(tuple(self.kernel_expand))
        if self.kernel_transpose:
            scale = scale.permute(*np.argsort(self.kernel_transpose).tolist())
        return scale

    def kernel_scale_shape(self, kernel_shape):
        shape = [1 if i in self.kernel_reduced else d for i, d in enumerate(kernel_shape)]
        shape = [shape[i] for i in self.kernel_transpose]
        for axis in sorted(self.kernel_expand):
            shape.insert(axis, 1)
        for axis in sorted(self.kernel_squeeze, reverse=True):
            shape.pop(axis)
        return tuple(shape)


class _Int8Einsum(torch.autograd.Function):
    """``einsum(inputs, dequantized kernel)``; the integer products when the inputs are quantized.

    The backward passes straight through the input quantizer: the gradient of the inputs is
    that of the einsum with the dequantized kernel.
    """

    @staticmethod
    def forward(ctx, inputs, kernel, kernel_scale, layer):
        dtype = inputs.dtype
        layout = layer._quantization_layout()
        quantizer = layer.inputs_quantizer
        if quantizer:
            values, inputs_scale = quantizer(inputs, axis=tuple(layout.input_reduced))
            inputs_scale = layout.to_output(inputs_scale, "input")
            out = torch.einsum(layer.equation, values.to(dtype), kernel.to(dtype))
            out = out / (inputs_scale * kernel_scale)
        else:
            float_kernel = kernel.to(dtype) / layout.to_kernel(kernel_scale)
            out = torch.einsum(layer.equation, inputs, float_kernel)
        ctx.save_for_backward(kernel, kernel_scale)
        ctx.layout, ctx.dtype = layout, dtype
        return out

    @staticmethod
    def backward(ctx, upstream):
        kernel, kernel_scale = ctx.saved_tensors
        float_kernel = kernel.to(ctx.dtype) / ctx.layout.to_kernel(kernel_scale)
        return torch.einsum(ctx.layout.gradient_equation, upstream, float_kernel), None, None, None


class _Int4Einsum(torch.autograd.Function):
    """``einsum(inputs, float_kernel)``, the inputs quantized first when the layer says so.

    The backward passes straight through the input quantizer.
    """

    @staticmethod
    def forward(ctx, inputs, float_kernel, layer):
        layout = layer._quantization_layout()
        quantizer = layer.inputs_quantizer
        if quantizer:
            values, inputs_scale = quantizer(inputs, axis=tuple(layout.input_reduced))
            out = torch.einsum(layer.equation, values.to(inputs.dtype), float_kernel)
            out = out / layout.to_output(inputs_scale, "input")
        else:
            out = torch.einsum(layer.equation, inputs, float_kernel)
        ctx.save_for_backward(float_kernel)
        ctx.layout = layout
        return out

    @staticmethod
    def backward(ctx, upstream):
        (float_kernel,) = ctx.saved_tensors
        return torch.einsum(ctx.layout.gradient_equation, upstream, float_kernel), None, None


class EinsumDenseQuantization(CalibratedKernel, qw.QuantizedKernel):
    """``EinsumDense``'s ``enable_lora``, ``quantize`` and the quantized calls."""

    def _lora_base_shape(self, base):
        # An int4 kernel is stored flattened and packed: the LoRA factors see the kernel's shape.
        return self.__dict__.get("_int4_kernel_shape") or base.shape

    def _base_kernel(self):
        """The stored kernel; int4 values unpacked to the kernel's shape (Keras's ``kernel``)."""
        kernel = self.__dict__["_kernel"]
        if self.quantization_mode == "int4":
            rows, columns = self._int4_flat_shape
            kernel = q.unpack_int4(kernel, columns, axis=-1).reshape(self._int4_kernel_shape)
        return kernel

    def _select_call(self):
        from lamina.layers.core.einsum_dense import EinsumDense

        qw.select_call(self, EinsumDense)

    def _lora_call(self, inputs):
        return self._finish(torch.einsum(self.equation, self._float_inputs(inputs), self._merged_kernel()))

    def _float_inputs(self, inputs):
        if not inputs.is_floating_point():
            return inputs.to(self._compute_torch_dtype)
        return inputs

    def _quantization_layout(self):
        layout = self.__dict__.get("_einsum_layout")
        if layout is None:
            layout = _Layout(self.equation, self.input_spec.ndim)
            self.__dict__["_einsum_layout"] = layout
        return layout

    # --- quantization ----------------------------------------------------------------------------
    def _quantization_base_class(self):
        from lamina.layers.core.einsum_dense import EinsumDense

        return EinsumDense

    def _int8_quantize(self, kernel, config):
        """int8 values of a float kernel and its scale, laid out against the output."""
        layout = self._quantization_layout()
        quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
            config, _quantizers().AbsMaxQuantizer(axis=tuple(layout.kernel_reduced))
        )
        values, scale = quantizer(kernel, to_numpy=True)
        return values, layout.to_output(scale, "kernel")

    def _int4_flat(self, kernel_shape):
        reduced = self._quantization_layout().kernel_reduced
        rows = math.prod(d for i, d in enumerate(kernel_shape) if i in reduced)
        return rows, math.prod(kernel_shape) // rows

    def _int4_quantize(self, kernel, config):
        """Packed int4 values, scale and zero point (``None`` per column) of a float kernel."""
        flat = kernel.reshape(self._int4_flat(tuple(kernel.shape)))
        block_size = _quantizers()._int4_block_size(self, config)
        zero = None
        if block_size is None:
            values, scale = q.abs_max_quantize(flat, axis=0, value_range=(-8, 7), dtype="int8", to_numpy=True)
            scale = scale.squeeze(0)
        else:
            values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(flat, block_size=block_size)
        packed, _, _ = q.pack_int4(values, axis=-1)
        return packed, scale, zero

    def _int4_float_kernel(self, dtype):
        rows, columns = self._int4_flat_shape
        unpacked = q.unpack_int4(self.__dict__["_kernel"], columns, axis=-1)
        if self._int4_block_size is None:
            kernel = unpacked.to(dtype) / self.kernel_scale.to(dtype)
        else:
            kernel = q.dequantize_with_sz_map(unpacked, self.kernel_scale, self.kernel_zero, self.g_idx).to(dtype)
        return kernel.reshape(self._int4_kernel_shape)

    def quantized_build(self, kernel_shape, mode, config=None):
        """Create the variables of quantization ``mode`` for a kernel of ``kernel_shape``."""
        if mode == "int8":
            self.inputs_quantizer = _quantizers().QuantizationConfig.activation_quantizer_or_default(
                self.quantization_config, _quantizers().AbsMaxQuantizer()
            )
            kernel = self.add_weight(
                name="kernel", shape=tuple(kernel_shape), initializer="zeros", dtype="int8",
                trainable=False,
            )
            self.kernel_scale = self.add_weight(
                name="kernel_scale",
                shape=self._quantization_layout().kernel_scale_shape(kernel_shape),
                initializer="ones",
                trainable=False,
            )
            self.__dict__["_kernel"] = kernel
            if self.lora_enabled:
                self._set_computed_attribute("kernel", qw.merged_kernel)
        elif mode == "int4":
            self._int4_build(tuple(kernel_shape), config if config is not None else self.quantization_config)
        elif mode == "float8":
            from lamina.layers.core._dense_quantization import DenseQuantization

            DenseQuantization._float8_build(self)
        elif mode in CALIBRATED_MODES:
            self._calibrated_build(kernel_shape, mode, config if config is not None else self.quantization_config)
        else:
            raise self._quantization_mode_error(mode)
        self.__dict__["_is_quantized"] = True
        self._install_variable_hooks()

    # Keras saves EinsumDense's GPTQ/AWQ zero points under this name (Dense's: `kernel_zero`).
    _zero_point_name = "zero_point"

    def _calibrated_product(self, inputs, kernel):
        inputs = self._float_inputs(inputs)
        return self._finish(torch.einsum(self.equation, inputs, kernel.to(inputs.dtype)))

    def _int4_build(self, kernel_shape, config):
        self.inputs_quantizer = _quantizers().QuantizationConfig.activation_quantizer_or_default(config, None)
        rows, columns = self._int4_flat(kernel_shape)
        self._int4_kernel_shape = kernel_shape
        self._int4_flat_shape = (rows, columns)
        self.__dict__["_kernel"] = self.add_weight(
            name="kernel", shape=(rows, (columns + 1) // 2), initializer="zeros", dtype="int8", trainable=False
        )
        block_size = _quantizers()._int4_block_size(self, config)
        self._int4_block_size = block_size
        shape = (columns,) if block_size is None else (math.ceil(rows / block_size), columns)
        qw.add_int4_scales(self, "kernel", shape, rows, block_size)
        # `kernel` reads as the unpacked int4 values (LoRA-merged when enabled), as in Keras.
        self._set_computed_attribute("kernel", qw.merged_kernel)

    def _int4_call(self, inputs):
        inputs = self._float_inputs(inputs)
        out = _Int4Einsum.apply(inputs, self._int4_float_kernel(inputs.dtype), self)
        if self.lora_enabled:
            lora = torch.matmul(torch.einsum(self.equation, inputs, self.lora_kernel_a), self.lora_kernel_b)
            out = qw.add_lora_output(self, out, lora)
        return self._finish(out)

    def _int8_call(self, inputs):
        inputs = self._float_inputs(inputs)
        kernel = self.__dict__["_kernel"]
        out = _Int8Einsum.apply(inputs, kernel, self.kernel_scale.to(inputs.dtype), self)
        if self.lora_enabled:
            lora = torch.matmul(torch.einsum(self.equation, inputs, self.lora_kernel_a), self.lora_kernel_b)
            out = qw.add_lora_output(self, out, lora)
        return self._finish(out)

    def _float8_call(self, inputs):
        if self.lora_enabled:
            raise NotImplementedError("Currently, `_float8_call` doesn't support LoRA")
        inputs = self._float_inputs(inputs)
        training = bool(call_context_training())
        x = q.float8_qdq_inputs(inputs, self.inputs_scale, self.inputs_amax_history, training)
        k = q.float8_qdq_inputs(self._kernel_variable(), self.kernel_scale, self.kernel_amax_history, training)
        out = q.float8_qdq_output_gradients(
            torch.einsum(self.equation, x, k), self.outputs_grad_scale, self.outputs_grad_amax_history
        )
        return self._float8_finish(out, self.compute_dtype == "float32")

    def _standardize_quantization_config(self, config):
        from lamina.layers.core._dense_quantization import DenseQuantization

        return DenseQuantization._standardize_quantization_config(self, config)

    # --- saving ----------------------------------------------------------------------------------
    def _quantization_spec(self):
        return _SPEC

    def _dequantized_kernel(self):
        if self.quantization_mode == "int8":
            layout = self._quantization_layout()
            return self.__dict__["_kernel"].to(torch.float32) / layout.to_kernel(self.kernel_scale)
        return self._int4_float_kernel(torch.float32)

    def _int8_requantize(self, kernel):
        layout = self._quantization_layout()
        merged, scale = q.abs_max_quantize(kernel, axis=tuple(layout.kernel_reduced), to_numpy=True)
        return merged, layout.to_output(scale, "kernel")
