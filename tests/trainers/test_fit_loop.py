"""The loop around the steps: callback order, epochs, validation frequency, stopping, steps."""

import numpy as np
import pytest

import lamina

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 4)).astype("float32")
Y = rng.normal(size=(20, 1)).astype("float32")

HOOKS = [
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
    "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin",
    "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
    "on_predict_batch_end",
]


def _recorder(lib):
    class Recorder(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

    def make_hook(name):
        def hook(self, *args, **kwargs):
            # Logs come positionally or by keyword; record their keys (values are compared by
            # the other tests), and the batch / epoch numbers.
            logs = kwargs.get("logs")
            numbers = tuple(a for a in args if isinstance(a, int))
            logs = next((a for a in args if isinstance(a, dict)), logs)
            self.calls.append((name,) + numbers + (tuple(sorted(logs)) if logs else ()))

        return hook

    for name in HOOKS:
        setattr(Recorder, name, make_hook(name))
    return Recorder()


def _model(lib):
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


@pytest.mark.oracle
def test_callback_order_matches_keras(oracle):
    calls = []
    for lib in (oracle, lamina):
        model, recorder = _model(lib), _recorder(lib)
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X[:10], Y[:10]),
                  validation_batch_size=5, callbacks=[recorder])
        model.evaluate(X, Y, batch_size=10, verbose=0, callbacks=[recorder])
        model.predict(X, batch_size=10, verbose=0, callbacks=[recorder])
        calls.append(recorder.calls)
    expected, actual = calls
    # Batch logs are device tensors in Lamina (read only when needed): compare the keys only.
    assert actual == expected


def test_initial_epoch_validation_freq_and_history():
    model = _model(lamina)
    history = model.fit(X, Y, epochs=5, initial_epoch=1, verbose=0, validation_data=(X, Y),
                        validation_freq=2)
    assert history.epoch == [1, 2, 3, 4]
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    assert history.params["epochs"] == 5 and history.params["steps"] == 1
    assert model.history is history
    history = model.fit(X, Y, epochs=3, verbose=0, validation_data=(X, Y), validation_freq=[1, 3])
    assert len(history.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y), validation_freq="often")


def test_stop_training_from_a_callback():
    class StopAfterTwoBatches(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = _model(lamina)
    history = model.fit(X, Y, batch_size=4, epochs=5, verbose=0, callbacks=[StopAfterTwoBatches()])
    assert history.epoch == [0]
    assert int(model.optimizer.iterations) == 2


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_evaluate_steps_and_predict_from_generator():
    model = _model(lamina)
    part = model.evaluate(X, Y, batch_size=5, steps=2, verbose=0, return_dict=True)
    assert part == model.evaluate(X[:10], Y[:10], batch_size=5, verbose=0, return_dict=True)
    batches = (X[i:i + 6] for i in range(0, 20, 6))
    np.testing.assert_allclose(model.predict(batches, verbose=0), model.predict(X, verbose=0), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="no batches"):
        model.predict(iter([]), verbose=0)


def test_validation_data_from_a_pydataset_and_a_loader():
    import torch

    class Val(lamina.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return X[10 * i:10 * i + 10], Y[10 * i:10 * i + 10]

    model = _model(lamina)
    history = model.fit(X, Y, epochs=2, verbose=0, validation_data=Val())
    expected = model.evaluate(X, Y, batch_size=10, verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-6)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
                                         batch_size=10)
    history = model.fit(X, Y, epochs=1, verbose=0, validation_data=loader)
    expected = model.evaluate(X, Y, batch_size=10, verbose=0, return_dict=True)
    assert history.history["val_mae"][-1] == pytest.approx(expected["mae"], rel=1e-6)


def test_fit_trains_a_subclassed_model_built_by_its_first_batch():
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(1, kernel_regularizer="l2")
            self.seen = lamina.metrics.Mean(name="seen")

        def call(self, x):
            return self.dense(x)

    model = Net()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X, Y, batch_size=5, epochs=2, verbose=0)
    assert model.dense.kernel is not None and len(history.history["loss"]) == 2
    assert history.history["loss"][1] < history.history["loss"][0]
    # A metric held as a public attribute is one of the model's metrics, as in Keras.
    assert [m.name for m in model.metrics] == ["loss", "seen"]


def test_predict_returns_dict_outputs_with_sorted_keys():
    inputs = lamina.Input((X.shape[1],))
    model = lamina.Model(inputs, {"zeta": lamina.layers.Dense(1)(inputs), "alpha": lamina.layers.Dense(2)(inputs)})
    out = model.predict(X, verbose=0)
    assert list(out) == ["alpha", "zeta"] and out["alpha"].shape == (len(X), 2)
