"""Keras 2 backend: the RNN loop and the higher-order functions ``map_fn``, ``foldl``, ``foldr``.

All of them run eagerly, one Python iteration per step, so ``step_function`` / ``fn`` may be any
Python callable on torch tensors (and autograd flows through the loop).
"""

import torch
from torch.utils import _pytree as pytree

from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import public_names, tensor


def _flat(structure):
    leaves, spec = pytree.tree_flatten(structure)
    return [tensor(leaf) for leaf in leaves], spec


def _time_slices(structure, time_major):
    leaves, spec = _flat(structure)
    if not leaves:
        raise ValueError("`inputs` must hold at least one tensor.")
    for leaf in leaves:
        if leaf.ndim < 3:
            raise ValueError(f"`inputs` must be at least 3D. Received a tensor of shape {tuple(leaf.shape)}.")
    if not time_major:
        leaves = [leaf.transpose(0, 1) for leaf in leaves]
    return leaves, spec


def _select(keep, new, old):
    # `keep` is (batch,) or (batch, 1): broadcast it over the feature axes of `new`.
    keep = keep.reshape(keep.shape[0], *([1] * (new.ndim - 1)))
    return torch.where(keep, new, old)


def _keep_fn(mask, input_length, go_backwards, time_major, device):
    """``keep(count, t)``: which samples step ``t`` (the ``count``-th processed) updates, or
    None when every step updates every sample."""
    if mask is not None:
        mask = tensor(mask).to(device=device).bool()
        if mask.ndim == 3:
            mask = mask[..., 0]
        if mask.ndim != 2:
            raise ValueError(f"`mask` must be (samples, time) or (samples, time, 1). Received: {tuple(mask.shape)}")
        if not time_major:
            mask = mask.transpose(0, 1)

        def keep(count, t):
            return mask[t]

        return keep
    if not isinstance(input_length, torch.Tensor):
        return None  # an int (or array) only documents the length, as in Keras 2
    # Keras 2 keys the mask it derives from lengths by loop position; going backwards it counts
    # from the longest sequence's end.
    lengths = input_length.to(device=device)
    first_valid = lengths.max() - 1 - lengths

    def keep(count, t):
        return first_valid < count if go_backwards else lengths > count

    return keep


def rnn(
    step_function,
    inputs,
    initial_states,
    go_backwards=False,
    mask=None,
    constants=None,
    unroll=False,
    input_length=None,
    time_major=False,
    zero_output_for_mask=False,
    return_all_outputs=True,
):
    """Iterate ``step_function`` over the time axis of ``inputs``.

    Args:
        step_function: ``(input_t, states) -> (output_t, new_states)``, where ``input_t`` is one
            time step of ``inputs`` (same structure, no time axis) and ``states`` the list of
            states followed by ``constants``.
        inputs: ``(samples, time, ...)`` tensor (at least 3D), or a structure of them.
        initial_states: List of initial state tensors.
        go_backwards: Iterate from the last step to the first (outputs in that order).
        mask: ``(samples, time)`` or ``(samples, time, 1)`` boolean mask; at a masked step the
            states are carried over and the output repeats the previous one (zeros with
            ``zero_output_for_mask``, and at the first step).
        constants: List of tensors passed to every step after the states.
        unroll: Accepted for compatibility; the eager loop gives the same result either way.
        input_length: Torch tensor ``(samples,)`` of valid lengths, used as the mask when
            ``mask`` is None (an int or a NumPy array is only informative, as in Keras 2).
        time_major: ``inputs`` and outputs are ``(time, samples, ...)``.
        zero_output_for_mask: Masked steps output zeros.
        return_all_outputs: Return every step's output; ``False`` keeps only the last one, with
            a time axis of 1.

    Returns:
        ``(last_output, outputs, new_states)``.

    Example:

    >>> def step(x, states):
    ...     total = states[0] + x
    ...     return total, [total]
    >>> last, outputs, states = K.rnn(step, np.ones((2, 3, 4), "float32"), [torch.zeros(2, 4)])
    >>> last[0]
    tensor([3., 3., 3., 3.])
    """
    leaves, spec = _time_slices(inputs, time_major)
    steps = leaves[0].shape[0]
    states = list(initial_states)
    constants = list(constants or [])
    keep_at = _keep_fn(mask, input_length, go_backwards, time_major, leaves[0].device)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)

    outputs, prev_flat, out_spec = [], None, None
    for count, t in enumerate(order):
        step_input = pytree.tree_unflatten([leaf[t] for leaf in leaves], spec)
        output, new_states = step_function(step_input, tuple(states) + tuple(constants))
        out_flat, out_spec = _flat(output)
        if keep_at is not None:
            keep = keep_at(count, t)
            if prev_flat is None or zero_output_for_mask:
                fallback = [torch.zeros_like(o) for o in out_flat]
            else:
                fallback = prev_flat
            out_flat = [_select(keep, o, f) for o, f in zip(out_flat, fallback)]
            new_flat, new_spec = _flat(new_states)
            old_flat, _ = _flat(states)
            new_states = pytree.tree_unflatten(
                [_select(keep, n, o) for n, o in zip(new_flat, old_flat)], new_spec
            )
        states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        prev_flat = out_flat
        if return_all_outputs or count == steps - 1:
            outputs.append(out_flat)
    if not outputs:
        raise ValueError("`inputs` has no time steps.")
    last_output = pytree.tree_unflatten(outputs[-1], out_spec)
    stacked = [torch.stack(column) for column in zip(*outputs)]
    if not time_major:
        stacked = [s.transpose(0, 1) for s in stacked]
    return last_output, pytree.tree_unflatten(stacked, out_spec), states


def _slices(elems):
    leaves, spec = _flat(elems)
    if not leaves:
        raise ValueError("`elems` must hold at least one tensor.")
    n = leaves[0].shape[0] if leaves[0].ndim else None
    if n is None or any(leaf.ndim == 0 or leaf.shape[0] != n for leaf in leaves):
        raise ValueError("Every tensor of `elems` needs the same leading axis size.")
    return [pytree.tree_unflatten([leaf[i] for leaf in leaves], spec) for i in range(n)]


def map_fn(fn, elems, name=None, dtype=None):
    """Apply ``fn`` to each slice of ``elems`` along its first axis and stack the results.

    Args:
        fn: Callable on one slice (``elems`` may be a structure of tensors; ``fn`` then gets the
            same structure).
        elems: Tensor or structure of tensors with a common leading axis.
        name: Unused (graph op name in Keras 2).
        dtype: Optional dtype of the outputs (they are cast to it).

    Returns:
        The stacked outputs of ``fn``.
    """
    results = [fn(x) for x in _slices(elems)]
    if not results:
        raise ValueError("`elems` is empty: map_fn needs at least one element.")
    flats = [_flat(r) for r in results]
    out_spec = flats[0][1]
    stacked = [torch.stack(column) for column in zip(*(leaves for leaves, _ in flats))]
    if dtype is not None:
        stacked = [s.to(to_torch_dtype(dtype)) for s in stacked]
    return pytree.tree_unflatten(stacked, out_spec)


def _fold(fn, elems, initializer, reverse):
    items = _slices(elems)
    if reverse:
        items = items[::-1]
    if initializer is None:
        if not items:
            raise ValueError("`elems` is empty and no `initializer` was given.")
        accumulator, items = items[0], items[1:]
    else:
        accumulator = initializer
    for x in items:
        accumulator = fn(accumulator, x)
    return accumulator


def foldl(fn, elems, initializer=None, name=None):
    """Reduce ``elems`` along its first axis from left to right: ``acc = fn(acc, x)``.

    ``initializer`` defaults to ``elems[0]`` (the loop then starts at ``elems[1]``).

    Example:

    >>> K.foldl(lambda acc, x: acc + x, np.arange(5.0))
    tensor(10., dtype=torch.float64)
    """
    return _fold(fn, elems, initializer, reverse=False)


def foldr(fn, elems, initializer=None, name=None):
    """Reduce ``elems`` along its first axis from right to left: ``acc = fn(acc, x)``.

    ``initializer`` defaults to ``elems[-1]``.
    """
    return _fold(fn, elems, initializer, reverse=True)


__all__ = public_names(globals(), __name__)
