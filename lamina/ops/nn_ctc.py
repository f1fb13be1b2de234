"""Connectionist Temporal Classification (``keras.ops`` nn): ``ctc_loss`` and ``ctc_decode``."""

import torch
import torch.nn.functional as F

from lamina.ops._utils import public_names, tensor


def _float32_at_least(x):
    x = tensor(x)
    if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
        return x.to(torch.float32)
    return x


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss of each sequence: the negative log-likelihood of its label sequence.

    Args:
        target: ``(batch, max_label_length)`` integer labels.
        output: ``(batch, max_length, num_classes)`` logits (a log-softmax is taken).
        target_length: ``(batch,)`` label sequence lengths.
        output_length: ``(batch,)`` output sequence lengths.
        mask_index: The blank class.

    Returns:
        ``(batch,)`` losses, in at least float32.
    """
    output = _float32_at_least(output)
    if output.ndim != 3:
        raise ValueError(f"`output` must be (batch, max_length, num_classes). Received: {tuple(output.shape)}")
    target = tensor(target).to(device=output.device, dtype=torch.int64)
    if target.ndim != 2:
        raise ValueError(f"`target` must be (batch, max_label_length). Received: {tuple(target.shape)}")
    target_length = tensor(target_length).to(device=output.device, dtype=torch.int64)
    output_length = tensor(output_length).to(device=output.device, dtype=torch.int64)
    log_probs = torch.log_softmax(output, dim=-1).transpose(0, 1)  # torch wants time-major
    return F.ctc_loss(log_probs, target, output_length, target_length, blank=mask_index, reduction="none")


def ctc_decode(
    inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
    mask_index=0,
):
    """Decode CTC outputs into label sequences.

    Args:
        inputs: ``(batch, max_length, num_classes)`` logits or probabilities.
        sequence_lengths: ``(batch,)`` valid lengths; later steps are ignored.
        strategy: ``"greedy"`` (best class per step). Keras's ``"beam_search"`` is not
            supported.
        beam_width, top_paths: Beam search settings, unused by the greedy strategy.
        merge_repeated: Merge repeated classes of consecutive steps.
        mask_index: The blank class (``None``: the last class).

    Returns:
        A tuple ``(paths, scores)``: ``paths`` is ``(1, batch, max_length)`` int32, the decoded
        labels moved to the front and padded with -1; ``scores`` is ``(batch, 1)``, minus the
        sum of the best per-step scores.
    """
    inputs = _float32_at_least(inputs)
    if strategy != "greedy":
        raise ValueError(f"Invalid strategy {strategy!r}. Supported value: 'greedy'.")
    batch, max_length, num_classes = inputs.shape
    if mask_index is None:
        mask_index = num_classes - 1
    lengths = tensor(sequence_lengths).to(device=inputs.device, dtype=torch.int64)
    scores, indices = torch.max(inputs, dim=-1)
    beyond = torch.arange(max_length, device=inputs.device).unsqueeze(0) >= lengths.unsqueeze(1)
    indices = torch.where(beyond, mask_index, indices)
    scores = torch.where(beyond, torch.zeros((), dtype=scores.dtype, device=scores.device), scores)
    if merge_repeated:
        repeat = torch.zeros_like(beyond)
        repeat[:, 1:] = indices[:, 1:] == indices[:, :-1]
        indices = torch.where(repeat, mask_index, indices)
    blank = indices == mask_index
    indices = torch.where(blank, -1, indices)
    # A stable sort on "is blank" moves the labels to the front, keeping their order.
    order = torch.argsort(blank.to(torch.int8), dim=-1, stable=True)
    paths = torch.take_along_dim(indices, order, dim=-1).to(torch.int32)
    return paths.unsqueeze(0), -torch.sum(scores, dim=1, keepdim=True)


__all__ = public_names(globals(), __name__)
