import warnings

import numpy as np
import pytest
from callback_fakes import FakeModel, initial_weights, regression_data, replay, tiny_model

import lamina
from lamina.callbacks import EarlyStopping

NAN = float("nan")
SEQUENCES = {
    "plateau": [1.0, 0.8, 0.7, 0.7, 0.71, 0.69, 0.695, 0.7, 0.72, 0.73],
    "noisy": [0.5, 0.6, 0.4, 0.45, 0.41, 0.39, 0.5, 0.38, 0.6, 0.6],
    # steps of exactly min_delta=0.01 (in decimal): the float32 comparison decides
    "edges": [1.0, 0.99, 0.98, 0.975, 0.965, 0.955, 0.9549, 0.95, 0.94, 0.94],
    "nan": [0.9, 0.8, NAN, 0.85, 0.7, NAN, NAN, 0.71, 0.72, 0.6],
}
CONFIGS = [
    dict(monitor="val_loss"),
    dict(monitor="val_loss", patience=2),
    dict(monitor="val_loss", patience=2, min_delta=0.01, restore_best_weights=True),
    dict(monitor="loss", patience=1, baseline=0.75, restore_best_weights=True),
    dict(monitor="val_loss", patience=1, start_from_epoch=3, restore_best_weights=True),
    dict(monitor="val_loss", mode="max", patience=3, baseline=0.65),
    dict(monitor="val_loss", mode="max", patience=2, min_delta=-0.02, restore_best_weights=True),
]


def _logs(values):
    # `loss` runs slightly above `val_loss`; both exist so either can be monitored.
    return [{"loss": v + 0.05, "val_loss": v} for v in values]


def _run(callback, values, capsys):
    model = FakeModel()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stopped = replay(callback, model, _logs(values))
    out = capsys.readouterr().out
    return {
        "stopped": stopped,
        "stopped_epoch": callback.stopped_epoch,
        "best": callback.best,
        "best_epoch": callback.best_epoch,
        "wait": callback.wait,
        "restored": model.restored,
        "printed": out,
        "warnings": [str(w.message) for w in caught],
    }


@pytest.mark.oracle
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_decisions_match_keras(oracle, config, capsys):
    for name, values in SEQUENCES.items():
        ours = _run(EarlyStopping(verbose=1, **config), values, capsys)
        theirs = _run(oracle.callbacks.EarlyStopping(verbose=1, **config), values, capsys)
        theirs["best"] = None if theirs["best"] is None else float(theirs["best"])
        assert ours == theirs, name


@pytest.mark.oracle
def test_missing_monitor_warns_like_keras(oracle, capsys):
    ours = _run(EarlyStopping(monitor="val_acc", mode="max"), SEQUENCES["noisy"], capsys)
    theirs = _run(oracle.callbacks.EarlyStopping(monitor="val_acc", mode="max"), SEQUENCES["noisy"], capsys)
    assert ours["stopped"] is None
    assert ours["warnings"] == theirs["warnings"]
    assert "Early stopping conditioned on metric `val_acc` which is not available." in ours["warnings"][0]
    assert "Available metrics are: loss,val_loss" in ours["warnings"][0]


@pytest.mark.oracle
def test_fit_matches_keras(oracle):
    """Same weights, same data, no shuffling: the same epoch stops and the same weights come back."""
    x, y = regression_data()
    w0 = initial_weights()
    kwargs = dict(monitor="val_loss", patience=2, min_delta=1e-3, restore_best_weights=True)
    histories, callbacks, models = [], [], []
    for lib in (lamina, oracle):
        model = tiny_model(lib, w0, lr=0.1)
        callback = lib.callbacks.EarlyStopping(**kwargs)
        history = model.fit(
            x[:12], y[:12], batch_size=4, epochs=40, shuffle=False, verbose=0,
            validation_data=(x[12:], y[12:]), callbacks=[callback],
        )
        histories.append(history.history)
        callbacks.append(callback)
        models.append(model)
    ours, theirs = callbacks
    assert 0 < ours.stopped_epoch < 39
    assert (ours.stopped_epoch, ours.best_epoch) == (theirs.stopped_epoch, theirs.best_epoch)
    np.testing.assert_allclose(histories[0]["val_loss"], histories[1]["val_loss"], rtol=1e-4)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_restore_best_weights_restores_the_best_epoch():
    x, y = regression_data()
    model = tiny_model(lamina, initial_weights(), lr=0.3)
    snapshots = []
    record = lamina.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append([np.array(w) for w in model.get_weights()])
    )
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(
        x[:12], y[:12], batch_size=4, epochs=30, shuffle=False, verbose=0,
        validation_data=(x[12:], y[12:]), callbacks=[record, stop],
    )
    val = history.history["val_loss"]
    assert stop.stopped_epoch == len(val) - 1 and len(val) < 30
    assert stop.best_epoch == int(np.argmin(val))
    for a, b in zip(model.get_weights(), snapshots[stop.best_epoch]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(snapshots[-1][0], snapshots[stop.best_epoch][0])


def test_docstring_example():
    callback = EarlyStopping(monitor="loss", patience=3)
    model = lamina.Sequential([lamina.layers.Dense(10)])
    model.compile(lamina.optimizers.SGD(), loss="mse")
    history = model.fit(
        np.arange(100).reshape(5, 20).astype("float32"), np.zeros(5, "float32"),
        epochs=10, batch_size=1, callbacks=[callback], verbose=0,
    )
    assert len(history.history["loss"]) == 4


def test_verbose_messages(capsys):
    replay(EarlyStopping(monitor="val_loss", patience=1, verbose=1, restore_best_weights=True),
           FakeModel(), _logs([0.5, 0.4, 0.45, 0.47, 0.3]))
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"
    )


def _compiled(metrics):
    """A compiled model that has run one epoch, so its compiled metrics exist."""
    model = tiny_model(lamina, metrics=metrics)
    x, y = regression_data(8)
    model.fit(x, (y > 0).astype("float32"), epochs=1, verbose=0)
    return model


@pytest.mark.parametrize(
    "monitor, metrics, direction",
    [
        ("val_loss", None, "min"),
        ("loss", None, "min"),
        ("val_accuracy", ["accuracy"], "max"),
        ("mean_absolute_error", [lamina.metrics.MeanAbsoluteError()], "min"),
        ("val_auc", [lamina.metrics.AUC()], "max"),
        ("val_precision", [lamina.metrics.Precision()], "max"),
        # Keras 2's rule for names no compiled metric claims (its scripts monitor "val_acc").
        ("val_acc", None, "max"),
        ("val_top_acc", ["accuracy"], "max"),
    ],
)
def test_auto_mode_direction(monitor, metrics, direction):
    callback = EarlyStopping(monitor=monitor)
    callback.set_model(_compiled(metrics))
    callback._set_monitor_op()
    assert callback._direction == direction


def test_auto_mode_unknown_metric_raises():
    callback = EarlyStopping(monitor="val_something")
    callback.set_model(_compiled(None))
    with pytest.raises(ValueError, match="monitor=val_something.*Pass `mode='max'`"):
        replay(callback, callback.model, _logs([0.5]))


def test_unknown_mode_warns_and_uses_auto():
    with pytest.warns(UserWarning, match="EarlyStopping mode 'bigger' is unknown, fallback to auto mode."):
        callback = EarlyStopping(mode="bigger")
    assert callback.mode == "auto"
