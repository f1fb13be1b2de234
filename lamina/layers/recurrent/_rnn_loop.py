"""The generic recurrent step loop: run a step function over the time axis, with masks.

Semantics follow Keras 3 (``keras.ops.rnn`` on the JAX backend): at a masked step every state
keeps its previous value and the output is the previous first state (or zeros with
``zero_output_for_mask``); ``go_backwards`` walks the time axis from the end and returns the
outputs in processing order.
"""

import torch

from lamina.utils import tree


def _expand(mask_t, like):
    """A ``(batch,)`` boolean mask viewed so that it broadcasts against ``like``."""
    return mask_t.view((mask_t.shape[0],) + (1,) * (like.dim() - 1))


def _previous_output(states):
    # The output carried over a masked step is the first state (the last cell's first state
    # when the states are nested per cell), as in Keras.
    if tree.is_nested(states[0]):
        return tree.flatten(states[-1])[0]
    return states[0]


def rnn_loop(
    step,
    inputs,
    initial_states,
    mask=None,
    go_backwards=False,
    zero_output_for_mask=False,
    return_sequences=True,
):
    """Iterate ``step(x_t, states) -> (output, new_states)`` over ``inputs`` (batch-major).

    Args:
        step: Function of one time slice ``(batch, ...)`` and the state structure.
        inputs: Tensor ``(batch, timesteps, ...)``.
        initial_states: List (possibly nested) of state tensors.
        mask: Optional boolean tensor ``(batch, timesteps)``.
        go_backwards: Process the time axis in reverse.
        zero_output_for_mask: Output zeros (not the carried state) at masked steps.
        return_sequences: Whether to collect the output of every step.

    Returns:
        ``(last_output, outputs, final_states)``; ``outputs`` is ``(batch, timesteps, ...)`` in
        processing order, or ``None`` when ``return_sequences`` is False.
    """
    timesteps = inputs.shape[1]
    if timesteps == 0:
        raise ValueError("Cannot run a recurrent layer on an input with 0 timesteps.")
    order = range(timesteps - 1, -1, -1) if go_backwards else range(timesteps)
    states = initial_states
    outputs = []
    output = None
    if mask is not None:
        mask = mask.to(torch.bool)
        if mask.dim() == 3:
            mask = mask.any(-1)
    for t in order:
        out, new_states = step(inputs[:, t], states)
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        if mask is not None:
            m = mask[:, t]
            if zero_output_for_mask:
                out = torch.where(_expand(m, out), out, torch.zeros((), dtype=out.dtype, device=out.device))
            else:
                prev = _previous_output(states)
                out = torch.where(_expand(m, out), out, prev)
            flat_old = tree.flatten(states)
            flat_new = [torch.where(_expand(m, n), n, o) for n, o in zip(tree.flatten(new_states), flat_old)]
            new_states = tree.pack_sequence_as(new_states, flat_new)
        states = new_states
        output = out
        if return_sequences:
            outputs.append(out)
    seq = torch.stack(outputs, dim=1) if return_sequences else None
    return output, seq, list(states)
