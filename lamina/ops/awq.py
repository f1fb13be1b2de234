"""AWQ's math: activation-aware per-input-channel scales found by grid search, then int4.

AWQ (Lin et al., 2023, https://arxiv.org/abs/2306.00978) multiplies each input channel's weights
by ``s = x_max ** ratio`` before 4-bit quantization (and divides them back when computing), so
the channels that see large activations lose less precision. The ratio in ``[0, 1]`` is the one
whose reconstruction error, weighted by ``x_max ** 2``, is smallest.

Weights are in the transposed ``(out_features, in_features)`` layout; all math is float32.
"""

import torch

from lamina.ops import gptq as _gptq


def update_activation_magnitudes(magnitudes, inputs):
    """The per-input-channel maximum of ``|inputs|`` seen so far (``inputs``: ``(..., features)``)."""
    if inputs.numel() == 0:
        raise ValueError("Input tensor cannot be empty.")
    x = inputs.reshape(-1, inputs.shape[-1]).to(torch.float32)
    return torch.maximum(magnitudes, x.abs().amax(dim=0))


def _quantize_dequantize(weights, group_size):
    params = _gptq.compute_quantization_parameters(weights, bits=4, per_channel=True, group_size=group_size)
    scale, zero, maxq = params
    if group_size == -1:
        q = _gptq.quantize_with_zero_point(weights, scale, zero, maxq)
        return q, _gptq.dequantize_with_zero_point(q, scale, zero), params
    index = torch.div(torch.arange(weights.shape[1]), group_size, rounding_mode="floor")
    s, z = scale.index_select(1, index), zero.index_select(1, index)
    q = _gptq.quantize_with_zero_point(weights, s, z, maxq)
    return q, _gptq.dequantize_with_zero_point(q, s, z), params


def awq_search_optimal_scales(weights, activation_magnitudes, *, num_grid_points=20, group_size=-1):
    """The per-input-channel scales (``(in_features,)``) with the smallest weighted error.

    Candidates are ``x_max ** (i / num_grid_points)`` for ``i = 0 .. num_grid_points``, floored at
    ``1e-4`` and divided by the geometric mean of their extremes; the first best one wins.
    """
    weights = weights.to(torch.float32)
    x_max = activation_magnitudes.to(torch.float32)
    x_max = torch.where(x_max < 1e-8, torch.ones_like(x_max), x_max)
    weight = x_max**2
    best_loss, best = None, torch.ones(weights.shape[1], dtype=torch.float32)
    for i in range(num_grid_points + 1):
        ratio = i / num_grid_points
        scales = torch.ones_like(x_max) if ratio == 0 else torch.pow(x_max, ratio)
        scales = torch.clamp(scales, min=1e-4)
        mean = torch.clamp(torch.sqrt(scales.max() * scales.min()), min=1e-8)
        scales = scales / mean
        _, dequantized, _ = _quantize_dequantize(weights * scales, group_size)
        loss = torch.mean((weights - dequantized / scales) ** 2 * weight)
        if best_loss is None or loss < best_loss:
            best_loss, best = loss, scales
    return best


def awq_quantize_matrix(weights, activation_magnitudes, *, num_grid_points=20, group_size=-1):
    """AWQ on ``weights`` (``(out, in)``).

    Returns:
        ``(quantized, scale, zero, awq_scales, g_idx)``: float ``(out, in)`` values in
        ``[0, 15]``, ``(out, n_groups)`` scale and uint8 zero point, the ``(in,)`` channel
        scales and the float32 group of each input column.
    """
    awq_scales = awq_search_optimal_scales(
        weights, activation_magnitudes, num_grid_points=num_grid_points, group_size=group_size
    )
    quantized, _, (scale, zero, _) = _quantize_dequantize(weights.to(torch.float32) * awq_scales, group_size)
    in_features = weights.shape[1]
    if group_size == -1:
        g_idx = torch.zeros(in_features, dtype=torch.float32)
    else:
        g_idx = torch.div(torch.arange(in_features), group_size, rounding_mode="floor").to(torch.float32)
    return quantized, scale, zero, awq_scales, g_idx
