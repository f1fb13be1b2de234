"""Stateless attention math shared by ``ops.dot_product_attention`` and the attention layers.

Two conventions from Keras decide the numbers for masked positions, and both are kept here:

* the explicit path (scores materialized) replaces masked logits by ``-1e9`` before the softmax and
  zeroes masked probabilities after it, so a query row whose keys are all masked gets zero weights;
* the fused path (Keras's ``dot_product_attention``, taken when no scores are returned and dropout is
  0) gives such a row uniform weights, i.e. the mean of the values.

``torch.nn.functional.scaled_dot_product_attention`` returns zeros for fully masked rows, which is
the first convention; :func:`fused_attention` patches those rows when the second is wanted.
"""

import torch
import torch.nn.functional as F

# `enable_gqa` (key/value heads shared by query groups without copies) arrived in torch 2.5.
_SDPA_GQA = tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)


def large_negative(dtype):
    """The stand-in logit for masked positions (Keras uses -3e4 in float16 to stay finite)."""
    return -3e4 if dtype == torch.float16 else -1e9


def causal_mask(query_length, key_length, device):
    """``(1, T, S)`` boolean mask: query ``i`` sees keys ``j <= i`` (top-left aligned)."""
    ones = torch.ones(query_length, key_length, dtype=torch.bool, device=device)
    return torch.tril(ones).unsqueeze(0)


def sliding_window_mask(query_length, key_length, window, device):
    """``(1, T, S)`` boolean band: query ``i`` sees keys with ``|i - j| < window``."""
    rows = torch.arange(query_length, device=device).view(1, query_length, 1)
    cols = torch.arange(key_length, device=device).view(1, 1, key_length)
    return (rows - cols).abs() < window


def combine_masks(*masks):
    """Logical AND of the given boolean masks (``None`` entries skipped); ``None`` if none."""
    out = None
    for m in masks:
        if m is None:
            continue
        m = m if m.dtype == torch.bool else m.to(torch.bool)
        out = m if out is None else out & m
    return out


def expand_mask(mask, rank, insert_axis):
    """Insert singleton axes at ``insert_axis`` until ``mask`` has ``rank`` axes (Keras's rule)."""
    while mask.dim() < rank:
        mask = mask.unsqueeze(insert_axis if insert_axis >= 0 else mask.dim() + 1 + insert_axis)
    return mask


def masked_softmax(scores, mask, num_axes, zero_masked=True):
    """Softmax over the last ``num_axes`` axes with Keras's masking convention.

    Args:
        scores: Logits.
        mask: Boolean (or 0/1) tensor broadcastable to ``scores``, ``True`` where attention is
            allowed; ``None`` for no mask.
        num_axes: How many trailing axes the softmax normalizes over.
        zero_masked: Zero masked probabilities after the softmax (Keras's ``Softmax`` layer);
            ``False`` keeps the uniform weights a fully masked row gets.
    """
    if mask is not None:
        if mask.dtype != torch.bool:
            mask = mask > 0.5
        scores = torch.where(mask, scores, torch.tensor(large_negative(scores.dtype), dtype=scores.dtype))
    if num_axes == 1:
        probs = torch.softmax(scores, dim=-1)
    else:
        # The normalized axes are trailing and adjacent: one softmax over their flattened view.
        lead = scores.shape[: scores.dim() - num_axes]
        probs = torch.softmax(scores.reshape(*lead, -1), dim=-1).reshape(scores.shape)
    if mask is not None and zero_masked:
        probs = torch.where(mask, probs, torch.zeros((), dtype=probs.dtype))
    return probs


def fused_attention(query, key, value, mask=None, is_causal=False, scale=None, fully_masked="zeros"):
    """Attention of ``(B, T, N, H)`` query on ``(B, S, N', H)`` key/value with a fused kernel.

    Args:
        query, key, value: Projected tensors in the Keras layout (sequence before heads). When
            ``N'`` divides ``N`` (grouped-query attention), query head ``n`` uses key/value head
            ``n // (N / N')``.
        mask: Boolean mask broadcastable to ``(B, N, T, S)``; ``True`` where attention is allowed.
        is_causal: Apply a top-left aligned causal mask (only with ``mask=None``).
        scale: Logit scale; defaults to ``1 / sqrt(H)``.
        fully_masked: ``"zeros"`` or ``"mean"``: what a query row gets when every key is masked.

    Returns:
        ``(B, T, N, Hv)`` tensor.
    """
    q, k, v = query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
    extra = {}
    if k.shape[1] != q.shape[1]:
        if _SDPA_GQA:
            extra["enable_gqa"] = True
        else:
            repeats = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(repeats, dim=1), v.repeat_interleave(repeats, dim=1)
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.to(torch.bool)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, scale=scale, **extra)
    if mask is not None:
        # Set fully masked rows explicitly: older torch releases return NaN there.
        empty_rows = ~mask.any(dim=-1, keepdim=True)
        if fully_masked == "mean":
            fill = v.mean(dim=-2, keepdim=True)
            if fill.shape[1] != out.shape[1]:
                fill = fill.repeat_interleave(out.shape[1] // fill.shape[1], dim=1)
        else:
            fill = torch.zeros((), dtype=out.dtype, device=out.device)
        out = torch.where(empty_rows, fill, out)
    return out.transpose(1, 2)


def dropout(x, rate, generator):
    """Inverted dropout drawn from ``generator`` (the layer's seeded stream)."""
    keep = 1.0 - rate
    if keep <= 0.0:
        return torch.zeros_like(x)
    noise = torch.empty_like(x).bernoulli_(keep, generator=generator)
    return x * noise / keep
