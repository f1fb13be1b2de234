"""``jit_compile=True``: ``evaluate``'s forward pass goes through ``torch.compile`` like
``predict``'s (its own compiled step and compiled-or-eager choice); loss and metrics stay eager."""

import logging

import numpy as np
import torch
from compile_fakes import fake_compile
from eager_reference import assert_loops_agree

import lamina
from lamina import layers

rng = np.random.default_rng(1)
X = rng.normal(size=(24, 8, 8, 3)).astype("float32")
Y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=24)]


def _model(jit_compile):
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(4, activation="softmax"),
    ])
    model.compile(
        optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def test_compiled_evaluate_matches_eager_and_sees_weight_changes():
    torch._dynamo.reset()
    eager, compiled = _model(False), _model(True)
    compiled.set_weights(eager.get_weights())
    # Batches of 10 (the last, of 4, runs eagerly): a build call, the compiling call, 3 timed
    # calls of each path, then the kept path.
    assert_loops_agree(compiled, eager, "evaluate", X, Y, calls=5, batch_size=10)
    step = compiled.__dict__["_test_function"].step
    assert step.path in ("compiled", "eager") and not step.failed
    assert "_predict_function" not in compiled.__dict__  # predict keeps its own
    new = [w * 0.5 + 0.1 for w in eager.get_weights()]
    eager.set_weights(new)
    compiled.set_weights(new)
    step.path = "compiled"  # whichever was faster here, the compiled graph must see the change
    np.testing.assert_allclose(
        compiled.evaluate(X[:20], Y[:20], batch_size=10, verbose=0),
        eager.evaluate(X[:20], Y[:20], batch_size=10, verbose=0), rtol=1e-5, atol=1e-6,
    )
    np.testing.assert_allclose(
        compiled.test_on_batch(X[:10], Y[:10]), eager.test_on_batch(X[:10], Y[:10]), rtol=1e-5
    )


def test_slower_compiled_evaluate_falls_back_to_eager_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", fake_compile(0.05))
    model = _model(True)
    with caplog.at_level(logging.INFO, logger="lamina"):
        model.evaluate(X, Y, batch_size=2, verbose=0)
    assert model.__dict__["_test_function"].step.path == "eager"
    messages = [r for r in caplog.records if "jit_compile" in r.getMessage()]
    assert len(messages) == 1 and messages[0].levelno == logging.WARNING
    assert "compiled evaluate step" in messages[0].getMessage()


def test_evaluate_without_jit_compile_never_compiles():
    model = _model(False)
    model.evaluate(X, Y, verbose=0)
    assert "_test_function" not in model.__dict__

