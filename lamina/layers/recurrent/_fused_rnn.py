"""Fused LSTM/GRU kernels (torch's, cuDNN on GPU) with Keras weights and Keras mask semantics.

The layers keep their weights in the Keras layout; the functions here re-lay them out per call
(transposes and one gate reordering concat, all differentiable) and run ``torch._VF.lstm`` /
``torch._VF.gru``. Masks are supported when every sequence is right-padded (the usual result of
``Embedding(mask_zero=True)`` or ``Masking`` on padded batches): the valid prefixes run as a packed
sequence and the outputs of the masked steps are then filled in exactly as the Keras step loop
defines them. Any other mask returns ``None`` and the caller runs the step loop.
"""

import warnings

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lamina.backend import torch_compat


def lstm_weights(kernel, recurrent_kernel, bias, input_bias=None):
    """Torch ``(w_ih, w_hh, b_ih, b_hh)`` from Keras LSTM weights (gates i, f, c, o in both)."""
    units = recurrent_kernel.shape[0]
    zeros = kernel.new_zeros(4 * units)
    if bias is None:
        b_ih, b_hh = zeros, zeros
    elif input_bias is not None:
        b_ih, b_hh = input_bias, bias
    else:
        b_ih, b_hh = bias, zeros
    # Contiguous copies: torch's CPU kernel runs 2-3x slower on transposed views.
    return [kernel.t().contiguous(), recurrent_kernel.t().contiguous(), b_ih, b_hh]


def _zrh_to_rzn(x, units, dim):
    # Keras GRU gates are ordered (z, r, h); torch's are (r, z, n).
    z, r, h = x.split(units, dim=dim)
    return torch.cat([r, z, h], dim=dim)


def gru_weights(kernel, recurrent_kernel, input_bias, recurrent_bias):
    """Torch ``(w_ih, w_hh, b_ih, b_hh)`` from Keras GRU (``reset_after=True``) weights."""
    units = recurrent_kernel.shape[0]
    # Reordered along the first axis of the transposes, so the results are contiguous (torch's
    # CPU kernel runs 2-3x slower on transposed views).
    w_ih = _zrh_to_rzn(kernel.t(), units, 0)
    w_hh = _zrh_to_rzn(recurrent_kernel.t(), units, 0)
    if input_bias is None:
        zeros = kernel.new_zeros(3 * units)
        return [w_ih, w_hh, zeros, zeros]
    return [w_ih, w_hh, _zrh_to_rzn(input_bias, units, 0), _zrh_to_rzn(recurrent_bias, units, 0)]


def fused_ok(inputs):
    """Whether torch's fused kernel handles this input's device and dtype."""
    if inputs.device.type == "cpu":
        return inputs.dtype in (torch.float32, torch.float64)
    return inputs.is_floating_point()


def right_padded_lengths(mask):
    """Lengths of a ``(batch, timesteps)`` mask if it is right-padded with no empty row, else None.

    ``"full"`` means nothing is masked. This check reads the mask on the host (one sync).
    """
    lengths = mask.sum(dim=1)
    timesteps = mask.shape[1]
    if bool((lengths == timesteps).all()):
        return "full"
    steps = torch.arange(timesteps, device=mask.device)
    if bool((lengths == 0).any()) or not torch.equal(mask, steps.unsqueeze(0) < lengths.unsqueeze(1)):
        return None
    return lengths


def _run(mode, inputs, states, weights, lengths):
    """Torch's kernel over batch-major ``inputs``; packed when ``lengths`` is given."""
    # cuDNN wants one flat weight buffer and warns when it must build it; it is built here on
    # purpose, from the Keras-layout variables, at every call. The CPU kernel never warns, and
    # torch.compile / torch.export cannot trace `warnings.catch_warnings`.
    if inputs.device.type == "cpu" or torch_compat.is_compiling():
        return _run_kernel(mode, inputs, states, weights, lengths)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not part of single contiguous chunk.*")
        return _run_kernel(mode, inputs, states, weights, lengths)


def _run_kernel(mode, inputs, states, weights, lengths):
    hx = tuple(s.unsqueeze(0) for s in states)
    hx = hx if mode == "lstm" else hx[0]
    fn = torch._VF.lstm if mode == "lstm" else torch._VF.gru
    if lengths is None:
        result = fn(inputs, hx, weights, True, 1, 0.0, False, False, True)
        outputs, final = result[0], result[1:]
        return outputs, [f.squeeze(0) for f in final]
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    if mode == "lstm":
        hx = tuple(h.index_select(1, packed.sorted_indices) for h in hx)
    else:
        hx = hx.index_select(1, packed.sorted_indices)
    result = fn(packed.data, packed.batch_sizes, hx, weights, True, 1, 0.0, False, False)
    out_packed = PackedSequence(result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=inputs.shape[1])
    final = [f.index_select(1, packed.unsorted_indices).squeeze(0) for f in result[1:]]
    return outputs, final


def fused_rnn(
    mode,
    inputs,
    initial_states,
    weights,
    mask=None,
    go_backwards=False,
    zero_output_for_mask=False,
    return_sequences=True,
    need_states=True,
):
    """One fused LSTM (``mode="lstm"``) or GRU (``"gru"``) layer with Keras loop semantics.

    Args:
        inputs: ``(batch, timesteps, features)``.
        initial_states: ``[h, c]`` for LSTM, ``[h]`` for GRU, each ``(batch, units)``.
        weights: ``[w_ih, w_hh, b_ih, b_hh]`` in torch's layout.
        mask: Optional boolean ``(batch, timesteps)``.
        need_states: Whether the caller uses the final LSTM cell state. Without it, a masked
            batch runs unpacked over the padding (faster than packed sequences on CPU) and the
            outputs are read at each sequence's last valid step; the returned LSTM cell state
            is then ``None``.

    Returns:
        ``(last_output, outputs or None, final_states)`` as ``rnn_loop`` returns them, or ``None``
        when the mask is not right-padded (the caller then runs the step loop).
    """
    lengths = None
    if mask is not None:
        lengths = right_padded_lengths(mask)
        if lengths is None:
            return None
        if isinstance(lengths, str):
            lengths = None
    if lengths is None:
        x = inputs.flip(1) if go_backwards else inputs
        outputs, final = _run(mode, x, initial_states, weights, None)
        return outputs[:, -1], outputs if return_sequences else None, final

    batch, timesteps = mask.shape
    steps = torch.arange(timesteps, device=inputs.device).unsqueeze(0)
    lengths_col = lengths.unsqueeze(1)
    valid = steps < lengths_col
    if go_backwards:
        # Keras walks t = T-1 .. 0: the padded steps come first and leave the states alone,
        # then the valid prefix runs reversed.
        src = (lengths_col - 1 - steps).clamp(min=0)
        x = inputs.gather(1, src.unsqueeze(-1).expand(-1, -1, inputs.shape[2]))
    else:
        x = inputs
    if need_states and mode == "lstm":
        out_p, final = _run(mode, x, initial_states, weights, lengths)
        h_last = final[0]
    else:
        # Steps past a sequence's end never influence its valid steps, so the plain kernel over
        # the padded batch gives the same valid outputs; the final state is the output at L - 1.
        out_p, _ = _run(mode, x, initial_states, weights, None)
        h_last = out_p.gather(1, (lengths_col - 1).unsqueeze(-1).expand(-1, 1, out_p.shape[2])).squeeze(1)
        final = [h_last, None] if mode == "lstm" else [h_last]
    if not return_sequences:
        if zero_output_for_mask and not go_backwards:
            h_last = torch.where((lengths == timesteps).unsqueeze(1), h_last, torch.zeros_like(h_last))
        return h_last, None, final
    if zero_output_for_mask:
        fill = torch.zeros_like(out_p)
    elif go_backwards:
        fill = initial_states[0].unsqueeze(1).expand_as(out_p)
    else:
        fill = h_last.unsqueeze(1).expand_as(out_p)
    if go_backwards:
        # Processing step k holds packed output k - (T - L) once the valid part has started.
        pad = timesteps - lengths_col
        idx = (steps - pad).clamp(min=0)
        shifted = out_p.gather(1, idx.unsqueeze(-1).expand(-1, -1, out_p.shape[2]))
        outputs = torch.where((steps >= pad).unsqueeze(-1), shifted, fill)
    else:
        outputs = torch.where(valid.unsqueeze(-1), out_p, fill)
    return outputs[:, -1], outputs, final
