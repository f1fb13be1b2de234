"""``split_dataset`` and the directory indexing shared by the ``*_dataset_from_directory`` functions.

The file listing, the label inference, the seeded shuffle of the file list (``RandomState(seed)``)
and the training / validation cut follow Keras exactly, so the same folder and seed give the same
files in the same subsets as in Keras.
"""

import os
import random

import numpy as np
import torch

from lamina.utils.dataset import Dataset, _length, _slice


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None):
    """Split a dataset into a left half and a right half (e.g. training and test).

    Args:
        dataset: A numpy array, a list / tuple of arrays of the same length, a
            ``lamina.utils.Dataset`` (a batched one is split by samples and re-batched), or a
            ``torch.utils.data.Dataset``.
        left_size: An int (number of samples) or a float in ``(0, 1)`` (fraction) for the left
            split; by default the complement of ``right_size``.
        right_size: Likewise for the right split; by default the complement of ``left_size``.
        shuffle: Shuffle the samples before splitting.
        seed: Seed of the shuffle.
        preferred_backend: ``"torch"`` returns ``torch.utils.data.Subset``s (what Keras returns
            with the torch backend, and always for a torch ``Dataset``); anything else returns
            ``lamina.utils.Dataset``s.

    Returns:
        A tuple ``(left, right)``.

    Example:

    >>> data = np.random.random(size=(1000, 4))
    >>> left, right = lamina.utils.split_dataset(data, left_size=0.8)
    >>> len(left), len(right)
    (800, 200)
    """
    if isinstance(dataset, torch.utils.data.Dataset) or preferred_backend == "torch":
        return _split_torch(dataset, left_size, right_size, shuffle, seed)
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be specified. Received: "
            "left_size=None and right_size=None"
        )
    samples, batch_size = _to_samples(dataset)
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        # Keras seeds Python's global generator and shuffles the sample list with it; a private
        # generator with the same seed gives the same order without touching global state.
        random.Random(seed).shuffle(samples)
    left_size, right_size = _rescale_split_sizes(left_size, right_size, len(samples))
    parts = []
    for rows in (samples[:left_size], samples[-right_size:]):
        part = Dataset.from_tensor_slices(_stack_rows(rows))
        parts.append(part.batch(batch_size) if batch_size else part)
    return tuple(parts)


def _to_samples(dataset):
    """The samples of ``dataset`` as a list, and its batch size if it was batched."""
    if isinstance(dataset, Dataset):
        batch_size = getattr(dataset, "batch_size", None)
        source = dataset.unbatch() if batch_size else dataset
        return [source[i] for i in range(len(source))], batch_size
    if isinstance(dataset, np.ndarray):
        if len(dataset) == 0:
            raise ValueError("Received an empty dataset.")
        return list(dataset), None
    if isinstance(dataset, (list, tuple)):
        kind = type(dataset).__name__
        if not dataset:
            raise ValueError(f"Received an empty {kind} dataset. Please provide a non-empty {kind} of arrays.")
        for i, element in enumerate(dataset):
            if not isinstance(element, np.ndarray):
                raise ValueError(f"Expected a {kind} of `numpy.ndarray` objects. Received: {type(element)} at index {i}.")
            if element.shape[0] != dataset[0].shape[0]:
                raise ValueError(
                    f"Received a {kind} of NumPy arrays with different lengths. Mismatch found at "
                    f"index {i}: expected {dataset[0].shape[0]} samples, received shape "
                    f"{element.shape}. Please provide arrays of the same length."
                )
        return [_slice(tuple(dataset), i) for i in range(_length(tuple(dataset)))], None
    raise TypeError(
        "The `dataset` argument must be a `lamina.utils.Dataset`, a `torch.utils.data.Dataset`, "
        f"a numpy array or a list/tuple of arrays. Received: dataset={dataset!r} of type {type(dataset)}"
    )


def _stack_rows(rows):
    first = rows[0]
    if isinstance(first, (tuple, list)):
        return tuple(np.stack([np.asarray(r[i]) for r in rows]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: np.stack([np.asarray(r[k]) for r in rows]) for k in first}
    return np.stack([np.asarray(r) for r in rows])


def _split_torch(dataset, left_size, right_size, shuffle, seed):
    if not isinstance(dataset, torch.utils.data.Dataset):
        arrays = dataset if isinstance(dataset, (list, tuple)) else [dataset]
        dataset = torch.utils.data.TensorDataset(*[torch.as_tensor(np.asarray(a)) for a in arrays])
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be specified. Received: "
            "left_size=None and right_size=None"
        )
    total = len(dataset)
    left_size, right_size = _rescale_split_sizes(left_size, right_size, total)
    if not shuffle:
        # Keras hands torch's `random_split` no generator here, which shuffles anyway; Lamina
        # keeps the order, as the array path (and the argument's name) says.
        order = list(range(total))
        left, right = order[:left_size], order[total - right_size:]
    else:
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        else:
            generator.seed()
        # The permutation `random_split` draws, so a seeded split matches Keras's.
        order = torch.randperm(total, generator=generator).tolist()
        left, right = order[:left_size], order[left_size:left_size + right_size]
    return torch.utils.data.Subset(dataset, left), torch.utils.data.Subset(dataset, right)


def _rescale_split_sizes(left_size, right_size, total):
    """Integer split sizes from ints / fractions, with Keras's checks and messages."""
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` type. Expected: int or float or None. Received: type({name})={type(size)}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the split sizes must be non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and not 0 < size < total) or (type(size) is float and not 0 < size < 1):
            raise ValueError(
                f"`{name}` should be either a positive integer smaller than {total}, or a float "
                f"within the range `[0, 1]`. Received: {name}={size}"
            )
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be less than or equal to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"The sum of `left_size` and `right_size` should be smaller than the {total}. "
            f"Received: left_size + right_size = {left + right} and total_length = {total}"
        )
    for split, side in ((left, "left"), (right, "right")):
        if split == 0:
            raise ValueError(
                f"With `dataset` of length={total}, `left_size`={left_size} and "
                f"`right_size`={right_size}. Resulting {side} side dataset split will be empty. "
                "Adjust any of the aforementioned parameters"
            )
    return int(left), int(right)


# --- directory datasets --------------------------------------------------------------------------


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    """Keras's checks on ``validation_split`` / ``subset`` / ``seed``."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and validation "
            "subset."
        )


def check_labels_arg(labels, label_mode, class_names, what):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size as "
                f"the number of {what} files in the target directory. If you wish to infer the "
                'labels from the subdirectory names in the target directory, pass `labels="inferred"`. '
                f"If you wish to get a dataset that only contains {what} (no labels), pass "
                f"`labels=None`. Received: labels={labels}"
            )
        if class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. Received: '
                f"labels={labels}, and class_names={class_names}"
            )
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode}"
        )


def _files_under(directory, follow_links, formats):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield root, name


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """List the files of ``directory`` with an accepted extension, with their labels.

    With ``labels="inferred"`` each subdirectory (sorted, hidden ones skipped, or those named in
    ``class_names``, in that order) is a class; otherwise all files are listed and ``labels`` (a
    list, one per file in sorted order) or ``None`` gives the labels.

    Returns:
        ``(file_paths, labels, class_names)``; ``labels`` is an int32 array (or the given list,
        or ``None``), shuffled along with the paths when ``shuffle``.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}.")
    if labels == "inferred":
        subdirs = [
            d for d in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories of the "
                    f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                    f"class_names={class_names}"
                )
            subdirs = list(class_names)
    else:
        if class_names is not None:
            if labels is None:
                raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified.")
            raise ValueError(
                "When argument `labels` is specified, argument `class_names` cannot be specified "
                "(the `class_names` will be the sorted list of labels)."
            )
        subdirs = [""]
    filenames, inferred = [], []
    for class_index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        for root, name in _files_under(folder, follow_links, formats):
            relative = os.path.relpath(os.path.join(root, name), folder)
            filenames.append(os.path.join(os.path.basename(folder), relative))
            inferred.append(class_index)
    if labels == "inferred":
        labels = np.asarray(inferred, dtype="int32")
        class_names = subdirs
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(filenames)} files "
                f"in directory {directory}."
            )
        class_names = [str(label) for label in sorted(set(labels))]
    if verbose:
        if labels is None:
            print(f"Found {len(filenames)} files.")
        else:
            print(f"Found {len(filenames)} files belonging to {len(class_names)} classes.")
    file_paths = [os.path.join(directory, name) for name in filenames]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        # Two generators with the same seed: paths and labels get the same permutation.
        np.random.RandomState(seed).shuffle(file_paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return file_paths, labels, class_names


def get_training_or_validation_split(samples, labels, validation_split, subset):
    """The last ``validation_split`` fraction of the (shuffled) samples is the validation subset."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - num_val} files for training.")
        return samples[:-num_val], None if labels is None else labels[:-num_val]
    if subset == "validation":
        print(f"Using {num_val} files for validation.")
        return samples[-num_val:], None if labels is None else labels[-num_val:]
    raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')


def encode_label(label, label_mode, num_classes):
    """One label as Keras's datasets give it: int32, one-hot float32, or float32 of shape (1,)."""
    if label_mode == "binary":
        return np.asarray([label], dtype="float32")
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[int(label)]
    return np.asarray(label, dtype="int32")


def paths_and_labels_dataset(paths, labels, label_mode, num_classes, load, shuffle, seed):
    """A ``Dataset`` of ``load(path)`` (and the encoded label), shuffled every epoch if asked.

    The file order itself was already shuffled by ``index_directory``; as in Keras, the training
    data is also reshuffled every epoch (Keras: a seeded ``tf.data`` shuffle buffer).
    """
    paths = list(paths)
    indices = Dataset.from_tensor_slices(np.arange(len(paths)))
    if shuffle:
        # Shuffle the indices, before the `map` that reads files: only the chosen files are read.
        indices = indices.shuffle(seed=seed)
    if not label_mode:
        return indices.map(lambda i: load(paths[int(i)]))
    encoded = [encode_label(label, label_mode, num_classes) for label in labels]
    return indices.map(lambda i: (load(paths[int(i)]), encoded[int(i)]))


def finish_dataset(dataset, batch_size, class_names, file_paths=None, pad=False):
    """Batch the dataset (if ``batch_size``) and attach ``class_names`` / ``file_paths``."""
    if batch_size is not None:
        dataset = dataset.padded_batch(batch_size) if pad else dataset.batch(batch_size)
    dataset.class_names = class_names
    if file_paths is not None:
        dataset.file_paths = list(file_paths)
    return dataset


def directory_datasets(directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                       validation_split, subset, follow_links, verbose, formats, what, load, pad=False):
    """The common body of the ``*_dataset_from_directory`` functions."""
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(
        directory, labels, formats=formats, class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose,
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
            f"class_names={class_names}"
        )
    num_classes = len(class_names) if class_names else 0
    subsets = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for part in subsets:
        part_paths, part_labels = get_training_or_validation_split(paths, labels, validation_split, part)
        if not part_paths:
            where = f"{part} " if subset == "both" else ""
            raise ValueError(
                f"No {where}{what} files found in directory {directory}. Allowed formats: {formats}"
            )
        dataset = paths_and_labels_dataset(
            part_paths, part_labels, label_mode, num_classes, load,
            shuffle=shuffle and not (subset == "both" and part == "validation"), seed=seed,
        )
        datasets.append(finish_dataset(dataset, batch_size, class_names, part_paths, pad))
    return datasets if subset == "both" else datasets[0]
