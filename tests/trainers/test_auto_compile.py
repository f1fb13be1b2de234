"""``jit_compile="auto"`` (the default): ``predict``'s and ``evaluate``'s forward passes run
eagerly until they have taken ``AUTO_COMPILE_AFTER`` seconds, then take the ``jit_compile=True``
path (compiled if that measures faster), said once in the log; the train step stays eager.

The thresholds are lowered here so that a few batches cross them."""

import copy
import logging
import pickle
import time
import warnings

import numpy as np
import pytest
import torch
from compile_fakes import CountingCompile, fake_compile
from eager_reference import assert_loops_agree

import lamina
from lamina import layers
from lamina.trainers import compile_path, inference_path

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


@pytest.fixture
def at_once(monkeypatch):
    """"auto" compiles after the first eager call."""
    monkeypatch.setattr(inference_path, "AUTO_COMPILE_AFTER", 0.0)
    monkeypatch.setattr(inference_path, "COMPILE_SECONDS_PER_CALL", 0.0)


@pytest.fixture
def counting_compile(monkeypatch):
    spy = CountingCompile()
    monkeypatch.setattr(torch, "compile", spy)
    return spy


def test_auto_stays_eager_until_the_threshold(counting_compile):
    model = _model()
    assert model.jit_compile is False
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0)
        model.evaluate(X, Y, batch_size=8, verbose=0)
    assert counting_compile.compiles == 0
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
        assert_loops_agree(auto, eager, "predict", X, calls=6, batch_size=10)
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


def test_auto_counts_each_loop_on_its_own(counting_compile):
    model = _model()
    model.predict(X, batch_size=8, verbose=0)
    model.evaluate(X, Y, batch_size=8, verbose=0)
    # Predict past its threshold: predict compiles, evaluate does not.
    model.__dict__["_predict_function"].eager_seconds = 1e9
    model.predict(X, batch_size=8, verbose=0)
    model.evaluate(X, Y, batch_size=8, verbose=0)
    assert model.__dict__["_predict_function"].step is not None
    assert model.__dict__["_test_function"].step is None
    assert counting_compile.compiles == 1


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
    assert counting_compile.compiles == 0


def test_auto_applies_to_a_model_never_compiled(at_once, counting_compile):
    # A model loaded without its training configuration, used for inference only.
    model = lamina.Sequential([lamina.Input((8, 8, 3)), layers.Flatten(), layers.Dense(4)])
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0)
    assert counting_compile.compiles == 1
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
        assert_loops_agree(auto, eager, "evaluate", X, Y, calls=3, batch_size=8, rtol=1e-6, atol=0)
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
    assert not forward.auto and forward.step is not None and counting_compile.compiles == 1


def test_validation_during_fit_switches_to_the_compiled_evaluate_and_keeps_the_numbers(
    at_once, monkeypatch
):
    torch._dynamo.reset()
    monkeypatch.setattr(compile_path, "_TRIALS", 0)  # keep the compiled path, however fast
    spy = CountingCompile(torch.compile)
    monkeypatch.setattr(torch, "compile", spy)
    eager, auto = _model(jit_compile=False), _model()
    auto.set_weights(eager.get_weights())
    # Batches of 6: 2 of validation an epoch; from the second epoch on, the compiled evaluate
    # runs while the weights change between epochs.
    fit = dict(batch_size=6, epochs=4, validation_split=0.5, shuffle=False, verbose=0)
    expected = eager.fit(X, Y, **fit).history
    history = auto.fit(X, Y, **fit).history
    assert spy.calls >= 5 and not auto.__dict__["_test_function"].step.failed
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, atol=1e-6)


def test_the_compiled_shape_is_the_first_batch_not_the_one_crossing_the_threshold(
    monkeypatch, counting_compile
):
    # 14 samples in batches of 10; the threshold is crossed on the first batch of the second
    # predict, and the next call is the last batch (4 samples): the compiled forward pass is
    # still the one of the full batches.
    model = _model()
    x = X[:14]
    model.predict(x, batch_size=10, verbose=0)
    forward = model.__dict__["_predict_function"]
    monkeypatch.setattr(forward, "compile_after", forward.eager_seconds * 0.999)
    model.predict(x, batch_size=10, verbose=0)
    assert forward.step is not None and forward.signature[0][0] == (10, 8, 8, 3)
    # One full batch a call: a build call, the compiling call, 3 timed calls of each path.
    for _ in range(8):
        model.predict(x, batch_size=10, verbose=0)
    assert forward.step.path is not None


def test_trials_time_each_call_not_what_runs_between_calls(at_once):
    # A callback that sleeps after each batch: the time between two calls is mostly sleep, and
    # must not be what decides between compiled and eager execution.
    model = _model()

    def nap(batch, logs):
        time.sleep(0.3)

    callback = lamina.callbacks.LambdaCallback(on_predict_batch_end=nap)
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0, callbacks=[callback])
    step = model.__dict__["_predict_function"].step
    assert step.path is not None
    assert max(wall for times in step._times.values() for wall, _ in times) < 0.15


def test_run_eagerly_set_after_the_switch_stops_the_compiled_forward(at_once):
    spy = CountingCompile(torch.compile)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch, "compile", spy)
        model = _model()
        for _ in range(2):
            model.predict(X, batch_size=8, verbose=0)
        used = spy.calls
        assert used > 0
        model.run_eagerly = True
        model.predict(X, batch_size=8, verbose=0)
        assert spy.calls == used
        # And `compile(run_eagerly=True)` followed by `run_eagerly = False` is "auto" again.
        model.compile(optimizer="sgd", loss="categorical_crossentropy", run_eagerly=True)
        model.predict(X, batch_size=8, verbose=0)
        assert spy.calls == used
        model.run_eagerly = False
        for _ in range(2):
            model.predict(X, batch_size=8, verbose=0)
        assert spy.calls > used


def test_a_loaded_model_gets_the_default_whatever_its_file_says(tmp_path):
    # Keras writes its default "auto" resolved for its backend (True on JAX, False on torch), as
    # older Lamina files did (False): a file cannot tell the user's choice from the default.
    for setting in (False, True, "auto"):
        model = _model(jit_compile=setting)
        model.fit(X, Y, verbose=0)
        assert model.get_compile_config()["jit_compile"] == setting
        path = str(tmp_path / f"{setting}.keras")
        model.save(path)
        restored = lamina.models.load_model(path)
        assert restored._auto_jit_compile and not restored.jit_compile


def test_a_model_pickles_and_deep_copies_after_the_switch(at_once):
    model = _model()
    for _ in range(3):
        model.predict(X, batch_size=8, verbose=0)
    assert model.__dict__["_predict_function"].step is not None
    expected = model.predict(X, batch_size=8, verbose=0)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        step = clone.__dict__["_predict_function"].step
        assert step is not None and step.path is None  # starts over, bound to the clone
        for _ in range(3):
            np.testing.assert_allclose(clone.predict(X, batch_size=8, verbose=0), expected, rtol=1e-5, atol=1e-6)
        # It predicts with its own weights, not the original's: softmax of zeros, 1/4 each.
        clone.set_weights([np.zeros_like(w) for w in clone.get_weights()])
        for _ in range(3):
            np.testing.assert_allclose(clone.predict(X, batch_size=8, verbose=0), 0.25, rtol=1e-6)
    assert not np.allclose(model.predict(X, batch_size=8, verbose=0), 0.25)
