"""``split_dataset`` and directory indexing, compared with Keras's pure-Python parts where they
run without TensorFlow (the split sizes, the torch split, ``index_directory``)."""

import os
import random

import numpy as np
import pytest
import torch

from lamina.utils import Dataset, dataset_utils, split_dataset


def _flat(ds):
    return [tuple(np.asarray(v).tolist() for v in e) if isinstance(e, tuple) else np.asarray(e).tolist() for e in ds]


def test_split_array_sizes():
    data = np.arange(100).reshape(50, 2)
    left, right = split_dataset(data, left_size=0.8)
    assert (len(left), len(right)) == (40, 10)
    assert np.asarray(left[0]).tolist() == [0, 1] and np.asarray(right[-1]).tolist() == [98, 99]
    left, right = split_dataset(data, right_size=7)
    assert (len(left), len(right)) == (43, 7)
    left, right = split_dataset(data, left_size=10, right_size=5)
    assert (len(left), len(right)) == (10, 5)
    assert np.asarray(right[0]).tolist() == [90, 91]  # the right split is taken from the end


def test_split_tuple_shuffled_like_keras():
    x, y = np.arange(30).reshape(10, 3), np.arange(10)
    left, right = split_dataset((x, y), left_size=0.6, shuffle=True, seed=5)
    # Keras: random.seed(seed); random.shuffle(list of samples).
    order = list(range(10))
    random.Random(5).shuffle(order)
    assert [int(e[1]) for e in left] == order[:6] and [int(e[1]) for e in right] == order[-4:]
    assert all(np.asarray(e[0]).tolist() == x[int(e[1])].tolist() for e in left)
    assert isinstance(left[0], tuple)


def test_split_batched_dataset_rebatches():
    ds = Dataset.from_tensor_slices((np.arange(20), np.arange(20) * 2)).batch(4)
    left, right = split_dataset(ds, left_size=0.75)
    assert [len(b[0]) for b in left] == [4, 4, 4, 3] and [len(b[0]) for b in right] == [4, 1]
    assert np.concatenate([b[1] for b in right]).tolist() == [30, 32, 34, 36, 38]


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [11, 0])
def test_torch_dataset_shuffled_split_same_as_keras(oracle, seed):
    from keras.src.utils.dataset_utils import split_dataset as keras_split

    dataset = torch.utils.data.TensorDataset(torch.arange(25).float(), torch.arange(25))
    ours = split_dataset(dataset, left_size=0.6, shuffle=True, seed=seed)
    theirs = keras_split(dataset, left_size=0.6, shuffle=True, seed=seed)
    assert [list(s.indices) for s in ours] == [list(s.indices) for s in theirs]


def test_torch_split_without_shuffle_keeps_order():
    # Deliberate deviation: Keras's torch path shuffles even with shuffle=False.
    dataset = torch.utils.data.TensorDataset(torch.arange(10))
    left, right = split_dataset(dataset, left_size=4, right_size=3)
    assert list(left.indices) == [0, 1, 2, 3] and list(right.indices) == [7, 8, 9]
    left, right = split_dataset(np.arange(10), left_size=0.5, preferred_backend="torch", shuffle=True, seed=1)
    assert sorted(list(left.indices) + list(right.indices)) == list(range(10))
    assert isinstance(left[0], tuple) and isinstance(left[0][0], torch.Tensor)


@pytest.mark.oracle
def test_split_sizes_same_as_keras(oracle):
    from keras.src.utils.dataset_utils import _rescale_dataset_split_sizes as keras_sizes

    cases = [(0.8, None), (None, 0.3), (3, None), (None, 4), (0.5, 0.5), (2, 0.25), (0.33, 5), (0, 0), (0.7, 0.6),
             (12, None), (1.0, None), (None, -1), ("3", None), (6, 6), (0.04, None)]
    for left, right in cases:
        try:
            expected = keras_sizes(left, right, 10)
        except (ValueError, TypeError) as e:
            with pytest.raises(type(e)):
                dataset_utils._rescale_split_sizes(left, right, 10)
        else:
            assert dataset_utils._rescale_split_sizes(left, right, 10) == expected


def test_split_errors():
    with pytest.raises(ValueError, match="At least one"):
        split_dataset(np.zeros(5))
    with pytest.raises(TypeError, match="must be a"):
        split_dataset("abc", left_size=0.5)
    with pytest.raises(ValueError, match="different lengths"):
        split_dataset([np.zeros(5), np.zeros(4)], left_size=0.5)
    with pytest.raises(ValueError, match="numpy.ndarray"):
        split_dataset((np.zeros(5), [1, 2, 3, 4, 5]), left_size=0.5)


def _tree(root, layout):
    for path in layout:
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(path)


_LAYOUT = ["b/x1.txt", "b/x2.TXT", "a/deep/y1.txt", "a/y0.txt", "a/skip.md", ".hidden/z.txt", "c/w.txt", "top.txt"]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "labels, class_names, shuffle, seed",
    [("inferred", None, False, None), ("inferred", None, True, 42), ("inferred", ["c", "a"], True, 3),
     (None, None, True, 9), ([0, 1, 1, 0, 2, 2, 1], None, True, 1)],
)
def test_index_directory_same_as_keras(oracle, tmp_path, labels, class_names, shuffle, seed):
    from keras.src.utils.dataset_utils import index_directory as keras_index

    _tree(tmp_path, _LAYOUT)
    kwargs = dict(formats=(".txt",), class_names=class_names, shuffle=shuffle, seed=seed, verbose=False)
    ours = dataset_utils.index_directory(str(tmp_path), labels if labels is None or isinstance(labels, str) else list(labels), **kwargs)
    theirs = keras_index(str(tmp_path), labels if labels is None or isinstance(labels, str) else list(labels), **kwargs)
    assert ours[0] == theirs[0]
    assert ours[2] == theirs[2]
    if theirs[1] is None:
        assert ours[1] is None
    else:
        assert np.asarray(ours[1]).tolist() == np.asarray(theirs[1]).tolist()
        assert np.asarray(ours[1]).dtype == np.asarray(theirs[1]).dtype


@pytest.mark.oracle
@pytest.mark.parametrize("subset", ["training", "validation"])
def test_training_validation_split_same_as_keras(oracle, subset, capsys):
    from keras.src.utils.dataset_utils import get_training_or_validation_split as keras_split

    samples, labels = [f"f{i}" for i in range(17)], np.arange(17)
    ours = dataset_utils.get_training_or_validation_split(samples, labels, 0.3, subset)
    theirs = keras_split(samples, labels, 0.3, subset)
    assert ours[0] == theirs[0] and ours[1].tolist() == theirs[1].tolist()


def test_index_directory_errors(tmp_path):
    _tree(tmp_path, _LAYOUT)
    with pytest.raises(ValueError, match="did not match"):
        dataset_utils.index_directory(str(tmp_path), "inferred", (".txt",), class_names=["zzz"])
    with pytest.raises(ValueError, match="cannot be specified"):
        dataset_utils.index_directory(str(tmp_path), None, (".txt",), class_names=["a"])
    with pytest.raises(ValueError, match="lengths of `labels`"):
        dataset_utils.index_directory(str(tmp_path), [0, 1], (".txt",), verbose=False)
    with pytest.raises(ValueError, match="Could not find directory"):
        dataset_utils.index_directory(str(tmp_path / "nope"), "inferred", (".txt",))
    assert os.path.isdir(tmp_path)
