import numpy as np
import pytest
from callback_fakes import initial_weights, regression_data, tiny_model

import lamina
from lamina.callbacks import TerminateOnNaN


def _poisoned(value):
    x, y = regression_data()
    y = y.copy()
    y[5] = value  # the second batch of 4
    return x, y


def _fit(lib, value, callback, events):
    x, y = _poisoned(value)
    model = tiny_model(lib, initial_weights())
    record = lib.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: events.append(batch),
        on_train_end=lambda logs: events.append("end"),
    )
    history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[callback, record])
    return history


@pytest.mark.oracle
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_stops_at_the_same_batch_as_keras(oracle, value, capsys):
    our_events, their_events = [], []
    ours = _fit(lamina, value, TerminateOnNaN(), our_events)
    our_out = capsys.readouterr().out
    theirs = _fit(oracle, value, oracle.callbacks.TerminateOnNaN(), their_events)
    assert our_events == their_events == [0, 1, "end"]
    assert ours.epoch == theirs.epoch == [0]
    assert our_out == capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"


def test_raise_error_skips_on_train_end():
    events = []
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch 1. Loss value: nan. Terminating"):
        _fit(lamina, np.nan, TerminateOnNaN(raise_error=True), events)
    assert events == [0]


def test_finite_loss_runs_all_epochs():
    events = []
    history = _fit(lamina, 1.0, TerminateOnNaN(), events)
    assert history.epoch == [0, 1, 2] and events[-1] == "end" and len(events) == 13
