"""What ``verbose`` prints: nothing (0), a bar (1, ``"auto"``) or one line per epoch (2). Outside a
terminal (here: captured stdout) the bar, too, writes only its final line for each epoch."""

import re

import numpy as np
import pytest

import lamina

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 4)).astype("float32")
Y = rng.normal(size=(20, 1)).astype("float32")


@pytest.fixture
def model():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def _lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_verbose_zero_prints_nothing(model, capsys):
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0, validation_data=(X, Y))
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    model.train_on_batch(X, Y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [1, 2, "auto"])
def test_one_line_per_epoch_outside_a_terminal(model, capsys, verbose):
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=verbose, validation_data=(X, Y)).history
    lines = _lines(capsys)
    assert len(lines) == 4, lines
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for epoch, line in ((0, lines[1]), (1, lines[3])):
        for key in ("loss", "mae", "val_loss", "val_mae"):
            assert f"{key}: {history[key][epoch]:.4f}" in line, (key, line)
        assert "3/3" in line  # the bar (1) or the count of the per-epoch line (2)
        assert "step" in line


@pytest.mark.parametrize("verbose", [1, 2, "auto"])
def test_evaluate_and_predict_lines(model, capsys, verbose):
    logs = model.evaluate(X, Y, batch_size=8, verbose=verbose, return_dict=True)
    lines = _lines(capsys)
    assert len(lines) == 1, lines
    assert f"loss: {logs['loss']:.4f}" in lines[0] and f"mae: {logs['mae']:.4f}" in lines[0]


@pytest.mark.parametrize("verbose", [1, 2])
def test_predict_prints_one_line(model, capsys, verbose):
    model.predict(X, batch_size=8, verbose=verbose)
    assert len(_lines(capsys)) == 1


def test_single_epoch_has_no_epoch_header(model, capsys):
    model.fit(X, Y, epochs=1, verbose=2)
    lines = _lines(capsys)
    assert len(lines) == 1 and not lines[0].startswith("Epoch")


def test_invalid_verbose(model):
    with pytest.raises(ValueError, match="verbose"):
        model.fit(X, Y, verbose=3)


def test_verbose_two_line_has_the_keras_layout(model, capsys):
    model.fit(X, Y, epochs=1, batch_size=8, verbose=2)
    (line,) = _lines(capsys)
    assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step - loss: \d\.\d{4} - mae: \d\.\d{4}", line), line


def test_live_bar_gets_values_after_deferred_batches(model):
    """A live bar skips batches whose logs were not computed, then draws with fresh values."""
    import io

    stream = io.StringIO()
    stream.isatty = lambda: True
    bar = lamina.utils.Progbar(target=3, stream=stream, interval=0.0)
    callback = lamina.callbacks.ProgbarLogger()
    callback.set_params({"verbose": 1, "epochs": 1, "steps": 3})
    callback._bar = bar
    assert callback._wants_batch_logs()
    callback.on_train_batch_end(0, lamina.callbacks.callback.DeferredLogs())
    assert stream.getvalue() == "" and bar._seen == 1
    callback.on_train_batch_end(1, {"loss": 0.5})
    assert "2/3" in stream.getvalue() and "loss: 0.5000" in stream.getvalue()
