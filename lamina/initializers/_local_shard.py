"""One process's slice of an initializer's value, made without the whole tensor.

A variable created sharded (under ``ModelParallel`` / ``FullySharded``) holds only the block
``ranges`` (one ``(start, stop)`` per dimension) of the value ``initializer(shape, dtype)`` would
have. How that block is made depends on the initializer:

- ``Zeros``, ``Ones`` and a scalar ``Constant`` fill the block.
- The random initializers (``RandomNormal``, ``RandomUniform``, ``TruncatedNormal`` and
  ``VarianceScaling`` with its Glorot / He / Lecun forms) take their spread from the *whole*
  shape, then draw the whole generator stream in pieces of at most ``_CHUNK`` samples and keep the
  samples that fall in the block. The block is exactly the slice of the single-process value for
  the same seed; each process pays the drawing time of the whole tensor but never holds more than
  its block plus one piece.
- ``Identity`` fills the block with zeros and puts ``gain`` where the block meets the main
  diagonal; an array ``Constant`` slices its value along the dimensions where the value is not
  broadcast, then broadcasts that piece to the block.
- Anything else (``Orthogonal``, a user's callable, a subclass that overrides ``__call__``) has
  values that depend on the whole tensor (``Orthogonal`` is a QR decomposition of a whole random
  matrix): it is made whole, sliced and freed, so for a moment one process holds the whole value.
"""

import math

import numpy as np
import torch

from lamina.initializers.constant_initializers import Constant, Identity, Ones, Zeros
from lamina.initializers.initializer import _output_spec, _require_float
from lamina.initializers.random_initializers import (
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    _RandomInitializer,
)

_CHUNK = 1 << 16  # samples drawn at a time (a multiple of 16, see _piece_sizes)
_SMALL_BLOCK = 256  # below this many elements per kept block, copy by index rather than by slices
# The classes whose own ``__call__`` is one ``_sampling`` draw (a subclass overriding it is not).
_STREAMED_CALLS = {cls.__call__ for cls in (RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling)}


def local_shard(initializer, shape, dtype, ranges):
    """The block ``ranges`` of ``initializer(shape, dtype)``.

    Args:
        initializer: A callable initializer.
        shape: The whole variable's shape.
        dtype: The variable's dtype.
        ranges: One ``(start, stop)`` pair per dimension of ``shape``.

    Returns:
        A tensor of shape ``[stop - start for each pair]``.
    """
    shape = tuple(int(d) for d in shape)
    ranges = [(int(a), int(b)) for a, b in ranges]
    local_shape = tuple(b - a for a, b in ranges)
    fill = _fill_value(initializer)
    if fill is not None:
        _, torch_dtype, device = _output_spec(shape, dtype)
        return torch.full(local_shape, fill, dtype=torch_dtype, device=device)
    if isinstance(initializer, _RandomInitializer) and type(initializer).__call__ in _STREAMED_CALLS:
        kind, _, a, b = initializer._sampling(shape)
        _, torch_dtype, device = _output_spec(shape, dtype)
        _require_float(initializer, torch_dtype)
        gen = initializer._generator(device)

        def draw(n):
            return initializer._draw(kind, (n,), torch_dtype, a, b, gen, device)

        return _kept_samples(draw, shape, ranges, local_shape, torch_dtype, device)
    block = _computed_block(initializer, shape, dtype, ranges, local_shape)
    if block is not None:
        return block
    # Also the path of a bad shape: the whole call raises the initializer's own error.
    whole = initializer(shape, dtype=dtype)
    return whole[tuple(slice(a, b) for a, b in ranges)].clone()


def _fill_value(initializer):
    kind = type(initializer)
    if kind is Zeros:
        return 0
    if kind is Ones:
        return 1
    if kind is Constant and np.ndim(initializer.value) == 0:
        return np.asarray(initializer.value).item()
    return None


def _computed_block(initializer, shape, dtype, ranges, local_shape):
    """The block of an ``Identity`` or an array ``Constant`` (``None`` for other initializers,
    or for a shape the initializer refuses, so that its whole call raises its error)."""
    call = type(initializer).__call__
    if call is Identity.__call__ and len(shape) == 2:
        _, torch_dtype, device = _output_spec(shape, dtype)
        out = torch.zeros(local_shape, dtype=torch_dtype, device=device)
        (r0, r1), (c0, c1) = ranges
        first, stop = max(r0, c0), min(r1, c1)  # the diagonal entries (i, i) inside the block
        if first < stop:
            index = torch.arange(first, stop, device=device)
            out[index - r0, index - c0] = torch.as_tensor(initializer.gain, dtype=torch_dtype)
        return out
    if call is Constant.__call__:
        value = np.asarray(initializer.value)
        try:
            np.broadcast_shapes(value.shape, shape)
        except ValueError:
            return None
        if value.ndim > len(shape):  # leading ones: not accepted by the whole call either
            return None
        _, torch_dtype, device = _output_spec(shape, dtype)
        # The value's dimensions align with the last ones of `shape`; a dimension of size 1 is
        # broadcast, so only the others are cut to the block.
        lead = len(shape) - value.ndim
        cut = tuple(slice(None) if value.shape[d] == 1 else slice(*ranges[lead + d])
                    for d in range(value.ndim))
        piece = torch.as_tensor(value[cut], device=device).to(torch_dtype)
        return piece.broadcast_to(local_shape).clone()
    return None


def _piece_sizes(total):
    # Whole blocks of 16 samples, and a last piece of at least 16 unless the tensor is smaller:
    # torch's CPU normal sampler transforms draws in blocks of 16 (and redraws a short tail), so
    # only such pieces give the values of one draw of the whole tensor.
    start = 0
    while start < total:
        stop = min(total, start + _CHUNK)
        if 0 < total - stop < 16:
            stop = total
        yield stop - start
        start = stop


def _kept_samples(draw, shape, ranges, local_shape, dtype, device):
    """Draw the stream of ``math.prod(shape)`` samples piece by piece; keep the block ``ranges``."""
    total = math.prod(shape)
    cut = [d for d, (a, b) in enumerate(ranges) if (a, b) != (0, shape[d])]
    if not cut or total == 0:
        whole = draw(total).reshape(shape) if total else torch.empty(shape, dtype=dtype, device=device)
        return whole[tuple(slice(a, b) for a, b in ranges)].clone()
    last = cut[-1]
    # The stream is a sequence of blocks of `block` samples (the dimensions after the last cut
    # one), each wholly kept or wholly dropped; `kept` lists the kept blocks in stream order.
    block = math.prod(shape[last + 1:])
    grids = np.meshgrid(*[np.arange(a, b) for a, b in ranges[: last + 1]], indexing="ij")
    kept = np.ravel_multi_index([g.ravel() for g in grids], shape[: last + 1]).astype(np.int64)
    out = torch.empty(math.prod(local_shape), dtype=dtype, device=device)
    written = position = 0
    for size in _piece_sizes(total):
        values = draw(size)
        first = np.searchsorted(kept, position // block, "left")
        end = np.searchsorted(kept, (position + size - 1) // block, "right")
        ids = kept[first:end]
        if len(ids):
            if block < _SMALL_BLOCK:
                index = (ids[:, None] * block + np.arange(block)[None, :]).ravel()
                index = index[(index >= position) & (index < position + size)] - position
                taken = values[torch.from_numpy(index).to(device)]
                out[written: written + len(taken)] = taken
                written += len(taken)
            else:
                for block_id in ids.tolist():
                    lo = max(position, block_id * block)
                    hi = min(position + size, (block_id + 1) * block)
                    out[written: written + hi - lo] = values[lo - position: hi - position]
                    written += hi - lo
        position += size
    return out.reshape(local_shape)
