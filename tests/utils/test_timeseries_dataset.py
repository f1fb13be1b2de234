"""``timeseries_dataset_from_array``: windows as Keras documents them (Keras needs TensorFlow or
grain for this function, neither of which the oracle environment has)."""

import numpy as np
import pytest
import torch

from lamina.utils import timeseries_dataset_from_array


def _all(ds):
    batches = list(ds.as_numpy_iterator())
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*batches))
    return np.concatenate(batches)


def _reference(data, targets, length, stride, rate, start, end):
    start, end = start or 0, end or len(data)
    n = end - start - (length - 1) * rate
    if targets is not None:
        n = min(n, len(targets))
    positions = range(0, n, stride)
    windows = np.stack([data[start + p + np.arange(length) * rate] for p in positions])
    return windows, None if targets is None else np.asarray([targets[start + p] for p in positions])


def test_keras_documented_examples():
    # Keras docs, example 1: windows of 10 taken every 2 steps, starting every 3 steps.
    ds = timeseries_dataset_from_array(np.arange(100), None, sequence_length=10, sampling_rate=2,
                                       sequence_stride=3, batch_size=None)
    windows = list(ds)
    assert windows[0].tolist() == list(range(0, 20, 2)) and windows[1].tolist() == list(range(3, 23, 2))
    # Example 2: targets are the step after each window.
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    x, y = next(iter(ds))
    assert x.shape == (81, 10) and x[0].tolist() == list(range(10)) and int(y[0]) == 10
    np.testing.assert_array_equal(y, x[:, -1] + 1)


@pytest.mark.parametrize(
    "length, stride, rate, start, end, batch",
    [(5, 1, 1, None, None, 7), (4, 3, 2, 5, 40, 4), (3, 2, 1, None, 30, None), (6, 5, 3, 2, None, 128)],
)
def test_windows_match_reference(length, stride, rate, start, end, batch):
    data = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
    targets = np.arange(50) * 10
    ds = timeseries_dataset_from_array(data, targets, length, sequence_stride=stride, sampling_rate=rate,
                                       batch_size=batch, start_index=start, end_index=end)
    x, y = _all(ds) if batch else tuple(np.stack(p) for p in zip(*ds.as_numpy_iterator()))
    ref_x, ref_y = _reference(data, targets, length, stride, rate, start, end)
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert x.dtype == np.float32 and next(iter(ds))[0].dtype == torch.float32
    if batch:
        assert [len(b[0]) for b in ds][:-1] == [batch] * (len(ds) - 1)


def test_shuffle_keeps_pairs_and_set_and_is_seeded():
    data = np.arange(200).reshape(100, 2)
    targets = np.arange(100)

    def run(seed):
        return _all(timeseries_dataset_from_array(data, targets, 4, batch_size=16, shuffle=True, seed=seed))

    x, y = run(3)
    np.testing.assert_array_equal(x[:, 0, 0] // 2, y)  # each window still has its target
    assert sorted(y.tolist()) == list(range(97))
    assert y.tolist() != sorted(y.tolist())
    np.testing.assert_array_equal(run(3)[1], y)


def test_windows_only_and_short_targets():
    ds = timeseries_dataset_from_array(np.arange(20), np.arange(5), sequence_length=3, batch_size=100)
    x, y = next(iter(ds))
    assert len(x) == 5 and y.tolist() == [0, 1, 2, 3, 4]  # no more windows than targets


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(start_index=-1), "start_index"),
        (dict(start_index=20), "start_index"),
        (dict(start_index=5, end_index=3), "end_index"),
        (dict(end_index=20), "end_index"),
        (dict(sampling_rate=0), "sampling_rate"),
        (dict(sequence_stride=25), "sequence_stride"),
        (dict(format="jax"), "format"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        timeseries_dataset_from_array(np.arange(20), None, 3, **kwargs)


def test_keras_forecasting_example_pattern():
    """The Keras weather-forecasting example's use: inspect one batch, then fit an LSTM on it."""
    import lamina

    series = np.sin(np.arange(300, dtype="float32") / 10)[:, None]
    train = timeseries_dataset_from_array(series[:-5], series[5:, 0], sequence_length=12, sampling_rate=2,
                                          batch_size=32, shuffle=True, seed=0)
    for batch in train.take(1):
        inputs, targets = batch
    assert inputs.numpy().shape == (32, 12, 1) and targets.numpy().shape == (32,)
    inp = lamina.Input((12, 1))
    model = lamina.Model(inp, lamina.layers.Dense(1)(lamina.layers.LSTM(4)(inp)))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
