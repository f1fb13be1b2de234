"""``timeseries_dataset_from_array``: sliding windows over a series, as a ``lamina.utils.Dataset``."""

import numpy as np
import torch

from lamina.utils.dataset import Dataset


def _as_array(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _check_positive_below(name, value, length):
    if value <= 0:
        raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
    if value >= length:
        raise ValueError(
            f"`{name}` must be lower than the length of the data. Received: {name}={value}, for "
            f"data of length {length}"
        )


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None,
                                  end_index=None, format="tf"):
    """A dataset of sliding windows over ``data`` (and the target at each window's start).

    Window ``i`` holds the rows ``start + p_i + k * sampling_rate`` for ``k < sequence_length``,
    where ``p_i = i * sequence_stride`` and ``start = start_index``; its target is
    ``targets[start + p_i]``.

    Args:
        data: Array of rows (axis 0 is time).
        targets: Targets, one per row of ``data``, or ``None`` for windows only.
        sequence_length: Rows per window.
        sequence_stride: Step between the starts of consecutive windows.
        sampling_rate: Step between the rows of a window.
        batch_size: Windows per batch; ``None`` yields single windows.
        shuffle: Shuffle the windows (the start positions once with ``RandomState(seed)`` as in
            Keras, and the windows again every epoch).
        seed: Seed of the shuffles.
        start_index: First row used (default 0).
        end_index: Rows from ``end_index`` on are not used (default: all rows).
        format: ``"tf"`` or ``"grain"``; both give a ``lamina.utils.Dataset``.

    Returns:
        A ``lamina.utils.Dataset`` of ``(windows, targets)`` batches (or windows alone).

    Example:

    >>> data = np.arange(100)
    >>> ds = lamina.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    >>> windows, targets = next(iter(ds))
    >>> windows[0].tolist() == list(range(10)), int(targets[0])
    (True, 10)
    """
    data = _as_array(data)
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError(
                "`start_index` must be lower than the length of the data. Received: "
                f"start_index={start_index}, for data of length {n}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. Received: "
                f"start_index={start_index}, and end_index={end_index} "
            )
        if end_index >= n:
            raise ValueError(
                "`end_index` must be lower than the length of the data. Received: "
                f"end_index={end_index}, for data of length {n}"
            )
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    _check_positive_below("sampling_rate", sampling_rate, n)
    _check_positive_below("sequence_stride", sequence_stride, n)
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')

    start_index = start_index or 0
    end_index = end_index or n
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = _as_array(targets)
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)

    rows = data[start_index:end_index]
    offsets = np.arange(sequence_length) * sampling_rate
    target_rows = None if targets is None else targets[start_index:end_index]

    def window(i):
        start = positions[i]
        if target_rows is None:
            return rows[start + offsets]
        return rows[start + offsets], target_rows[start]

    indices = Dataset.from_tensor_slices(np.arange(len(positions)))
    if shuffle:
        indices = indices.shuffle(seed=seed)
    dataset = indices.map(lambda i: window(int(i)))
    return dataset.batch(batch_size) if batch_size is not None else dataset
