"""Every kind of data ``fit`` / ``evaluate`` / ``predict`` accept gives the same training, and bad
data is refused with a ``ValueError`` before the first weight update."""

import math
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
import torch

import lamina

N, FEATURES = 12, 4
rng = np.random.default_rng(0)
X = rng.normal(size=(N, FEATURES)).astype("float32")
Y = rng.normal(size=(N, 2)).astype("float32")
BATCH = 4


def _model(seed_weights=None):
    model = lamina.Sequential([
        lamina.Input((FEATURES,), name="x"),
        lamina.layers.Dense(3, activation="tanh"),
        lamina.layers.Dense(2),
    ])
    model.set_weights(seed_weights if seed_weights is not None else _initial_weights())
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def _initial_weights():
    r = np.random.default_rng(42)
    return [r.normal(size=s).astype("float32") * 0.5 for s in [(FEATURES, 3), (3,), (3, 2), (2,)]]


def _reference():
    model = _model()
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0).history
    return model.get_weights(), history


class _Batches(lamina.utils.PyDataset):
    def __init__(self, x, y, batch_size=BATCH, delays=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size, self.delays = x, y, batch_size, delays
        self.epochs_ended = 0
        self.threads = set()

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        if self.delays is not None:
            time.sleep(self.delays[index % len(self.delays)])
        self.threads.add(threading.get_ident())
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


class _SampleDataset(torch.utils.data.Dataset):
    def __len__(self):
        return N

    def __getitem__(self, i):
        return torch.from_numpy(X[i]), torch.from_numpy(Y[i])


def _generator():
    for epoch in range(2):
        for start in range(0, N, BATCH):
            yield X[start:start + BATCH], Y[start:start + BATCH]


@pytest.mark.parametrize(
    "make_data",
    [
        pytest.param(lambda: ((torch.from_numpy(X), torch.from_numpy(Y)), {"batch_size": BATCH}), id="torch"),
        pytest.param(lambda: ((X.astype("float64"), Y.tolist()), {"batch_size": BATCH}), id="float64-and-list"),
        pytest.param(lambda: ((torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), batch_size=BATCH),), {}),
            id="dataloader"),
        pytest.param(lambda: ((_SampleDataset(),), {"batch_size": BATCH, "shuffle": False}), id="dataset"),
        pytest.param(lambda: ((_generator(),), {"steps_per_epoch": N // BATCH}), id="generator"),
        pytest.param(lambda: ((_Batches(X, Y),), {}), id="pydataset"),
        pytest.param(lambda: ((_Batches(X, Y, workers=3, max_queue_size=2, delays=[0.02, 0, 0.01]),), {}),
                     id="pydataset-threads"),
    ],
)
def test_every_input_kind_trains_like_numpy(make_data):
    expected_weights, expected_history = _reference()
    args, kwargs = make_data()
    model = _model()
    history = model.fit(*args, epochs=2, verbose=0, **{"shuffle": False, **kwargs}).history
    assert list(history) == list(expected_history)
    for key in history:
        np.testing.assert_allclose(history[key], expected_history[key], rtol=1e-6, atol=1e-7)
    for a, e in zip(model.get_weights(), expected_weights):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)


_PROCESS_SCRIPT = """
import math, numpy as np, lamina
rng = np.random.default_rng(0)
x = rng.normal(size=(12, 4)).astype("float32")
y = rng.normal(size=(12, 2)).astype("float32")

class Batches(lamina.utils.PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parent = __import__("os").getpid()
    def __len__(self):
        return 3
    def __getitem__(self, i):
        assert __import__("os").getpid() != self.parent  # read in a worker process
        return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

def run(data, **kwargs):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
    model.set_weights([np.full((4, 2), 0.1, "float32"), np.zeros(2, "float32")])
    model.compile(optimizer="sgd", loss="mse")
    return model.fit(data, epochs=2, verbose=0, shuffle=False, **kwargs).history, model.get_weights()

(h1, w1), (h2, w2) = run(Batches(workers=2, use_multiprocessing=True)), run(x, y=y, batch_size=4)
assert h1 == h2 and all(np.array_equal(a, b) for a, b in zip(w1, w2)), (h1, h2)
print("OK")
"""


def test_pydataset_worker_processes():
    # In a fresh interpreter: this test process runs JAX threads (the oracle), and forking a
    # multithreaded process is what `use_multiprocessing=True` must not be tested under.
    result = subprocess.run([sys.executable, "-c", _PROCESS_SCRIPT], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "OK", result.stderr[-2000:]


def test_pydataset_workers_keep_order_and_epoch_hooks():
    data = _Batches(X, Y, workers=3, max_queue_size=3, delays=[0.03, 0.0, 0.01])
    model = _model()
    predictions = model.predict(data, verbose=0)
    np.testing.assert_allclose(predictions, model.predict(X, verbose=0), rtol=1e-6)
    assert len(data.threads - {threading.get_ident()}) >= 2  # batches were read in worker threads
    model.fit(data, epochs=3, verbose=0)
    assert data.epochs_ended == 1 + 3
    evaluated = model.evaluate(data, verbose=0, return_dict=True)
    expected = model.evaluate(X, Y, batch_size=BATCH, verbose=0, return_dict=True)
    assert list(evaluated) == list(expected)
    np.testing.assert_allclose(list(evaluated.values()), list(expected.values()), rtol=1e-6)


def test_pydataset_api_and_sequence_alias():
    assert lamina.utils.Sequence is lamina.utils.PyDataset
    data = _Batches(X, Y, workers=4, use_multiprocessing=True, max_queue_size=7)
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (4, True, 7)
    assert data.num_batches == 3
    assert [b[0].shape[0] for b in data] == [4, 4, 4]

    class NoSuper(lamina.utils.PyDataset):
        def __init__(self):
            self.size = 1

        def __len__(self):
            return 1

        def __getitem__(self, i):
            return X, Y

    with pytest.warns(UserWarning, match="super"):
        assert NoSuper().workers == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _model().fit(NoSuper(), verbose=0)


def test_infinite_pydataset_and_generator_need_steps():
    class Endless(lamina.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.reads = 0

        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            self.reads += 1
            start = (index * BATCH) % N
            return X[start:start + BATCH], Y[start:start + BATCH]

    data = Endless()
    history = _model().fit(data, steps_per_epoch=2, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and data.reads == 6

    def endless_generator():
        while True:
            yield X[:BATCH], Y[:BATCH]

    model = _model()
    model.fit(endless_generator(), steps_per_epoch=2, epochs=2, verbose=0)
    assert int(model.optimizer.iterations) == 4
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(iter([(X, Y)]), steps_per_epoch=3, epochs=1, verbose=0)


def test_multi_input_multi_output_structures_numpy_and_torch():
    a = lamina.Input((3,), name="a")
    b = lamina.Input((2,), name="b")
    merged = lamina.layers.Concatenate()([a, b])
    out1 = lamina.layers.Dense(1, name="out1")(merged)
    out2 = lamina.layers.Dense(2, name="out2")(merged)
    model = lamina.Model([a, b], [out1, out2])
    weights = _copy_weights(model)
    xa, xb = X[:, :3], X[:, 3:4].repeat(2, axis=1)
    y1, y2 = Y[:, :1], Y
    model.compile(optimizer="sgd", loss="mse")
    by_list = model.fit([xa, xb], [y1, y2], batch_size=BATCH, shuffle=False, verbose=0).history
    model.set_weights(weights)
    model.compile(optimizer="sgd", loss="mse")
    tensors = {k: torch.from_numpy(v) for k, v in {"a": xa, "b": xb}.items()}
    by_dict = model.fit(tensors, {"out1": torch.from_numpy(y1), "out2": y2}, batch_size=BATCH,
                        shuffle=False, verbose=0).history
    assert by_list == by_dict
    predicted = model.predict({"a": xa, "b": xb}, verbose=0)
    assert [p.shape for p in predicted] == [(N, 1), (N, 2)]


def _copy_weights(model):
    # A snapshot to compare with after the failed fit.
    return [w.copy() for w in model.get_weights()]


def _unchanged(model, weights):
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))


class _Recorder(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.started = False

    def on_train_begin(self, logs=None):
        self.started = True


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((X, Y[:-1]), {}, "cardinality"),
        ((X, Y), {"sample_weight": np.ones(N - 2)}, "cardinality"),
        ((X[:, :3], Y), {}, r"Input 'x' .*expected shape=\(None, 4\).*shape=\(12, 3\)"),
        ((X[:, None, :], Y), {}, "expected shape"),
        (({"y": X}, Y), {}, r"Missing data for input\(s\) \['x'\]"),
        (([X, X], Y), {}, r"expects 1 input\(s\)"),
        ((X, [Y, Y]), {}, r"has 1 output\(s\)"),
        ((X, {"nope": Y}), {}, "nope"),
        ((X, Y), {"sample_weight": np.ones(N), "class_weight": {0: 1.0}}, "class_weight"),
        ((_generator(),), {"class_weight": {0: 2.0}}, "class_weight"),
        ((_generator(), Y), {}, "`y` should not be passed"),
        ((_Batches(X[:, :3], Y),), {}, "expected shape"),
        ((torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(8, 5), torch.zeros(8, 2)),
                                      batch_size=4),), {}, "expected shape"),
        ((iter([(X, Y[:3])]),), {}, "cardinality"),
        ((_generator(),), {"validation_split": 0.2}, "validation_split"),
        ((X[:1], Y[:1]), {"validation_split": 0.2}, "not sufficient"),
        (("not data",), {}, "Unrecognized data type"),
    ],
)
def test_bad_data_is_refused_before_training(args, kwargs, message):
    model = _model()
    weights = _copy_weights(model)
    recorder = _Recorder()
    with pytest.raises(ValueError, match=message):
        model.fit(*args, epochs=1, verbose=0, callbacks=[recorder], **kwargs)
    assert not recorder.started
    assert _unchanged(model, weights)


def test_evaluate_and_predict_check_shapes_too():
    model = _model()
    with pytest.raises(ValueError, match="expected shape"):
        model.evaluate(X[:, :2], Y, verbose=0)
    with pytest.raises(ValueError, match="expected shape"):
        model.predict(X[:, :2], verbose=0)
    with pytest.raises(ValueError, match="expected shape"):
        model.train_on_batch(X[:, :2], Y)
    with pytest.raises(ValueError, match="expected shape"):
        model.predict_on_batch(X[:, :2])


def test_extra_input_keys_warn_like_keras():
    inputs = lamina.Input((FEATURES,), name="x")
    model = lamina.Model(inputs, lamina.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="did not match any model input"):
        model.fit({"x": X, "extra": X}, Y, verbose=0)


def test_shuffle_draws_a_new_order_each_epoch():
    seen = []

    class Spy(lamina.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pass

    model = _model()
    original_step = model.train_step

    def spying_step(data):
        seen.append(data[0][:, 0].clone())
        return original_step(data)

    model.train_step = spying_step
    model.fit(X, Y, batch_size=N, epochs=2, verbose=0, shuffle=True, callbacks=[Spy()])
    first, second = seen
    assert sorted(first.tolist()) == sorted(X[:, 0].tolist())
    assert not torch.equal(first, second)
    seen.clear()
    model.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0, shuffle="batch")
    assert sorted(torch.cat(seen).tolist()) == sorted(X[:, 0].tolist())


def test_keras2_generator_methods_delegate_to_the_loops():
    class Batches(lamina.utils.Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            rng = np.random.default_rng(i)
            return rng.random((4, 3)).astype("float32"), rng.random((4, 1)).astype("float32")

    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(DeprecationWarning, match="`Model.fit_generator` is deprecated"):
        history = model.fit_generator(Batches(), steps_per_epoch=3, epochs=2, verbose=0, workers=2,
                                      use_multiprocessing=False, max_queue_size=4)
    assert len(history.history["loss"]) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loss = model.evaluate_generator(Batches(), steps=3)
        predictions = model.predict_generator(Batches(), steps=3)
    np.testing.assert_allclose(loss, model.evaluate(Batches(), verbose=0), rtol=1e-6)
    assert predictions.shape == (12, 1)


def test_keras2_queue_arguments_are_accepted_by_the_loops():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    queue = dict(max_queue_size=4, workers=2, use_multiprocessing=False)
    model.fit(x, y, epochs=1, verbose=0, **queue)
    model.evaluate(x, y, verbose=0, **queue)
    assert model.predict(x, verbose=0, **queue).shape == (8, 1)
    with pytest.raises(TypeError):
        model.fit(x, y, no_such_argument=1)
