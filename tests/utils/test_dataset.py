"""``lamina.utils.Dataset``: the pipeline stages, epoch reshuffling, and use in ``fit``."""

import numpy as np
import pytest
import torch

import lamina
from lamina.utils import Dataset


def _rows(ds):
    return [np.asarray(e).tolist() for e in ds]


def test_from_tensor_slices_and_batch():
    x, y = np.arange(10).reshape(5, 2), np.arange(5)
    ds = Dataset.from_tensor_slices((x, y))
    assert len(ds) == 5
    xe, ye = ds[1]
    assert xe.tolist() == [2, 3] and int(ye) == 1
    batches = list(ds.batch(2))
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    assert batches[2][1].tolist() == [4]
    assert len(ds.batch(2, drop_remainder=True)) == 2
    # Batches are CPU torch tensors (numpy with `as_numpy_iterator`).
    assert isinstance(ds.batch(2)[0][0], torch.Tensor) and ds.batch(2)[0][0].device.type == "cpu"
    x_batch, y_batch = next(ds.batch(2).as_numpy_iterator())
    assert isinstance(x_batch, np.ndarray) and x_batch.dtype == x.dtype
    assert ds.batch(2)[0][0].numpy().tolist() == [[0, 1], [2, 3]]


def test_dict_and_torch_elements():
    ds = Dataset.from_tensor_slices({"a": np.zeros((4, 3)), "b": torch.arange(4)}).batch(3)
    first = ds[0]
    assert first["a"].shape == (3, 3) and first["b"].tolist() == [0, 1, 2]


def test_shuffle_seeded_reshuffles_every_epoch_reproducibly():
    def epochs(seed):
        ds = Dataset.from_tensor_slices(np.arange(20)).shuffle(seed=seed)
        return [_rows(ds) for _ in range(3)]

    a, b = epochs(7), epochs(7)
    assert a == b  # same seed, same sequence of orders
    assert a[0] != a[1]  # a new order each epoch
    assert all(sorted(e) == list(range(20)) for e in a)
    assert epochs(8) != a


def test_shuffle_without_reshuffle_and_indexing_before_iterating():
    ds = Dataset.from_tensor_slices(np.arange(20)).shuffle(seed=1, reshuffle_each_iteration=False)
    assert _rows(ds) == _rows(ds)
    ds = Dataset.from_tensor_slices(np.arange(20)).shuffle(seed=1)
    peeked = [int(ds[i]) for i in range(20)]
    assert _rows(ds) == peeked  # the first epoch is the order indexing saw


def test_map_take_skip_cache_prefetch():
    calls = []

    def double(x, y):
        calls.append(int(y))
        return x * 2, y

    ds = Dataset.from_tensor_slices((np.arange(6), np.arange(6))).map(double)
    assert [int(x) for x, _ in ds.take(3)] == [0, 2, 4]
    assert [int(x) for x, _ in ds.skip(4)] == [8, 10]
    assert len(ds.take(-1)) == 6 and len(ds.skip(10)) == 0
    cached = ds.cache().prefetch(2)
    calls.clear()
    list(cached)
    list(cached)
    assert calls == list(range(6))  # computed once
    single = Dataset.from_tensor_slices(np.arange(3)).map(lambda x: x + 1)
    assert _rows(single) == [1, 2, 3]


def test_cache_after_shuffle_replays_first_order():
    ds = Dataset.from_tensor_slices(np.arange(10)).shuffle(seed=3).cache()
    assert _rows(ds) == _rows(ds)


def test_padded_batch_and_unbatch():
    seqs = [np.ones((n, 2)) for n in (1, 3, 2)]
    ds = Dataset.from_tensor_slices(np.arange(3)).map(lambda i: seqs[int(i)]).padded_batch(3)
    batch = ds[0]
    assert batch.shape == (3, 3, 2) and batch[0, 1:].sum() == 0 and batch[1].sum() == 6
    plain = Dataset.from_tensor_slices(np.arange(7)).batch(3)
    assert _rows(plain.unbatch()) == list(range(7))
    assert _rows(plain.map(lambda b: b * 10).unbatch()) == [v * 10 for v in range(7)]
    assert _rows(Dataset.from_tensor_slices(np.arange(7)).batch(3, drop_remainder=True).unbatch()) == list(range(6))


def test_errors():
    ds = Dataset.from_tensor_slices(np.arange(3))
    with pytest.raises(IndexError, match="out of range"):
        ds[3]
    with pytest.raises(TypeError, match="integers"):
        ds["a"]
    with pytest.raises(ValueError, match="batch_size"):
        ds.batch(0)
    with pytest.raises(TypeError, match="callable"):
        ds.map(3)
    with pytest.raises(ValueError, match="same number of samples"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    assert ds[-1] == 2 and ds.cardinality() == 3


def test_fit_evaluate_predict_take_a_dataset():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    ds = Dataset.from_tensor_slices((x, y)).shuffle(seed=0).batch(16)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(model.evaluate(ds, verbose=0))
    predictions = model.predict(Dataset.from_tensor_slices(x).batch(10), verbose=0)
    assert predictions.shape == (64, 1)
    np.testing.assert_allclose(predictions, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_fit_leaves_batch_order_to_the_dataset():
    from lamina.trainers.data_adapters import get_data_adapter

    ds = Dataset.from_tensor_slices((np.arange(40.0)[:, None], np.arange(40.0)[:, None])).batch(4)
    adapter = get_data_adapter(ds, shuffle=True)
    assert [float(b[0][0, 0]) for b in adapter] == [4.0 * i for i in range(10)]


def test_fit_with_workers_and_reshuffling_dataset():
    x = np.arange(32, dtype="float32")[:, None]
    ds = Dataset.from_tensor_slices((x, x)).shuffle(seed=2).batch(8)
    ds.workers = 2
    model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(ds, epochs=2, verbose=0)


def test_repeat_concatenate_and_tf_keyword_arguments():
    ds = Dataset.from_tensor_slices(np.arange(4))
    assert _rows(ds.repeat(2)) == [0, 1, 2, 3, 0, 1, 2, 3]
    assert _rows(ds.concatenate(Dataset.from_tensor_slices(np.arange(10, 12)))) == [0, 1, 2, 3, 10, 11]
    forever = ds.shuffle(4, seed=0).repeat()
    assert forever.num_batches is None
    with pytest.raises(TypeError, match="no length"):
        len(forever)
    first_ten = _rows(forever.take(12))
    passes = [first_ten[0:4], first_ten[4:8], first_ten[8:12]]
    assert all(sorted(p) == [0, 1, 2, 3] for p in passes) and len({tuple(p) for p in passes}) > 1
    assert [b.tolist() for b in forever.batch(3).take(2)] and len(forever.batch(3).take(5)) == 5
    with pytest.raises(ValueError, match="before `repeat"):
        forever.shuffle(10)
    mapped = ds.map(lambda x: x * 2, num_parallel_calls=-1, deterministic=True).batch(
        2, drop_remainder=True, num_parallel_calls=2).prefetch(-1, name="p")
    assert [b.tolist() for b in mapped] == [[0, 2], [4, 6]]
    with pytest.raises(ValueError, match="in memory"):
        ds.cache("/tmp/file")
    with pytest.raises(ValueError, match="padded_shapes"):
        ds.padded_batch(2, padded_shapes=[3])


def test_fit_on_repeated_dataset_with_steps_per_epoch():
    x = np.arange(16, dtype="float32")[:, None]
    ds = Dataset.from_tensor_slices((x, x)).batch(4).repeat()
    model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=2, steps_per_epoch=6, verbose=0)
    assert len(history.history["loss"]) == 2
