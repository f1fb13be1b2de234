import json
import random

import numpy as np
import pytest

import lamina
from lamina.preprocessing import sequence


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(length=10, sampling_rate=2, batch_size=2),
        dict(length=5, stride=3, start_index=4, end_index=40, batch_size=7),
        dict(length=3, reverse=True, batch_size=16),
        dict(length=4, shuffle=True, batch_size=5),
    ],
)
def test_timeseries_generator_matches_keras(keras2, kwargs):
    data = np.arange(100, dtype="float32").reshape(50, 2)
    targets = np.arange(50) * 10
    expected = keras2.sequence.TimeseriesGenerator(data, targets, **kwargs)
    got = sequence.TimeseriesGenerator(data, targets, **kwargs)
    assert len(got) == len(expected)
    for i in range(len(got)):
        np.random.seed(i)
        x_expected, y_expected = expected[i]
        np.random.seed(i)
        x_got, y_got = got[i]
        np.testing.assert_array_equal(x_got, x_expected)
        np.testing.assert_array_equal(y_got, y_expected)


def test_timeseries_generator_config_as_keras2():
    # Keras 3's port of `get_config` is broken (it calls a missing `super().get_config()`), so
    # this checks tf-keras 2's documented layout instead.
    data, targets = np.array([[1, 2], [3, 4], [5, 6], [7, 8]]), [0, 1, 0, 1]
    gen = sequence.TimeseriesGenerator(data, targets, length=2, batch_size=1, stride=1)
    assert json.loads(gen.to_json()) == {
        "class_name": "TimeseriesGenerator",
        "config": {
            "data": "[[1, 2], [3, 4], [5, 6], [7, 8]]",
            "targets": "[0, 1, 0, 1]",
            "length": 2,
            "sampling_rate": 1,
            "stride": 1,
            "start_index": 2,
            "end_index": 3,
            "shuffle": False,
            "reverse": False,
            "batch_size": 1,
        },
    }


def test_timeseries_generator_docstring_and_fit():
    data = np.arange(50).reshape(50, 1)
    gen = sequence.TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    x, y = gen[0]
    assert x.shape == (2, 5, 1) and y.tolist() == [[10], [11]]
    np.testing.assert_array_equal(x[0, :, 0], [0, 2, 4, 6, 8])

    series = np.random.default_rng(0).random((40, 3)).astype("float32")
    gen = sequence.TimeseriesGenerator(series, series[:, :1], length=4, batch_size=8)
    model = lamina.Sequential(
        [lamina.Input((4, 3)), lamina.layers.Flatten(), lamina.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(gen, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_timeseries_generator_errors():
    with pytest.raises(ValueError, match="same length"):
        sequence.TimeseriesGenerator(np.zeros(5), np.zeros(4), length=2)
    with pytest.raises(ValueError, match="no part of the sequence"):
        sequence.TimeseriesGenerator(np.zeros(5), np.zeros(5), length=5)
    with pytest.raises(ValueError, match="`stride` must be a positive integer"):
        sequence.TimeseriesGenerator(np.zeros(5), np.zeros(5), length=2, stride=0)
    with pytest.raises(TypeError, match="not JSON Serializable"):
        sequence.TimeseriesGenerator([object()] * 4, [0] * 4, length=2).get_config()


@pytest.mark.oracle
def test_make_sampling_table_matches_keras(keras2):
    for size, factor in ((10, 1e-5), (1000, 1e-3), (5, 0.5)):
        np.testing.assert_array_equal(
            sequence.make_sampling_table(size, factor),
            keras2.sequence.make_sampling_table(size, factor),
        )


@pytest.mark.oracle
# Keras seeds its shuffle with `random.randint(0, 10e6)`, a float bound Python warns about.
@pytest.mark.filterwarnings("ignore:non-integer arguments to randrange")
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(window_size=2, negative_samples=0.5, categorical=True),
        dict(shuffle=False, negative_samples=2.0),
        dict(negative_samples=0.0, seed=7),
        dict(sampling_table="table"),
    ],
)
def test_skipgrams_same_random_results_as_keras(keras2, kwargs):
    words = [1, 4, 0, 2, 9, 3, 3, 7, 1, 0, 5, 6]
    if kwargs.get("sampling_table") == "table":
        kwargs = dict(kwargs, sampling_table=sequence.make_sampling_table(10, 0.05))
    random.seed(123)
    expected = keras2.sequence.skipgrams(words, 10, **kwargs)
    random.seed(123)
    got = sequence.skipgrams(words, 10, **kwargs)
    assert got == expected


def test_skipgrams_pairs():
    couples, labels = sequence.skipgrams([1, 2, 0, 3], 4, window_size=1, negative_samples=0.0,
                                         shuffle=False)
    assert couples == [[1, 2], [2, 1]] and labels == [1, 1]
    couples, labels = sequence.skipgrams([1, 2], 4, categorical=True, shuffle=False)
    assert labels == [[0, 1], [0, 1], [1, 0], [1, 0]]
    assert all(1 <= c[1] < 4 for c in couples[2:])


def test_keras2_docstring_example():
    data = np.array([[i] for i in range(50)])
    targets = np.array([[i] for i in range(50)])
    data_gen = sequence.TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2)
    assert len(data_gen) == 20
    x, y = data_gen[0]
    assert np.array_equal(x, np.array([[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]]))
    assert np.array_equal(y, np.array([[10], [11]]))
