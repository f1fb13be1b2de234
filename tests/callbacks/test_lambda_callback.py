import pytest
from callback_fakes import initial_weights, regression_data, tiny_model

import lamina
from lamina.callbacks import Callback, LambdaCallback

HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


def _recorder(lib, events):
    """A LambdaCallback of ``lib`` recording (hook, epoch or batch, sorted log keys) for every hook."""

    def make(name):
        def record(*args, **kwargs):
            logs = kwargs.get("logs", args[-1] if args else None)
            index = args[0] if "batch" in name or "epoch" in name else None
            events.append((name, index, tuple(sorted(logs)) if isinstance(logs, dict) else logs))

        return record

    return lib.callbacks.LambdaCallback(**{name: make(name) for name in HOOKS})


@pytest.mark.oracle
def test_hook_sequence_matches_keras(oracle):
    """fit (with validation), evaluate and predict call the same hooks, in the same order, with
    the same indices and log keys as Keras."""
    x, y = regression_data(10)
    sequences = []
    for lib in (lamina, oracle):
        events = []
        model = tiny_model(lib, initial_weights())
        model.fit(
            x[:6], y[:6], batch_size=4, epochs=2, shuffle=False, verbose=0,
            validation_data=(x[6:], y[6:]), callbacks=[_recorder(lib, events)],
        )
        model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[_recorder(lib, events)])
        model.predict(x, batch_size=8, verbose=0, callbacks=[_recorder(lib, events)])
        sequences.append(events)
    ours, theirs = sequences
    assert [e[:2] for e in ours] == [e[:2] for e in theirs]
    # Keras passes the batch's predictions as logs["outputs"]: that is up to the trainer.
    assert [e for e in ours if e[0] != "on_predict_batch_end"] == [
        e for e in theirs if e[0] != "on_predict_batch_end"
    ]
    assert ("on_epoch_end", 1, ("loss", "val_loss")) in ours
    assert ("on_train_batch_end", 1, ("loss",)) in ours


def test_functions_replace_hooks():
    calls = []
    callback = LambdaCallback(
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_train_end=lambda logs: calls.append("train_end"),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),
    )
    x, y = regression_data(8)
    tiny_model(lamina).fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
    assert calls == [
        "train_begin", ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0),
        ("batch_begin", 1), ("batch_end", 1), ("epoch_end", 0, ["loss"]), "train_end",
    ]


def test_keras2_batch_hooks_as_keywords():
    batches = []
    callback = LambdaCallback(on_batch_end=lambda batch, logs: batches.append(batch))
    x, y = regression_data(12)
    tiny_model(lamina).fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    assert batches == [0, 1, 2, 0, 1, 2]


def test_unknown_keyword_raises():
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['on_epoch_ends'\]"):
        LambdaCallback(on_epoch_ends=print)
