"""Dense encodings of integer ids shared by ``CategoryEncoding`` and ``Discretization``.

``one_hot`` adds an axis of size ``depth`` (replacing a trailing axis of size 1); ``multi_hot`` and
``count`` turn each sample (the last axis of a rank-2 input, or a whole rank-1 input) into one
vector of size ``depth``.
"""

import torch
import torch.nn.functional as F

ENCODING_MODES = ("one_hot", "multi_hot", "count")


def check_encodable(indices, output_mode, layer):
    """Rank checks done before encoding (Keras supports sample outputs up to rank 2)."""
    if output_mode in ("multi_hot", "count") and indices.dim() > 2:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) with output_mode='{output_mode}' accepts "
            f"inputs of rank 1 or 2 (one sample per row), but received an input of rank "
            f"{indices.dim()} with shape {tuple(indices.shape)}. Reshape it to (samples, tokens) "
            "first, or use output_mode='one_hot'."
        )


def encode(indices, output_mode, depth, dtype, count_weights=None):
    """Encode int64 ``indices`` (all in ``[0, depth)``) as a dense tensor of ``dtype``."""
    if indices.dim() == 0:
        indices = indices.reshape(1)
        if count_weights is not None:
            count_weights = count_weights.reshape(1)
    if output_mode == "one_hot":
        if indices.dim() > 1 and indices.shape[-1] == 1:
            indices = indices.squeeze(-1)
        return F.one_hot(indices, depth).to(dtype)
    single = indices.dim() == 1
    if single:
        indices = indices.unsqueeze(0)
        if count_weights is not None:
            count_weights = count_weights.unsqueeze(0)
    out = torch.zeros((indices.shape[0], depth), dtype=dtype, device=indices.device)
    if output_mode == "multi_hot":
        out.scatter_(1, indices, 1)
    else:
        weights = torch.ones_like(indices, dtype=dtype) if count_weights is None else count_weights.to(dtype)
        out.scatter_add_(1, indices, weights)
    return out[0] if single else out


def encoded_shape(input_shape, output_mode, depth):
    """Output shape of ``encode`` for an input shape (``None`` for unknown sizes)."""
    input_shape = tuple(input_shape)
    if not input_shape:
        return (1, depth) if output_mode == "one_hot" else (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)
