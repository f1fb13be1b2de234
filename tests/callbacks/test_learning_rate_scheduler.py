import math

import numpy as np
import pytest
from callback_fakes import FakeModel, regression_data, replay, tiny_model

import lamina
from lamina.callbacks import LearningRateScheduler


def _exponential(epoch, lr):
    return lr if epoch < 2 else lr * math.exp(-0.1)


def _by_epoch(epoch):
    return 0.1 / (1 + epoch)


def _numpy_float(epoch, lr):
    return np.float32(lr * 0.5)


def _run(callback, optimizer, capsys):
    """Replay 5 epochs; returns the rate in force during each epoch and the logged rates."""
    rates, logged = [], []
    on_epoch_end = callback.on_epoch_end

    def recording_on_epoch_end(epoch, logs=None):
        rates.append(float(np.asarray(optimizer.learning_rate)))
        on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])

    callback.on_epoch_end = recording_on_epoch_end
    replay(callback, FakeModel(optimizer=optimizer), [{"loss": 1.0}] * 5)
    return rates, logged, capsys.readouterr().out


@pytest.mark.oracle
@pytest.mark.parametrize("schedule", [_exponential, _by_epoch, _numpy_float])
def test_rates_and_messages_match_keras(oracle, schedule, capsys):
    ours = _run(LearningRateScheduler(schedule, verbose=1), lamina.optimizers.SGD(0.1), capsys)
    theirs = _run(oracle.callbacks.LearningRateScheduler(schedule, verbose=1), oracle.optimizers.SGD(0.1), capsys)
    assert ours == theirs
    assert "\nEpoch 3: LearningRateScheduler setting learning rate to " in ours[2]


@pytest.mark.oracle
@pytest.mark.parametrize("bad", [lambda epoch, lr: 1, lambda epoch, lr: "0.1", lambda epoch, lr: None])
def test_non_float_schedule_output_raises_like_keras(oracle, bad):
    messages = []
    for lib, callback in ((lamina, LearningRateScheduler(bad)), (oracle, oracle.callbacks.LearningRateScheduler(bad))):
        with pytest.raises(ValueError, match="The output of the `schedule` function should be a float") as info:
            replay(callback, FakeModel(optimizer=lib.optimizers.SGD(0.1)), [{}])
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_rate_in_force_during_fit():
    x, y = regression_data()
    model = tiny_model(lamina, lr=0.5)
    seen = []
    probe = lamina.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(float(model.optimizer.learning_rate))
    )
    schedule = LearningRateScheduler(lambda epoch, lr: 0.01 * (epoch + 1))
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule, probe])
    np.testing.assert_allclose(seen, [0.01, 0.01, 0.02, 0.02, 0.03, 0.03], rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.02, 0.03], rtol=1e-6)


def test_schedule_errors_are_not_hidden():
    def broken(epoch, lr):
        raise TypeError("bug inside the schedule")

    with pytest.raises(TypeError, match="bug inside the schedule"):
        replay(LearningRateScheduler(broken), FakeModel(optimizer=lamina.optimizers.SGD(0.1)), [{}])


def test_optimizer_without_learning_rate():
    with pytest.raises(ValueError, match='Optimizer must have a "learning_rate" attribute.'):
        replay(LearningRateScheduler(_by_epoch), FakeModel(optimizer=object()), [{}])
