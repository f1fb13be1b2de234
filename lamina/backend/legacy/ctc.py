"""Keras 2 backend: Connectionist Temporal Classification on softmax outputs.

Keras 2's CTC functions take *probabilities* (a softmax output), take ``log(y_pred + epsilon())``
and use the **last** class as the blank, unlike ``keras.ops.ctc_loss`` (logits, blank 0).
"""

import torch

from lamina import ops
from lamina.backend import config
from lamina.ops._utils import public_names, tensor


def _log_probs(y_pred):
    y_pred = tensor(y_pred)
    if y_pred.ndim != 3:
        raise ValueError(
            f"`y_pred` must be (samples, time_steps, num_categories). Received: shape={tuple(y_pred.shape)}"
        )
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.float32)
    return torch.log(y_pred + config.epsilon())


def _lengths(lengths, name, device):
    lengths = tensor(lengths).to(device=device, dtype=torch.int64)
    if lengths.ndim == 2 and lengths.shape[-1] == 1:
        lengths = lengths[:, 0]
    if lengths.ndim != 1:
        raise ValueError(f"`{name}` must be (samples,) or (samples, 1). Received: shape={tuple(lengths.shape)}")
    return lengths


def ctc_label_dense_to_sparse(labels, label_lengths):
    """The first ``label_lengths[i]`` labels of each row of ``labels`` as a sparse COO tensor.

    Args:
        labels: ``(samples, max_label_length)`` dense labels.
        label_lengths: ``(samples,)`` number of valid labels per row.

    Returns:
        A ``torch.sparse_coo_tensor`` of the shape of ``labels`` holding the valid labels, its
        indices in row-major order.
    """
    labels = tensor(labels)
    if labels.ndim != 2:
        raise ValueError(f"`labels` must be (samples, max_label_length). Received: shape={tuple(labels.shape)}")
    lengths = _lengths(label_lengths, "label_lengths", labels.device)
    keep = torch.arange(labels.shape[1], device=labels.device).unsqueeze(0) < lengths.unsqueeze(1)
    indices = keep.nonzero().T
    return torch.sparse_coo_tensor(indices, labels[keep], tuple(labels.shape)).coalesce()


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """CTC loss of each sample.

    Args:
        y_true: ``(samples, max_string_length)`` integer labels.
        y_pred: ``(samples, time_steps, num_categories)`` softmax output; the last category is
            the blank.
        input_length: ``(samples, 1)`` number of valid steps of ``y_pred`` per sample.
        label_length: ``(samples, 1)`` number of valid labels of ``y_true`` per sample.

    Returns:
        ``(samples, 1)`` losses.

    Example:

    >>> y_pred = np.full((1, 4, 3), 1 / 3, "float32")
    >>> K.ctc_batch_cost(np.array([[0, 1]]), y_pred, np.array([[4]]), np.array([[2]])).shape
    torch.Size([1, 1])
    """
    log_probs = _log_probs(y_pred)
    blank = log_probs.shape[-1] - 1
    loss = ops.ctc_loss(
        tensor(y_true),
        log_probs,
        _lengths(label_length, "label_length", log_probs.device),
        _lengths(input_length, "input_length", log_probs.device),
        mask_index=blank,
    )
    return loss.unsqueeze(1)


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Decode a softmax output into label sequences (best path: the most likely class per
    step, repeats merged, blanks, the last class, removed).

    Args:
        y_pred: ``(samples, time_steps, num_categories)`` softmax output.
        input_length: ``(samples,)`` number of valid steps per sample.
        greedy: Only the greedy (best path) search is implemented; ``False`` (beam search)
            raises ``ValueError``.
        beam_width, top_paths: Beam search settings (see ``greedy``).

    Returns:
        ``([decoded], log_prob)``: ``decoded`` is ``(samples, time_steps)`` int64 labels padded
        with -1, and ``log_prob`` ``(samples, 1)`` is minus the sum of each step's best
        log-probability.
    """
    if not greedy:
        raise ValueError(
            "`ctc_decode(greedy=False)` (beam search) is not supported; use greedy=True."
        )
    log_probs = _log_probs(y_pred)
    lengths = _lengths(input_length, "input_length", log_probs.device)
    paths, scores = ops.ctc_decode(log_probs, lengths, strategy="greedy", mask_index=None)
    return [paths[0].to(torch.int64)], scores


__all__ = public_names(globals(), __name__)
