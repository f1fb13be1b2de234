"""``EinsumDense``: a dense layer whose contraction is any einsum equation."""

import re

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.quantized_dtype_policy import QUANTIZATION_MODES
from lamina.layers._quantization import check_lora_arguments
from lamina.layers.core._einsum_quantization import EinsumDenseQuantization
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin

# The three equation forms Keras accepts: no ellipsis, ellipsis leading both the input and the
# output, or ellipsis trailing both (after at least two named input axes).
_PLAIN = re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)")
_LEFT = re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)")
_RIGHT = re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.")


class _Equation:
    """The parts of an ``EinsumDense`` equation: input, weight and output axis letters."""

    def __init__(self, equation):
        for pattern, elided in ((_PLAIN, None), (_LEFT, "left"), (_RIGHT, "right")):
            match = pattern.fullmatch(equation)
            if match:
                self.input, self.weight, self.output = match.groups()
                self.elided = elided
                break
        else:
            raise ValueError(
                f"Invalid einsum equation {equation!r}. Equations must be in the form "
                "'[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...', with letters for "
                "axes (e.g. 'ab,bc->ac')."
            )
        for dim in self.output:
            if dim not in self.input and dim not in self.weight:
                raise ValueError(
                    f"Invalid einsum equation {equation!r}: output axis '{dim}' appears in neither "
                    f"the input spec '{self.input}' nor the weight spec '{self.weight}'."
                )
        for dim in self.weight:
            if dim not in self.input and dim not in self.output:
                raise ValueError(
                    f"Invalid einsum equation {equation!r}: weight axis '{dim}' appears in neither "
                    f"the input spec '{self.input}' nor the output spec '{self.output}', so its size "
                    "cannot be known."
                )

    def matmul_axes(self):
        """How many trailing input axes a plain matrix product contracts, or ``None``.

        Equations ``PC,CO->PO`` (``P`` kept, ``C`` contracted, ``O`` new, each in order, no
        ellipsis or a leading one) are one matrix product of flattened views: ``addmm`` folds in
        the bias, where ``einsum`` would run a batched product and a separate addition.
        """
        if self.elided == "right":
            return None
        for n in range(1, len(self.input) + 1):
            kept, contracted = self.input[:-n], self.input[-n:]
            if self.weight[:n] == contracted and self.output == kept + self.weight[n:]:
                return n if not set(kept) & set(self.weight) else None
        return None

    @property
    def partial_rank(self):
        """Length of the ``output_shape`` argument: the output axes minus the batch axis."""
        # With a leading ellipsis the batch axis is inside the ellipsis; otherwise it is the first
        # output letter.
        return len(self.output) if self.elided == "left" else len(self.output) - 1

    def input_spec(self):
        if self.elided is None:
            return InputSpec(ndim=len(self.input))
        # A leading ellipsis holds at least the batch axis.
        extra = 1 if self.elided == "left" else 0
        return InputSpec(min_ndim=len(self.input) + extra)


def _einsum_shapes(eq, bias_axes, input_shape, partial_output_shape):
    """Kernel shape, bias shape, full output shape, and the kernel's input and output axes.

    Follows Keras' derivation, except that output sizes given as ``None`` on axes shared with the
    input are taken from the input, and axes inside a leading ellipsis keep their order.
    """
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(eq.input)
    output = [input_shape[0]]
    if eq.elided == "left":
        output += list(input_shape[1:elided])
    output += list(partial_output_shape)
    if eq.elided == "right":
        output += list(input_shape[len(input_shape) - elided :])

    offset = elided if eq.elided == "left" else 0
    in_pos = {dim: i + offset for i, dim in enumerate(eq.input)}
    out_pos = {dim: i + offset for i, dim in enumerate(eq.output)}
    for dim, i in in_pos.items():
        if dim not in out_pos:
            continue
        given, found = output[out_pos[dim]], input_shape[i]
        if given is None:
            output[out_pos[dim]] = found
        elif found is not None and given != found:
            raise ValueError(
                f"Input shape and output shape do not match at shared dimension '{dim}'. Input "
                f"shape is {found}, and output shape is {given}. Full input shape: {input_shape}, "
                f"`output_shape`: {tuple(partial_output_shape)}"
            )

    kernel_shape, input_axes, output_axes = [], [], []
    for i, dim in enumerate(eq.weight):
        if dim in out_pos:
            kernel_shape.append(output[out_pos[dim]])
            output_axes.append(i)
        else:
            kernel_shape.append(input_shape[in_pos[dim]])
            input_axes.append(i)
    _require_defined("kernel", eq.weight, kernel_shape, input_shape)

    bias_shape = None
    if bias_axes is not None:
        first = min(eq.output.index(c) for c in bias_axes)
        bias_spec = eq.output[first:]
        bias_shape = [output[out_pos[c]] if c in bias_axes else 1 for c in bias_spec]
        if eq.elided == "right":
            bias_shape += [1] * elided
        _require_defined("bias", bias_spec, bias_shape, input_shape)
    return kernel_shape, bias_shape, output, input_axes, output_axes


def _require_defined(what, spec, shape, input_shape):
    for dim, size in zip(spec, shape):
        if size is None:
            raise ValueError(
                f"The size of {what} axis '{dim}' is unknown: it must be given in `output_shape` or "
                f"be defined in the input shape. Input shape: {input_shape}"
            )


def _with_fan_axes(initializer, input_axes, output_axes):
    """A copy of a variance-scaling initializer whose fans come from the given kernel axes."""
    if not isinstance(initializer, initializers.VarianceScaling):
        return initializer
    if initializer.input_axes is not None and initializer.output_axes is not None:
        return initializer
    config = initializer.get_config()
    # Keep the concrete seed so the copy draws what the original would have drawn.
    config.update(seed=initializer.seed, input_axes=input_axes, output_axes=output_axes)
    return type(initializer).from_config(config)


def _standardize_output_shape(output_shape, eq):
    dims = (output_shape,) if isinstance(output_shape, int) else output_shape
    valid = isinstance(dims, (list, tuple)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in dims
    )
    if not valid:
        raise ValueError(
            "Argument `output_shape` must be a positive integer or a tuple of positive integers "
            f"and None. Received: output_shape={output_shape!r}"
        )
    if len(dims) != eq.partial_rank:
        raise ValueError(
            f"Argument `output_shape` must have {eq.partial_rank} entries for output spec "
            f"'{eq.output}' (one per output axis, excluding the batch axis and any ellipsis). "
            f"Received: output_shape={output_shape!r}"
        )
    return tuple(dims)


@register_builtin("keras.layers")
class EinsumDense(EinsumDenseQuantization, Layer):
    """A dense layer computing ``activation(einsum(equation, inputs, kernel) + bias)``.

    The kernel's shape is derived from the equation: each weight axis takes its size from the
    output (``output_shape``) or, failing that, from the input.

    Args:
        equation: The einsum equation, of the form ``"ab,bc->ac"``, ``"...ab,bc->...ac"`` or
            ``"ab...,bc->ac..."``: input axes, kernel axes, output axes.
        output_shape: Sizes of the output axes, excluding the batch axis and any ellipsis (an
            integer for a single axis). ``None`` marks a size taken from the input.
        activation: Activation function; ``None`` means linear.
        bias_axes: Letters of the output axes that the bias spans (e.g. ``"c"``), or ``None`` for
            no bias.
        kernel_initializer: Initializer for the kernel. Variance-scaling initializers (the default
            ``"glorot_uniform"``) compute their fans from the kernel axes shared with the input
            and with the output.
        bias_initializer: Initializer for the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the weights.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.
        lora_rank: If set, the layer is built with LoRA enabled at this rank (see
            ``enable_lora``): the kernel is frozen and two small factors train instead.
        lora_alpha: Scale numerator of the LoRA update (defaults to ``lora_rank``).
        quantization_config: An ``Int8QuantizationConfig``, ``Int4QuantizationConfig``,
            ``Float8QuantizationConfig``, ``GPTQConfig`` or ``AWQConfig`` used when the layer
            is built with a quantized ``dtype`` policy (``quantize(mode)`` quantizes a built
            layer; GPTQ and AWQ are calibrated by ``Model.quantize``).
        **kwargs: Base layer keyword arguments, such as ``name``, ``dtype`` and
            ``activity_regularizer``.

    Input shape:
        The tensor described by the input part of ``equation``.

    Output shape:
        ``(batch_size,) + output_shape``, with the ellipsis axes kept in place.

    Example:

    A dense layer applied to every step of a sequence:

    >>> layer = lamina.layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
    >>> layer(lamina.Input(shape=(32, 128))).shape
    (None, 32, 64)
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        equation,
        output_shape,
        activation=None,
        bias_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        check_lora_arguments(lora_rank, lora_alpha)
        # Keras's config carries the GPTQ kernel's column count; Lamina derives it from the kernel.
        kwargs.pop("gptq_unpacked_column_size", None)
        super().__init__(**kwargs)
        if self.quantization_mode not in (None,) + QUANTIZATION_MODES:
            raise ValueError(
                f"EinsumDense layer '{self.name}': quantization mode '{self.quantization_mode}' is "
                f"not supported by Lamina (dtype={self.dtype_policy.name!r}); use int8, int4, float8, "
                "gptq or awq."
            )
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = self._standardize_quantization_config(quantization_config)
        if not isinstance(equation, str):
            raise ValueError(
                f"Argument `equation` must be a string such as 'ab,bc->ac'. Received: equation={equation!r}"
            )
        self._equation = _Equation(equation)
        self.equation = equation
        self.partial_output_shape = _standardize_output_shape(output_shape, self._equation)
        if bias_axes is not None:
            if not isinstance(bias_axes, str) or not bias_axes:
                raise ValueError(
                    "Argument `bias_axes` must be None or a non-empty string of output axis letters. "
                    f"Received: bias_axes={bias_axes!r}"
                )
            for char in bias_axes:
                if char not in self._equation.output:
                    raise ValueError(
                        f"Bias dimension '{char}' was requested, but is not part of the output spec "
                        f"'{self._equation.output}'. Received: bias_axes={bias_axes!r}"
                    )
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = self._equation.input_spec()
        self._matmul_axes = self._equation.matmul_axes()

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = _einsum_shapes(
            self._equation, self.bias_axes, input_shape, self.partial_output_shape
        )
        # The quantized variables need the input rank (the scales' layout depends on it).
        self.input_spec = InputSpec(ndim=len(input_shape), axes=self._kernel_input_axes(input_shape))
        mode = self.quantization_mode
        if mode is not None:
            self.quantized_build(tuple(kernel_shape), mode)
        if mode not in ("int8", "int4", "gptq", "awq"):
            self.kernel = self.add_weight(
                shape=tuple(kernel_shape),
                initializer=_with_fan_axes(self.kernel_initializer, input_axes, output_axes),
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
                name="kernel",
            )
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                shape=tuple(bias_shape),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)
        self._select_call()

    def _kernel_input_axes(self, input_shape):
        # Input axes contracted with the kernel must keep their size: pin them for clear errors.
        eq = self._equation
        offset = len(input_shape) - len(eq.input) if eq.elided == "left" else 0
        return {
            i + offset: input_shape[i + offset]
            for i, dim in enumerate(eq.input)
            if dim in eq.weight and input_shape[i + offset] is not None
        }

    def call(self, inputs):
        if not inputs.is_floating_point():
            inputs = inputs.to(to_torch_dtype(self.compute_dtype))
        if self._matmul_axes is not None:
            out = self._matmul(inputs)
        else:
            out = torch.einsum(self.equation, inputs, self.kernel)
            if self.bias is not None:
                out = out + self.bias
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def _matmul(self, inputs):
        n = self._matmul_axes
        kernel, bias = self.kernel, self.bias
        new_axes = kernel.shape[n:]
        flat = inputs.reshape(-1, kernel.shape[:n].numel())
        weight = kernel.reshape(flat.shape[1], -1)
        if bias is not None and bias.shape == new_axes:
            out = torch.addmm(bias.reshape(-1), flat, weight)
            bias = None
        else:
            out = torch.mm(flat, weight)
        out = out.view(*inputs.shape[: inputs.dim() - n], *new_axes)
        return out if bias is None else out + bias

    def compute_output_shape(self, input_shape):
        return tuple(
            _einsum_shapes(self._equation, self.bias_axes, input_shape, self.partial_output_shape)[2]
        )

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "output_shape": self.partial_output_shape,
                "equation": self.equation,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": s(self.kernel_initializer),
                "bias_initializer": s(self.bias_initializer),
                "kernel_regularizer": s(self.kernel_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "activity_regularizer": s(self.activity_regularizer),
                "kernel_constraint": s(self.kernel_constraint),
                "bias_constraint": s(self.bias_constraint),
                "quantization_config": s(self.quantization_config),
            }
        )
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        if self.quantization_mode == "gptq" and "_calibrated_layout" in self.__dict__:
            config["gptq_unpacked_column_size"] = self._calibrated_layout[2]
        return config
