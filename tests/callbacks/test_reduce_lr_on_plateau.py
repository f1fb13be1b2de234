import warnings

import numpy as np
import pytest
from callback_fakes import FakeModel, initial_weights, regression_data, replay, tiny_model

import lamina
from lamina.callbacks import ReduceLROnPlateau

VALUES = [1.0, 0.9, 0.9, 0.95, 0.92, 0.89, 0.8999, 0.91, 0.93, 0.7, 0.7, 0.71, 0.72, 0.73, 0.74,
          0.75, 0.76, 0.77, 0.78, 0.79]
CONFIGS = [
    dict(),
    dict(patience=1),
    dict(patience=2, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.2, min_lr=0.003),
    dict(patience=1, min_delta=0.05, factor=0.5),
    dict(patience=2, mode="max", factor=0.5),
    dict(monitor="loss", patience=1, cooldown=1, factor=0.3, min_lr=1e-3),
]


def _run(callback, optimizer, capsys):
    """Replay VALUES; returns the logged and the actual learning rate after each epoch."""
    logged, rates = [], []
    on_epoch_end = callback.on_epoch_end

    def recording_on_epoch_end(epoch, logs=None):
        on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
        rates.append(float(np.asarray(optimizer.learning_rate)))

    callback.on_epoch_end = recording_on_epoch_end
    replay(callback, FakeModel(optimizer=optimizer), [{"loss": v + 0.1, "val_loss": v} for v in VALUES])
    return {"logged": logged, "rates": rates, "printed": capsys.readouterr().out}


@pytest.mark.oracle
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_learning_rates_match_keras(oracle, config, capsys):
    ours = _run(ReduceLROnPlateau(verbose=1, **config), lamina.optimizers.SGD(0.1), capsys)
    theirs = _run(oracle.callbacks.ReduceLROnPlateau(verbose=1, **config), oracle.optimizers.SGD(0.1), capsys)
    assert ours == theirs
    if config:
        assert "ReduceLROnPlateau reducing learning rate to" in ours["printed"]


@pytest.mark.oracle
def test_fit_history_matches_keras(oracle):
    x, y = regression_data()
    histories = []
    for lib in (lamina, oracle):
        model = tiny_model(lib, initial_weights(), lr=0.2)
        callback = lib.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5)
        history = model.fit(
            x[:12], y[:12], batch_size=4, epochs=12, shuffle=False, verbose=0,
            validation_data=(x[12:], y[12:]), callbacks=[callback],
        )
        histories.append(history.history)
    ours, theirs = histories
    assert sorted(ours) == sorted(theirs) == ["learning_rate", "loss", "val_loss"]
    np.testing.assert_allclose(ours["learning_rate"], theirs["learning_rate"], rtol=1e-7)
    assert len(set(ours["learning_rate"])) > 2
    np.testing.assert_allclose(ours["val_loss"], theirs["val_loss"], rtol=1e-4)


def test_reduction_reaches_the_optimizer():
    x, y = regression_data()
    model = tiny_model(lamina, lr=0.1)
    seen = []
    probe = lamina.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate))
    )
    # min_delta larger than any change: every epoch is a plateau.
    callback = ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=100.0, min_lr=0.02)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[probe, callback])
    np.testing.assert_allclose(seen, [0.1, 0.1, 0.05, 0.025, 0.02], rtol=1e-6)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.02, rtol=1e-6)


def test_missing_monitor_warns_and_keeps_rate():
    optimizer = lamina.optimizers.SGD(0.1)
    callback = ReduceLROnPlateau(monitor="val_acc", mode="max", patience=0)
    with pytest.warns(UserWarning, match=r"conditioned on metric `val_acc` which is not available. "
                      r"Available metrics are: loss,learning_rate\."):
        replay(callback, FakeModel(optimizer=optimizer), [{"loss": 1.0}] * 3)
    assert float(optimizer.learning_rate) == pytest.approx(0.1)


def test_invalid_arguments():
    with pytest.raises(ValueError, match=r"does not support a factor >= 1.0. Received factor=1.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        ReduceLROnPlateau(patiense=3)


def test_keras2_epsilon_alias():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        callback = ReduceLROnPlateau(epsilon=0.01)
    assert callback.min_delta == 0.01
    assert "`epsilon` argument is deprecated" in str(caught[0].message)
