"""GPTQ's math: grouped zero-point quantization, the Hessian of a layer's inputs, the solver.

GPTQ (Frantar et al., 2022, https://arxiv.org/abs/2210.17323) quantizes a weight matrix one input
column at a time and pushes each column's rounding error onto the columns not yet quantized,
weighted by the inverse Hessian ``H = 2 X^T X / n`` of the layer's calibration inputs ``X``.

Weights here are in the transposed layout GPTQ works in: ``(out_features, in_features)``; the
integer values are unsigned (``[0, 2**bits - 1]``) around a per-group zero point. Everything is
float32, the precision Keras 3.15 computes it in, so the same inputs give the same integers.
"""

import torch


def compute_quantization_parameters(x, *, bits, symmetric=False, per_channel=False, group_size=-1):
    """Scale, zero point and ``maxq`` to quantize ``x`` (``(out, in)``) to ``bits`` unsigned bits.

    With ``per_channel`` and a positive ``group_size``, one pair per output row and group of
    ``group_size`` input columns (``(out, n_groups)``, the last group zero-padded); with
    ``per_channel`` alone, one pair per row (``(out, 1)``); otherwise one pair for the whole
    tensor, repeated per row (``(out, 1)``).

    Returns:
        ``(scale, zero, maxq)``: float32 scale, uint8 zero point, float ``2**bits - 1``.
    """
    if x.dim() < 2:
        raise ValueError(f"The weight tensor must have a rank of at least 2, but got rank {x.dim()}.")
    if x.numel() == 0:
        raise ValueError("The weight tensor cannot be empty.")
    x = x.to(torch.float32)
    out_features, in_features = x.shape[0], x.shape[1]
    n_groups = -(-in_features // group_size) if per_channel and group_size > 0 else 1
    if n_groups > 1:
        pad = n_groups * group_size - in_features
        if pad:
            x = torch.nn.functional.pad(x, (0, pad))
        grouped = x.reshape(out_features, n_groups, group_size)
        low, high = grouped.amin(dim=2), grouped.amax(dim=2)
    else:
        flat = x.reshape(out_features, -1) if per_channel else x.reshape(1, -1)
        low, high = flat.amin(dim=1), flat.amax(dim=1)
    if symmetric:
        high = torch.maximum(low.abs(), high)
        low = torch.where(low < 0, -high, low)
    same = low == high
    low = torch.where(same, low - 1, low)
    high = torch.where(same, high + 1, high)
    maxq = float(2**bits - 1)
    # Times the float32 reciprocal, as XLA computes Keras's division by this constant: a value
    # on a rounding boundary then rounds the same way.
    scale = (high - low) * torch.tensor(1.0 / maxq, dtype=torch.float32)
    scale = torch.where(scale <= 0, torch.full_like(scale, 1e-8), scale)
    if symmetric:
        zero = torch.full_like(scale, (maxq + 1) / 2)
    else:
        zero = torch.round(-low / scale)
    if n_groups == 1:
        scale, zero = scale.reshape(-1, 1), zero.reshape(-1, 1)
        if not per_channel:
            scale, zero = scale.expand(out_features, 1), zero.expand(out_features, 1)
    # Out-of-range zero points saturate, as a float-to-uint8 conversion does in XLA.
    return scale.contiguous(), zero.clamp(0, 255).to(torch.uint8).contiguous(), maxq


def quantize_with_zero_point(x, scale, zero, maxq):
    """``clip(round(x / scale + zero), 0, maxq)`` as floats (a zero scale counts as ``1e-8``)."""
    safe = torch.where(scale == 0, torch.full_like(scale, 1e-8), scale)
    return torch.clamp(torch.round(x / safe + zero.to(scale.dtype)), 0, maxq)


def dequantize_with_zero_point(q, scale, zero):
    """``scale * (q - zero)``."""
    return scale * (q - zero.to(scale.dtype))


def quantize_with_sz_map(x, scale, zero, g_idx, maxq):
    """``quantize_with_zero_point`` with each column's group parameters read from ``g_idx``."""
    index = g_idx.to(torch.int64)
    return quantize_with_zero_point(x, scale.index_select(1, index), zero.index_select(1, index), maxq)


def update_hessian(hessian, num_samples, inputs):
    """The running mean ``2 X^T X / n`` after adding the rows of ``inputs`` (``(..., features)``).

    Returns:
        ``(hessian, num_samples)`` updated.
    """
    if inputs.dim() < 2:
        raise ValueError(f"Input tensor must have rank >= 2 (got rank {inputs.dim()}).")
    if inputs.numel() == 0:
        raise ValueError("Input tensor cannot be empty.")
    x = inputs.reshape(-1, inputs.shape[-1]).to(torch.float32)
    if hessian.shape[0] != x.shape[-1]:
        raise ValueError(f"Hessian dimensions ({hessian.shape[0]}) do not match input features ({x.shape[-1]}).")
    total = num_samples + x.shape[0]
    gram = x.T @ x
    gram = (gram + gram.T) / 2.0  # exactly symmetric, whatever the matmul's rounding
    if num_samples > 0:
        hessian = hessian * (num_samples / total)
    return hessian + (2.0 / total) * gram, total


def damped_hessian(hessian, damping):
    """``hessian`` with dead inputs (zero diagonal) set to 1 and ``damping * mean(diag)`` added."""
    diagonal = torch.diagonal(hessian)
    dead = diagonal == 0
    diagonal = torch.where(dead, torch.ones_like(diagonal), diagonal)
    diagonal = diagonal + damping * diagonal.mean()
    out = hessian.clone()
    out.diagonal().copy_(diagonal)
    return out


def _descending_order(metric):
    # A tiny index jitter and a stable sort: ties keep the lower index first, deterministically.
    n = metric.shape[0]
    jitter = torch.arange(n, dtype=torch.float32) / float(n)
    return torch.argsort(-(metric + jitter * 1e-12), stable=True)


def gptq_quantize_matrix(weights, inv_hessian, *, find_params, blocksize=128, group_size=-1,
                         activation_order=False, order_metric=None):
    """Quantize ``weights`` (``(out, in)``) column by column with GPTQ's error feedback.

    Each column ``j`` is rounded with its group's parameters; its error divided by
    ``inv_hessian[j, j]`` updates the later columns of the block right away and the columns
    after the block once the block is done.

    Args:
        weights: float32 ``(out_features, in_features)``.
        inv_hessian: float32 ``(in_features, in_features)``, the inverse of the damped Hessian.
        find_params: ``find_params(columns) -> (scale, zero, maxq)`` for a group's columns.
        blocksize: Columns updated together before the error reaches later blocks.
        group_size: Columns sharing quantization parameters; ``-1`` for a single group.
        activation_order: Quantize the columns in decreasing ``order_metric`` (default
            ``1 / diag(inv_hessian)``), then put them back in their order.
        order_metric: Importance of each column for ``activation_order``.

    Returns:
        ``(quantized, scale, zero, g_idx)``: int32 ``(out, in)``, ``(out, n_groups)`` scale and
        zero point in the order the groups were met, and the float32 group position ``i / group``
        of each column (its integer part is the group).
    """
    weights = weights.to(torch.float32)
    inv_hessian = inv_hessian.to(torch.float32)
    in_features = weights.shape[1]
    perm = None
    if activation_order:
        if order_metric is None:
            order_metric = 1.0 / (torch.diagonal(inv_hessian) + 1e-12)
        else:
            order_metric = order_metric.to(torch.float32)
            order_metric = torch.where(torch.isfinite(order_metric), order_metric, torch.zeros_like(order_metric))
        perm = _descending_order(order_metric)
        weights = weights.index_select(1, perm)
        inv_hessian = inv_hessian.index_select(0, perm).index_select(1, perm)
    buffer = weights.clone()
    quantized = torch.zeros(weights.shape, dtype=torch.int32)
    group = in_features if group_size == -1 else group_size
    scales, zeros = [], []
    params, params_start = None, -1
    for start in range(0, in_features, blocksize):
        end = min(start + blocksize, in_features)
        block = buffer[:, start:end].clone()
        block_error = torch.zeros_like(block)
        block_inv = inv_hessian[start:end, start:end]
        for i in range(end - start):
            column_index = start + i
            group_start = (column_index // group) * group
            if group_start != params_start:
                # The group's parameters come from the buffer as the earlier blocks left it.
                params = find_params(buffer[:, group_start:min(group_start + group, in_features)])
                scales.append(params[0])
                zeros.append(params[1])
                params_start = group_start
            scale, zero, maxq = params
            column = block[:, i]
            q = quantize_with_zero_point(column[:, None], scale, zero, maxq)
            quantized[:, column_index] = q[:, 0].to(torch.int32)
            error = (column - dequantize_with_zero_point(q, scale, zero)[:, 0]) / block_inv[i, i]
            block_error[:, i] = error
            if i < end - start - 1:
                block[:, i + 1:] = block[:, i + 1:] - error[:, None] @ block_inv[i, i + 1:][None, :]
        if end < in_features:
            buffer[:, end:] = buffer[:, end:] - block_error @ inv_hessian[start:end, end:]
    # Keras's XLA computation multiplies by the float32 reciprocal rather than dividing; doing
    # the same keeps the stored positions (and the group a column reads) identical to Keras's.
    g_idx = torch.arange(in_features, dtype=torch.float32) * torch.tensor(1.0 / group, dtype=torch.float32)
    if perm is not None:
        inverse = torch.argsort(perm)
        g_idx = g_idx.index_select(0, inverse)
        quantized = quantized.index_select(1, inverse)
    return quantized, torch.cat(scales, dim=1), torch.cat(zeros, dim=1), g_idx


def gptq_quantize_layer_kernel(kernel_2d, hessian, *, weight_bits, group_size, symmetric, per_channel,
                               activation_order, hessian_damping, blocksize=128):
    """GPTQ on a ``(rows, columns)`` kernel (Keras's layout) given its inputs' Hessian.

    Returns:
        ``(quantized, scale, zero, g_idx)`` as ``gptq_quantize_matrix``; ``quantized`` is
        ``(columns, rows)``.
    """
    damped = damped_hessian(hessian.to(torch.float32), hessian_damping)
    inverse = torch.linalg.inv(damped)

    def find_params(columns):
        return compute_quantization_parameters(
            columns, bits=weight_bits, symmetric=symmetric, per_channel=per_channel, group_size=group_size
        )

    return gptq_quantize_matrix(
        kernel_2d.detach().to(torch.float32).T, inverse, find_params=find_params, blocksize=blocksize,
        group_size=group_size, activation_order=activation_order, order_metric=torch.diagonal(damped),
    )
