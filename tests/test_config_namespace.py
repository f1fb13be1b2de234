"""``lamina.config``: every ``keras.config`` name exists and each switch really acts."""

import logging
import os
import subprocess
import sys
import traceback

import numpy as np
import pytest

import lamina
from lamina.ops import _attention_math as _attention_ops


@pytest.mark.oracle
def test_config_has_every_keras_config_name(oracle):
    public = {n for n in dir(oracle.config) if not n.startswith("_")}
    assert len(public) == 25
    assert public <= set(dir(lamina.config))
    assert lamina.config.is_flash_attention_enabled() == oracle.config.is_flash_attention_enabled()
    assert lamina.config.max_epochs() == oracle.config.max_epochs() is None
    assert lamina.config.is_nnx_enabled() is False
    assert lamina.config.is_interactive_logging_enabled() is True
    assert lamina.config.is_traceback_filtering_enabled() is True


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


class _Counter(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = self.train_batches = self.test_batches = self.predict_batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1

    def on_train_batch_begin(self, batch, logs=None):
        self.train_batches += 1

    def on_test_batch_begin(self, batch, logs=None):
        self.test_batches += 1

    def on_predict_batch_begin(self, batch, logs=None):
        self.predict_batches += 1


def test_max_epochs_and_max_steps_per_epoch_cap_the_loops():
    x, y = np.ones((80, 3), "float32"), np.ones((80, 1), "float32")
    model = _model()
    lamina.config.set_max_epochs(2)
    lamina.config.set_max_steps_per_epoch(3)
    try:
        counter = _Counter()
        with pytest.warns(UserWarning, match="Limiting epochs to 2"):
            history = model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[counter])
        assert counter.epochs == 2 and counter.train_batches == 6
        assert len(history.history["loss"]) == 2
        model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[counter])
        assert counter.test_batches == 3
        out = model.predict(x, batch_size=8, verbose=0, callbacks=[counter])
        assert counter.predict_batches == 3 and out.shape == (24, 1)
    finally:
        lamina.config.set_max_epochs(None)
        lamina.config.set_max_steps_per_epoch(None)
    counter = _Counter()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[counter])
    assert counter.train_batches == 20
    with pytest.raises(ValueError, match="max_epochs"):
        lamina.config.set_max_epochs(-1)
    with pytest.raises(ValueError, match="max_steps_per_epoch"):
        lamina.config.set_max_steps_per_epoch("3")


def test_max_epochs_read_from_the_environment():
    code = "import lamina; print(lamina.config.max_epochs(), lamina.config.max_steps_per_epoch())"
    env = dict(os.environ, KERAS_MAX_EPOCHS="3", KERAS_MAX_STEPS_PER_EPOCH="5")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["3", "5"]


def test_interactive_logging_switch_routes_progress_to_python_logging(capsys, caplog):
    x, y = np.ones((16, 3), "float32"), np.ones((16, 1), "float32")
    model = _model()
    lamina.config.disable_interactive_logging()
    try:
        assert not lamina.config.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="lamina"):
            model.fit(x, y, batch_size=8, epochs=2, verbose=1)
        assert capsys.readouterr().out == ""
        messages = [r.getMessage() for r in caplog.records if r.name == "lamina"]
        assert "Epoch 1/2" in messages and "Epoch 2/2" in messages
        assert any(m.startswith("2/2") and "loss:" in m for m in messages)
    finally:
        lamina.config.enable_interactive_logging()
    model.fit(x, y, batch_size=8, epochs=2, verbose=1)
    assert "Epoch 2/2" in capsys.readouterr().out
    assert lamina.utils.is_interactive_logging_enabled()


def _lamina_frames(excinfo):
    package = os.path.dirname(lamina.__file__)
    return [f for f in traceback.extract_tb(excinfo.tb) if f.filename.startswith(package)]


def test_traceback_filtering_hides_lamina_frames_until_disabled():
    model = _model()
    bad = np.ones((4, 5), "float32")
    with pytest.raises(ValueError) as excinfo:
        model.fit(bad, np.ones((4, 1)), verbose=0)
    # As in Keras: the re-raising wrapper and the frame that raised are all that is left.
    frames = _lamina_frames(excinfo)
    assert [f.name for f in frames] == ["wrapper", "_check_input"]
    lamina.config.disable_traceback_filtering()
    try:
        assert not lamina.config.is_traceback_filtering_enabled()
        with pytest.raises(ValueError) as excinfo:
            model.predict(bad, verbose=0)
        assert len(_lamina_frames(excinfo)) > 4
    finally:
        lamina.config.enable_traceback_filtering()
    assert lamina.config.is_traceback_filtering_enabled()


def test_flash_attention_switch_chooses_the_attention_path(monkeypatch):
    calls = []
    real = _attention_ops.fused_attention

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_attention_ops, "fused_attention", spy)
    q = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    fused = lamina.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    expected = fused(q, q).detach().numpy()
    assert calls
    lamina.config.disable_flash_attention()
    try:
        assert lamina.config.is_flash_attention_enabled() is False
        plain = lamina.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        plain(q, q)
        plain.set_weights(fused.get_weights())
        calls.clear()
        np.testing.assert_allclose(plain(q, q).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
        assert not calls
    finally:
        lamina.config.enable_flash_attention()
    assert lamina.config.is_flash_attention_enabled() is None


def test_set_backend_accepts_only_torch():
    lamina.config.set_backend("torch")
    assert lamina.config.backend() == "torch"
    with pytest.raises(ValueError, match="torch backend only"):
        lamina.config.set_backend("jax")
