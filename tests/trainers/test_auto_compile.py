"""``jit_compile="auto"`` (the default): ``predict``'s and ``evaluate``'s forward passes run
eagerly until they have taken ``AUTO_COMPILE_AFTER`` seconds, then take the ``jit_compile=True``
path (compiled if that measures faster), said once in the log; the train step stays eager.

The thresholds are lowered here so that a few batches cross them."""

import logging
import warnings

import numpy as np
import pytest
import torch
from compile_fakes import fake_compile

import lamina
from lamina import layers
from lamina.trainers import inference_path

rng = np.random.default_rng(3)
X = rng.normal(size=(24, 8, 8, 3)).astype("float32")
Y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=24)]


def _model(**compile_args):
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"], **compile_args)
    return model


class _CountingCompile:
    """``torch.compile`` that counts its calls and returns the function itself."""

    def __init__(self):
        self.calls = 0

    def __call__(self, fn, **kwargs):
        self.calls += 1
        return fn


@pytest.fixture
def at_once(monkeypatch):
    """"auto" compiles after the first eager call."""
    monkeypatch.setattr(inference_path, "AUTO_COMPILE_AFTER", 0.0)
    monkeypatch.setattr(inference_path, "COMPILE_SECONDS_PER_CALL", 0.0)


@pytest.fixture
def counting_compile(monkeypatch):
    spy = _CountingCompile()
    monkeypatch.setattr(torch, "compile", spy)
    return spy


def test_auto_stays_eager_until_the_threshold(counting_compile):
    model = _model()
    assert model.jit_compile is False
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0)
        model.evaluate(X, Y, batch_size=8, verbose=0)
    assert counting_compile.calls == 0
    for key in ("_predict_function", "_test_function"):
        forward = model.__dict__[key]
        assert forward.step is None and 0 < forward.eager_seconds < inference_path.AUTO_COMPILE_AFTER


def test_auto_compiles_predict_past_the_threshold_and_keeps_the_numbers(at_once, caplog):
    torch._dynamo.reset()
    eager, auto = _model(jit_compile=False), _model()
    auto.set_weights(eager.get_weights())
    with caplog.at_level(logging.INFO, logger="lamina"):
        # Batches of 10 (the last, of 4, stays eager): the eager call that crosses the threshold,
        # a build call, the compiling call, 3 timed calls of each path, then the kept path.
        for _ in range(6):
            np.testing.assert_allclose(
                auto.predict(X, batch_size=10, verbose=0), eager.predict(X, batch_size=10, verbose=0),
                rtol=1e-5, atol=1e-6,
            )
    step = auto.__dict__["_predict_function"].step
    assert step.path in ("compiled", "eager") and not step.failed
    assert "_predict_function" not in eager.__dict__
    messages = [r.getMessage() for r in caplog.records if 'jit_compile="auto"' in r.getMessage()]
    assert len(messages) == 2, messages  # the switch, then the choice
    assert "has run eagerly" in messages[0] and "predict step of model" in messages[1]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "lamina")
    # The training step stays eager under "auto".
    auto.fit(X, Y, batch_size=8, verbose=0)
    assert auto._train_function is not None and not hasattr(auto._train_function, "path")


def test_auto_counts_each_loop_on_its_own(monkeypatch, counting_compile):
    model = _model()
    model.predict(X, batch_size=8, verbose=0)
    spent = model.__dict__["_predict_function"].eager_seconds
    # Evaluate starts from zero: predict's time does not make it compile.
    monkeypatch.setattr(inference_path, "AUTO_COMPILE_AFTER", spent * 1.5)
    monkeypatch.setattr(inference_path, "COMPILE_SECONDS_PER_CALL", 0.0)
    model.evaluate(X[:8], Y[:8], batch_size=8, verbose=0)
    assert model.__dict__["_test_function"].step is None
    assert model.__dict__["_test_function"].eager_seconds < spent * 1.5


def test_a_long_forward_pass_runs_eagerly_for_longer(monkeypatch, counting_compile):
    # The expected compile time (per torch call of a forward pass) sets the threshold when it
    # exceeds the minimum.
    monkeypatch.setattr(inference_path, "AUTO_COMPILE_AFTER", 0.0)
    monkeypatch.setattr(inference_path, "COMPILE_SECONDS_PER_CALL", 100.0)
    model = _model()
    model.predict(X, batch_size=8, verbose=0)
    forward = model.__dict__["_predict_function"]
    # Conv2D: convolution, bias, relu; MaxPooling2D; Flatten; Dense: matmul, bias, softmax: at
    # least 6 calls (exactly how many is the layers' business).
    assert forward.compile_after >= 600.0 and forward.step is None
    monkeypatch.setattr(inference_path, "COMPILE_SECONDS_PER_CALL", 1e-9)
    model = _model()
    model.predict(X, batch_size=8, verbose=0)
    assert model.__dict__["_predict_function"].step is not None


def test_the_expected_compile_time_grows_with_the_steps_of_a_python_loop(monkeypatch):
    # An RNN of a cell runs the cell once per step: each step is more for the compiler to trace.
    monkeypatch.setattr(inference_path, "AUTO_COMPILE_AFTER", 0.0)

    def threshold(steps):
        model = lamina.Sequential([lamina.Input((steps, 3)), layers.RNN(layers.SimpleRNNCell(4))])
        model.predict(np.zeros((2, steps, 3), "float32"), verbose=0)
        return model.__dict__["_predict_function"].compile_after

    assert threshold(40) > 3 * threshold(10) > 0


@pytest.mark.parametrize("how", ["compile False", "compile run_eagerly", "attribute False",
                                 "attribute run_eagerly"])
def test_auto_is_off_when_the_user_says_so(at_once, counting_compile, how):
    if how == "compile False":
        model = _model(jit_compile=False)
    elif how == "compile run_eagerly":
        model = _model(run_eagerly=True)
    else:
        model = _model()
        if how == "attribute False":
            model.jit_compile = False
        else:
            model.run_eagerly = True
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0)
        model.evaluate(X, Y, batch_size=8, verbose=0)
    assert counting_compile.calls == 0


def test_auto_applies_to_a_model_never_compiled(at_once, counting_compile):
    # A model loaded without its training configuration, used for inference only.
    model = lamina.Sequential([lamina.Input((8, 8, 3)), layers.Flatten(), layers.Dense(4)])
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0)
    assert counting_compile.calls == 1
    assert model.__dict__["_predict_function"].step is not None


def test_auto_logs_a_failed_compile_without_a_warning(monkeypatch, at_once, caplog):
    def broken_compile(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no C++ compiler")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    eager, auto = _model(jit_compile=False), _model()
    auto.set_weights(eager.get_weights())
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger="lamina"):
        warnings.simplefilter("error")
        for _ in range(3):
            np.testing.assert_allclose(
                auto.evaluate(X, Y, batch_size=8, verbose=0), eager.evaluate(X, Y, batch_size=8, verbose=0),
                rtol=1e-6,
            )
    step = auto.__dict__["_test_function"].step
    assert step.failed and step.path == "eager"
    failures = [r for r in caplog.records if "torch.compile failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelno == logging.INFO
    assert 'jit_compile="auto"' in failures[0].getMessage()


def test_auto_keeps_eager_when_compiled_is_slower_logged_at_info(monkeypatch, at_once, caplog):
    monkeypatch.setattr(torch, "compile", fake_compile(0.05))
    model = _model()
    with caplog.at_level(logging.INFO, logger="lamina"):
        model.predict(X, batch_size=2, verbose=0)
    step = model.__dict__["_predict_function"].step
    assert step.path == "eager"
    choice = [r for r in caplog.records if "continues eagerly" in r.getMessage()]
    assert len(choice) == 1 and choice[0].levelno == logging.INFO


def test_switching_to_jit_compile_true_replaces_the_auto_forward(counting_compile):
    model = _model()
    model.predict(X, batch_size=8, verbose=0)
    assert model.__dict__["_predict_function"].auto
    model.compile(optimizer="sgd", loss="categorical_crossentropy", jit_compile=True)
    model.predict(X, batch_size=8, verbose=0)
    forward = model.__dict__["_predict_function"]
    assert not forward.auto and forward.step is not None and counting_compile.calls == 1


def test_validation_during_fit_switches_to_the_compiled_evaluate_and_keeps_the_numbers(at_once):
    torch._dynamo.reset()
    eager, auto = _model(jit_compile=False), _model()
    auto.set_weights(eager.get_weights())
    # Batches of 6: 2 of validation an epoch, so the compiled evaluate is timed, chosen and then
    # used in later epochs while the weights change between them.
    fit = dict(batch_size=6, epochs=6, validation_split=0.5, shuffle=False, verbose=0)
    expected = eager.fit(X, Y, **fit).history
    history = auto.fit(X, Y, **fit).history
    step = auto.__dict__["_test_function"].step
    assert step is not None and step.path is not None and not step.failed
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, atol=1e-6)
