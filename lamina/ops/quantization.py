"""Quantization math: abs-max int8/int4 quantization, int4 packing, float8 scaling, fake quant.

The formulas (and their rounding: half to even, as numpy and torch both round) follow Keras 3's
``keras.quantizers`` so a model quantized here holds the same integers and scales as one quantized
by Keras from the same float weights.
"""

import math

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype

__all__ = [
    "abs_max_quantize",
    "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history",
    "compute_float8_scale",
    "dequantize_with_sz_map",
    "fake_quant_with_min_max_vars",
    "float8_qdq_inputs",
    "float8_qdq_output_gradients",
    "int8_matmul",
    "pack_int4",
    "quantize_and_dequantize",
    "unpack_int4",
]

_FLOAT8_DTYPES = {"float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2}


def _as_tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(np.asarray(x))


def _axes(axis, ndim):
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axis)


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=None, to_numpy=False):
    """Symmetric quantization: ``round(x * scale)`` clipped to ``value_range``.

    ``scale = value_range[1] / (max(|x|, axis) + epsilon)``, kept with reduced axes of size one.

    Args:
        inputs: Tensor to quantize.
        axis: Axis (or axes) the maximum is taken over.
        value_range: ``(min, max)`` of the integer range.
        dtype: Dtype of the quantized values.
        epsilon: Guard against division by zero; defaults to ``lamina.config.epsilon()``.
        to_numpy: Compute on the host with numpy (saves accelerator memory for big weights).

    Returns:
        ``(quantized, scale)``; ``scale`` has the dtype of ``inputs``.

    Example:

    >>> q, scale = abs_max_quantize(np.array([[0.5, -1.0]], "float32"), axis=-1)
    >>> q
    tensor([[  64, -127]], dtype=torch.int8)
    """
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _as_tensor(inputs)
    if to_numpy:
        source_dtype = x.dtype
        arr = x.detach().cpu().numpy()
        axes = _axes(axis, arr.ndim)
        scale = np.divide(value_range[1], np.add(np.max(np.abs(arr), axis=axes, keepdims=True), epsilon))
        out = np.clip(np.round(np.multiply(arr, scale)), value_range[0], value_range[1])
        out = torch.as_tensor(out.astype(standardize_dtype(dtype)))
        return out, torch.as_tensor(scale).to(source_dtype)
    axes = _axes(axis, x.dim())
    scale = value_range[1] / (torch.amax(torch.abs(x), dim=axes, keepdim=True) + epsilon)
    scale = scale.to(x.dtype)
    out = torch.clamp(torch.round(x * scale), value_range[0], value_range[1])
    return out.to(to_torch_dtype(dtype)), scale


def abs_max_quantize_grouped_with_zero_point(
    inputs, block_size, value_range=(-8, 7), dtype="int8", epsilon=None, to_numpy=False
):
    """Asymmetric quantization of a 2D ``(input_dim, output_dim)`` tensor in row groups.

    Each block of ``block_size`` rows gets, per column, a scale and a zero point:
    ``q = clip(round(x / scale) + zero, *value_range)``.

    Returns:
        ``(quantized, scale, zero_point)``: ``quantized`` has the shape of ``inputs``; ``scale``
        and ``zero_point`` (int8) have shape ``(ceil(input_dim / block_size), output_dim)``.
    """
    del to_numpy  # Always computed on the host: it runs once, at quantization time.
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _as_tensor(inputs)
    source_dtype = x.dtype
    arr = x.detach().cpu().float().numpy()
    if arr.ndim != 2:
        raise ValueError(f"Grouped quantization expects a 2D tensor. Received shape: {arr.shape}")
    input_dim, output_dim = arr.shape
    groups = math.ceil(input_dim / block_size)
    qmin, qmax = value_range
    padded = np.zeros((groups * block_size, output_dim), arr.dtype)
    padded[:input_dim] = arr
    blocks = padded.reshape(groups, block_size, output_dim)
    low = np.min(blocks, axis=1, keepdims=True)
    high = np.max(blocks, axis=1, keepdims=True)
    scale = ((high - low) + epsilon) / (qmax - qmin)
    zero = np.clip(np.round(-low / scale) + qmin, qmin, qmax)
    out = np.clip(np.round(blocks / scale) + zero, qmin, qmax).astype(standardize_dtype(dtype))
    out = out.reshape(groups * block_size, output_dim)[:input_dim]
    return (
        torch.as_tensor(out),
        torch.as_tensor(scale[:, 0]).to(source_dtype),
        torch.as_tensor(zero[:, 0].astype("int8")),
    )


def dequantize_with_sz_map(quantized, scale, zero, g_idx, group_axis=0):
    """``(q - zero[group]) * scale[group]``, each element's group read from ``g_idx``.

    ``scale`` and ``zero`` hold one row per group along ``group_axis`` of ``quantized`` (for a
    Dense kernel: groups of input rows); ``g_idx`` gives each position's group.
    """
    index = g_idx.to(torch.int64)
    axis = 0 if group_axis in (0, -quantized.dim()) else scale.dim() - 1
    # `index_select` rather than fancy indexing: many times faster for this gather on CPU.
    s, z = scale.index_select(axis, index), zero.index_select(axis, index)
    return (quantized.to(s.dtype) - z.to(s.dtype)) * s


def pack_int4(arr, axis=0, dtype="int8"):
    """Pack int4 values (an int8/uint8 tensor in ``[-8, 7]``) two per byte along ``axis``.

    The first of each pair goes to the low nibble, the second to the high nibble; an odd length
    is padded with a zero.

    Returns:
        ``(packed, packed_shape, original_length)``.
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    x = _as_tensor(arr)
    if standardize_dtype(x.dtype) != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got {standardize_dtype(x.dtype)}.")
    values = np.moveaxis(x.detach().cpu().numpy(), axis, 0)
    length = values.shape[0]
    if length % 2:
        values = np.concatenate([values, np.zeros((1,) + values.shape[1:], values.dtype)])
    low = np.bitwise_and(values[::2].astype(np.uint8), 0x0F)
    high = np.bitwise_and(values[1::2].astype(np.uint8), 0x0F)
    packed = np.bitwise_or(low, np.left_shift(high, 4)).view(np.dtype(dtype))
    packed = np.moveaxis(packed, 0, axis)
    return torch.as_tensor(np.ascontiguousarray(packed)), tuple(packed.shape), length


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Reverse ``pack_int4``: two values per byte back to one per element, padding removed."""
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    x = _as_tensor(packed)
    if x.dtype not in (torch.int8, torch.uint8):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {x.dtype}")
    if dtype == "int8" and x.dtype == torch.int8 and axis in (-1, x.dim() - 1):
        # The layers' layout (packed along the last axis): arithmetic shifts on int8 sign-extend
        # each nibble directly, and the result stays contiguous (fast to compute with).
        low = torch.bitwise_right_shift(torch.bitwise_left_shift(x, 4), 4)
        high = torch.bitwise_right_shift(x, 4)
        out = torch.stack([low, high], dim=-1).reshape(tuple(x.shape[:-1]) + (-1,))
        return out[..., :orig_len] if out.shape[-1] != orig_len else out
    moved = torch.movedim(x, axis, 0).to(torch.int16)
    low = torch.bitwise_and(moved, 0x0F)
    high = torch.bitwise_and(torch.bitwise_right_shift(moved, 4), 0x0F)
    if dtype == "int8":
        # Nibbles 8..15 are the negative values -8..-1.
        low = torch.bitwise_xor(low, 8) - 8
        high = torch.bitwise_xor(high, 8) - 8
    out = torch.stack([low, high], dim=1).reshape((-1,) + tuple(moved.shape[1:]))[:orig_len]
    return torch.movedim(out.to(to_torch_dtype(dtype)), 0, axis).contiguous()


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The delayed-scaling update of a float8 scale from the recent absolute maximum ``amax``.

    The new scale is ``amax * 2**margin / dtype_max``; the old one is kept when ``amax`` is zero
    or not finite.
    """
    amax, scale = _as_tensor(amax), _as_tensor(scale)
    dtype_max = torch.as_tensor(dtype_max, dtype=amax.dtype)
    factor = dtype_max / amax / (2**margin)
    inverse = torch.reciprocal(scale)
    factor = torch.where(amax > 0.0, factor, inverse)
    factor = torch.where(torch.isfinite(amax), factor, inverse)
    return torch.reciprocal(factor)


def compute_float8_amax_history(x, amax_history):
    """Roll ``amax_history`` one step and put ``max(|x|)`` at its front."""
    amax_history = _as_tensor(amax_history)
    update = torch.amax(torch.abs(_as_tensor(x))).to(amax_history.dtype)
    rolled = torch.roll(amax_history, shifts=-1)
    return torch.cat([update.reshape(1), rolled[1:]])


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """Round ``inputs / scale`` to ``quantized_dtype`` (a float8 type) and scale back."""
    compute = to_torch_dtype(compute_dtype)
    target = _FLOAT8_DTYPES.get(str(quantized_dtype).replace("torch.", "")) or to_torch_dtype(quantized_dtype)
    limit = float(torch.finfo(target).max)
    scale = _as_tensor(scale).to(compute)
    x = torch.clamp(_as_tensor(inputs).to(compute) / scale, -limit, limit)
    return x.to(target).to(compute) * scale


def _nudged_range(min_val, max_val, num_bits, narrow_range):
    compute = torch.promote_types(min_val.dtype, torch.float32)
    min_val, max_val = min_val.to(compute), max_val.to(compute)
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    scale = (max_val - min_val) / (quant_max - quant_min)
    inv_scale = (quant_max - quant_min) / (max_val - min_val)
    zero_point = torch.round(torch.clamp(quant_min - min_val / scale, quant_min, quant_max))
    return (quant_min - zero_point) * scale, (quant_max - zero_point) * scale, scale, inv_scale


class _FakeQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, min_val, max_val, num_bits, narrow_range, axis):
        low, high, scale, inv_scale = _nudged_range(min_val, max_val, num_bits, narrow_range)
        quant_zero = torch.floor(-low * inv_scale + 0.5)
        shifted = torch.clamp(x.to(low.dtype), low, high) - low
        result = (torch.floor(shifted * inv_scale - quant_zero + 0.5) * scale).to(x.dtype)
        ctx.save_for_backward(x, low, high)
        ctx.axis = axis
        ctx.shapes = (min_val.shape, max_val.shape)
        return result

    @staticmethod
    def backward(ctx, upstream):
        x, low, high = ctx.saved_tensors
        zero = torch.zeros((), dtype=upstream.dtype)
        dx = torch.where((x >= low) & (x <= high), upstream, zero)
        axes = [i for i in range(upstream.dim()) if i != ctx.axis]
        grads = []
        for mask, shape in (((x <= low), ctx.shapes[0]), ((x >= high), ctx.shapes[1])):
            g = torch.where(mask, upstream, zero)
            g = g.sum(dim=axes) if ctx.axis is not None else g.sum()
            grads.append(g.reshape(shape))
        return dx, grads[0], grads[1], None, None, None


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False, axis=None):
    """Quantize to ``num_bits`` in ``[min_vals, max_vals]`` and dequantize (per tensor or channel).

    Gradients pass straight through inside the range; outside it they flow to ``min_vals`` or
    ``max_vals`` (so the range can be trained).

    Args:
        inputs: Float tensor.
        min_vals, max_vals: Scalars, or one value per channel along ``axis``.
        num_bits: Bit width of the quantized range.
        narrow_range: Use ``[1, 2**num_bits - 1]`` instead of ``[0, 2**num_bits - 1]``.
        axis: The channel axis for per-channel ranges; ``None`` for one range.

    Returns:
        A tensor like ``inputs``.
    """
    x = _as_tensor(inputs)
    min_vals = _as_tensor(min_vals).to(x.device)
    max_vals = _as_tensor(max_vals).to(x.device)
    if axis is not None:
        axis = axis % x.dim()
        # Per-channel values broadcast along the channel axis.
        view = [1] * x.dim()
        view[axis] = -1
        return _FakeQuant.apply(x, min_vals.reshape(view), max_vals.reshape(view), int(num_bits), narrow_range, axis)
    return _FakeQuant.apply(x, min_vals, max_vals, int(num_bits), narrow_range, None)


class _Int8Matmul(torch.autograd.Function):
    """``inputs @ dequantized kernel``, with int8 inputs when ``quantize_inputs``.

    The integer products are summed in the float compute dtype: exact while the sum of
    ``|q_x * q_k|`` stays under 2**24 (contraction sizes up to 1040 for full-range int8), and off
    by float rounding beyond, far below the quantization error itself. (torch's int8 matmul on
    CPU is several times slower than float32.)
    """

    @staticmethod
    def forward(ctx, inputs, kernel, kernel_scale, inputs_quantizer):
        dtype = inputs.dtype
        scale = kernel_scale
        if inputs_quantizer is not None:
            inputs, inputs_scale = inputs_quantizer(inputs, axis=-1)
            scale = scale * inputs_scale
            inputs = inputs.to(dtype)
        out = torch.matmul(inputs, kernel.to(dtype)) / scale
        ctx.save_for_backward(kernel, kernel_scale)
        ctx.dtype = dtype
        return out

    @staticmethod
    def backward(ctx, upstream):
        kernel, kernel_scale = ctx.saved_tensors
        # Straight through the input quantizer: the gradient of the dequantized kernel's matmul.
        float_kernel = kernel.to(ctx.dtype) / kernel_scale
        return torch.matmul(upstream, float_kernel.transpose(-1, -2)), None, None, None


def _default_inputs_quantizer(x, axis=-1):
    return abs_max_quantize(x, axis=axis)


def int8_matmul(inputs, kernel, kernel_scale, inputs_quantizer=_default_inputs_quantizer):
    """``inputs @ (kernel / kernel_scale)`` for an int8 ``kernel`` with one scale per column.

    ``inputs_quantizer(x, axis=-1) -> (quantized, scale)`` quantizes the inputs per row first
    (Keras's int8 Dense: abs-max to [-127, 127]) and the result is de-scaled by both scales;
    ``None`` keeps the inputs in float.
    """
    return _Int8Matmul.apply(inputs, kernel, kernel_scale, inputs_quantizer)


_E4M3_MAX = float(torch.finfo(torch.float8_e4m3fn).max)
_E5M2_MAX = float(torch.finfo(torch.float8_e5m2).max)


class _Float8Inputs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, amax_history, training):
        ctx.updates = None
        if training:
            ctx.updates = (
                compute_float8_scale(torch.amax(amax_history, dim=0), scale, _E4M3_MAX),
                compute_float8_amax_history(x.detach(), amax_history),
            )
        return quantize_and_dequantize(x, scale, "float8_e4m3fn", x.dtype)

    @staticmethod
    def backward(ctx, upstream):
        new_scale, new_history = ctx.updates if ctx.updates is not None else (None, None)
        return upstream, new_scale, new_history, None


class _Float8OutputGradients(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, amax_history):
        ctx.save_for_backward(scale, amax_history)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, upstream):
        scale, amax_history = ctx.saved_tensors
        new_scale = compute_float8_scale(torch.amax(amax_history, dim=0), scale, _E5M2_MAX)
        grad = quantize_and_dequantize(upstream, scale, "float8_e5m2", upstream.dtype)
        return grad, new_scale, compute_float8_amax_history(upstream, amax_history)


def float8_qdq_inputs(x, scale, amax_history, training=False):
    """Round ``x`` through float8 e4m3 with ``scale`` (delayed scaling, as Keras's float8 layers).

    In training, the "gradients" of ``scale`` and ``amax_history`` are their next values (the
    variables are marked ``overwrite_with_gradient``): the scale from the history's maximum,
    the history rolled with ``max(|x|)`` at its front.
    """
    return _Float8Inputs.apply(x, scale, amax_history, bool(training))


def float8_qdq_output_gradients(x, scale, amax_history):
    """Identity forward; the backward rounds the incoming gradient through float8 e5m2."""
    return _Float8OutputGradients.apply(x, scale, amax_history)
