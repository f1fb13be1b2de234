"""Keras 2 backend: Connectionist Temporal Classification on softmax outputs.

Keras 2's CTC functions take *probabilities* (a softmax output), take ``log(y_pred + epsilon())``
and use the **last** class as the blank, unlike ``keras.ops.ctc_loss`` (logits, blank 0).
"""

import math

import numpy as np
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
    return torch.sparse_coo_tensor(indices, labels[keep], tuple(labels.shape), check_invariants=True).coalesce()


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


class _Prefix:
    """A node of the prefix tree the beam search grows: one label sequence, with the log
    probabilities of having emitted it ending in a blank (``blank``) or in its last label
    (``label``), at the previous step (``old_*``) and the current one."""

    __slots__ = ("parent", "last", "children", "blank", "label", "total", "old_blank", "old_total")

    def __init__(self, parent, last):
        self.parent, self.last, self.children = parent, last, {}
        self.blank = self.label = self.total = -math.inf
        self.old_blank = self.old_total = -math.inf

    def active(self):
        return self.total != -math.inf

    def drop(self):
        self.blank = self.label = self.total = -math.inf

    def labels(self, merge_repeated):
        out, node, previous = [], self, None
        while node.parent is not None:
            if not merge_repeated or node.last != previous:
                out.append(node.last)
            previous, node = node.last, node.parent
        return out[::-1]


def _log_add(a, b):
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _beam_search(scores, beam_width, top_paths):
    """TensorFlow's CTC prefix beam search over ``scores`` ``(steps, classes)`` (the last
    class is the blank; each step is normalized to log-probabilities), with repeated labels
    merged in the returned paths. Returns ``[(labels, log_probability)]``, best first."""
    blank = scores.shape[1] - 1
    root = _Prefix(None, -1)
    root.total = root.blank = 0.0
    beam = [root]
    for row in scores:
        row = row - np.logaddexp.reduce(row)
        previous = sorted(beam, key=lambda p: p.total, reverse=True)
        for p in previous:
            p.old_blank, p.old_total = p.blank, p.total
        beam = []
        # Existing prefixes: stay on their last label (or reach it from their parent), or add
        # a blank.
        for p in previous:
            if p.parent is not None:
                if p.parent.active():
                    source = p.parent.old_blank if p.last == p.parent.last else p.parent.old_total
                    p.label = _log_add(p.label, source)
                p.label += float(row[p.last])
            p.blank = p.old_total + float(row[blank])
            p.total = _log_add(p.blank, p.label)
            beam.append(p)

        # New prefixes: one more label, entering the beam while they beat its worst entry
        # (cached: it only changes when an entry is added or replaced).
        worst = None

        def beats_worst(total):
            nonlocal worst
            if len(beam) < beam_width:
                return total > -math.inf
            if worst is None:
                worst = min(beam, key=lambda q: q.total)
            return total > worst.total

        for p in previous:
            if not beats_worst(p.old_total):
                continue
            totals = row[:blank] + p.old_total
            if 0 <= p.last < blank:
                totals[p.last] = row[p.last] + p.old_blank
            labels = range(blank) if len(beam) < beam_width else np.flatnonzero(totals > worst.total)
            for label in labels:
                label = int(label)
                child = p.children.get(label)
                if child is None:
                    child = p.children[label] = _Prefix(p, label)
                if child.active():
                    continue
                total = float(totals[label])
                if beats_worst(total):
                    child.blank, child.label, child.total = -math.inf, total, total
                    if len(beam) == beam_width:
                        worst.drop()
                        beam.remove(worst)
                    beam.append(child)
                    worst = None
    if top_paths > len(beam):
        raise ValueError(
            f"`top_paths`={top_paths} is more than the {len(beam)} paths the beam search found."
        )
    best = sorted(beam, key=lambda p: p.total, reverse=True)[:top_paths]
    return [(p.labels(merge_repeated=True), p.total) for p in best]


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Decode a softmax output into label sequences.

    Greedy decoding (best path) takes the most likely class per step, merges repeats and
    removes blanks (the last class). Beam search keeps the ``beam_width`` most likely label
    prefixes at each step, as TensorFlow's decoder does, and returns the ``top_paths`` best.

    Args:
        y_pred: ``(samples, time_steps, num_categories)`` softmax output.
        input_length: ``(samples,)`` number of valid steps per sample.
        greedy: Best-path decoding (fast); ``False`` runs the beam search (a Python loop over
            steps and prefixes: meant for decoding results, not for training loops).
        beam_width: Beam width of the beam search.
        top_paths: Number of paths the beam search returns.

    Returns:
        ``(decoded, log_prob)``: ``decoded`` is a list of ``(samples, time_steps)`` int64
        tensors padded with -1 (one per path); ``log_prob`` is ``(samples, 1)`` for greedy
        decoding (minus the sum of each step's best log-probability) and
        ``(samples, top_paths)`` for the beam search (each path's log-probability).
    """
    log_probs = _log_probs(y_pred)
    lengths = _lengths(input_length, "input_length", log_probs.device)
    if greedy:
        paths, scores = ops.ctc_decode(log_probs, lengths, strategy="greedy", mask_index=None)
        return [paths[0].to(torch.int64)], scores
    beam_width, top_paths = int(beam_width), int(top_paths)
    if beam_width < 1 or not 1 <= top_paths <= beam_width:
        raise ValueError(
            f"Expected 1 <= top_paths <= beam_width. Received: beam_width={beam_width}, top_paths={top_paths}"
        )
    samples, steps, _ = log_probs.shape
    scores = log_probs.detach().cpu().numpy().astype(np.float64)
    decoded = np.full((top_paths, samples, steps), -1, dtype=np.int64)
    path_scores = np.zeros((samples, top_paths), dtype=np.float32)
    for i in range(samples):
        results = _beam_search(scores[i, : int(lengths[i])], beam_width, top_paths)
        for j, (labels, score) in enumerate(results):
            decoded[j, i, : len(labels)] = labels
            path_scores[i, j] = score
    device = log_probs.device
    return [torch.from_numpy(d).to(device) for d in decoded], torch.from_numpy(path_scores).to(device)


__all__ = public_names(globals(), __name__)
