"""The ``jit_compile=True`` train step: no recompiles, eager numbers, the faster path kept."""

import logging
import time

import numpy as np
import pytest
import torch
from compile_fakes import burn, fake_compile

import lamina
from lamina.trainers import compile_path

rng = np.random.default_rng(0)
X = rng.normal(size=(32, 4)).astype("float32")
Y = rng.normal(size=(32, 1)).astype("float32")


def _model(jit_compile, trials=0):
    model = lamina.Sequential([
        lamina.Input((4,)),
        # The activity regularizer records a loss per call: the compiled step must see only its own.
        lamina.layers.Dense(8, activation="relu", activity_regularizer="l2"),
        lamina.layers.Dense(1),
    ])
    model.set_weights([np.full(w.shape, 0.1, "float32") + 0.01 * i for i, w in enumerate(model.get_weights())])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=jit_compile)
    if jit_compile is True:
        model._make_train_function()._trials = trials
    return model


def _fit(model):
    return model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, validation_data=(X[:8], Y[:8]),
                     verbose=0).history


def test_compiled_step_matches_eager_and_compiles_once():
    eager = _model(False)
    expected = _fit(eager)
    torch._dynamo.utils.counters.clear()
    compiled = _model(True)
    step = compiled._train_function
    history = _fit(compiled)
    assert step.path is None and not step.failed  # trials=0: always the compiled step
    # One graph for the train step and one for validation's forward pass (compiled in the
    # second epoch): no guard failed between steps, epochs or validation passes.
    assert "_test_function" in compiled.__dict__
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 2
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, atol=1e-7)
    for a, e in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
    # The losses of the last call are those of the eager model after the same call.
    np.testing.assert_allclose(float(sum(compiled.losses).detach()), float(sum(eager.losses).detach()), rtol=1e-5)
    compiled(X[:4])
    eager(X[:4])
    np.testing.assert_allclose(float(sum(compiled.losses).detach()), float(sum(eager.losses).detach()), rtol=1e-5)


def test_slower_compiled_step_falls_back_to_eager_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", fake_compile(0.05))
    model = _model(True, trials=2)
    step = model._train_function
    with caplog.at_level(logging.INFO, logger="lamina"):
        model.fit(X, Y, batch_size=4, epochs=2, verbose=0)
    assert step.path == "eager"
    messages = [r for r in caplog.records if "jit_compile" in r.getMessage()]
    assert len(messages) == 1 and messages[0].levelno == logging.WARNING
    assert "training continues eagerly" in messages[0].getMessage()
    assert len(step._times["compiled"]) == len(step._times["eager"]) == 2


def test_faster_compiled_step_is_kept(monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", fake_compile(0.0))
    model = _model(True, trials=2)
    step = model._train_function
    eager = step._eager

    def slow_eager(*args):
        burn(0.05)
        return eager(*args)

    step._eager = slow_eager
    with caplog.at_level(logging.INFO, logger="lamina"):
        model.fit(X, Y, batch_size=4, epochs=1, verbose=0)
    assert step.path == "compiled"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_train_step_trials_end_with_the_optimizer_not_at_the_next_step(monkeypatch):
    # A callback that sleeps after each batch, and epochs of one step (each followed by a
    # validation): the time up to the next step would be mostly sleep and validation.
    monkeypatch.setattr(torch, "compile", fake_compile(0.0))
    model = _model(True, trials=2)
    step = model._train_function

    def nap(batch, logs):
        time.sleep(0.3)

    callback = lamina.callbacks.LambdaCallback(on_train_batch_end=nap)
    model.fit(X, Y, batch_size=32, epochs=7, validation_data=(X, Y), callbacks=[callback], verbose=0)
    assert step.path is not None
    assert max(wall for times in step._times.values() for wall, _ in times) < 0.15


def test_models_do_not_share_a_compile_cache():
    first, second = _model(True), _model(True)
    first._train_function(torch.from_numpy(X), torch.from_numpy(Y), None)
    second._train_function(torch.from_numpy(X), torch.from_numpy(Y), None)
    a = compile_path._own_code(first._forward_and_loss)
    b = compile_path._own_code(second._forward_and_loss)
    assert a.__func__.__code__ is not b.__func__.__code__
    assert a.__self__ is first and b.__self__ is second


@pytest.mark.parametrize("value, expected", [("auto", False), (True, True), (False, False)])
def test_jit_compile_auto_is_eager(value, expected):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=value)
    assert model.jit_compile is expected
    step = model._make_train_function()
    assert isinstance(step, compile_path.CompiledStep) is expected


def test_dropout_compiles_into_the_one_graph():
    torch._dynamo.utils.counters.clear()
    model = lamina.Sequential([
        lamina.Input((4,)), lamina.layers.Dense(8), lamina.layers.Dropout(0.5), lamina.layers.Dense(1),
    ])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    model._make_train_function()._trials = 0
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0).history
    assert not model._train_function.failed
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert np.all(np.isfinite(history["loss"]))


def test_loaded_machine_decides_on_cpu_time(monkeypatch, caplog):
    # The compiled step waits (as a process does on a busy machine) but uses less CPU than the
    # eager one: the wall clock would keep eager execution, the CPU time keeps the compiled step.
    def waiting_compile(fn, **kwargs):
        def run(*args):
            time.sleep(0.05)
            return fn(*args)

        return run

    monkeypatch.setattr(torch, "compile", waiting_compile)
    model = _model(True, trials=2)
    step = model._train_function
    eager = step._eager

    def busy_eager(*args):
        burn(0.02)
        return eager(*args)

    step._eager = busy_eager
    with caplog.at_level(logging.INFO, logger="lamina"):
        model.fit(X, Y, batch_size=4, epochs=1, verbose=0)
    assert step.path == "compiled"
    assert "CPU time, the machine being busy" in caplog.records[-1].getMessage()
