"""Recurrent models across the Keras file format (both directions) and trained with fit."""

import numpy as np
import pytest

import lamina

IDS = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 1, 0, 0, 0]], "int32")


def _model(lib):
    return lib.Sequential([
        lib.Input((5,), dtype="int32"),
        lib.layers.Embedding(20, 6, mask_zero=True),
        lib.layers.LSTM(4, return_sequences=True),
        lib.layers.RNN([lib.layers.GRUCell(3), lib.layers.SimpleRNNCell(2)], go_backwards=True),
        lib.layers.Dense(2),
    ])


def _close(actual, expected):
    np.testing.assert_allclose(actual.detach().numpy(), np.asarray(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_keras_saved_recurrent_model_loads_in_lamina(oracle, tmp_path):
    ref = _model(oracle)
    ref.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    _close(loaded(IDS), ref(IDS))
    assert [w.path for w in loaded.layers[1].weights] == [w.path for w in ref.layers[1].weights]
    ref.save_weights(tmp_path / "k.weights.h5")
    fresh = _model(lamina)
    fresh.load_weights(tmp_path / "k.weights.h5")
    _close(fresh(IDS), ref(IDS))


@pytest.mark.oracle
def test_lamina_saved_recurrent_model_loads_in_keras(oracle, tmp_path):
    model = _model(lamina)
    model.save(tmp_path / "l.keras")
    ref = oracle.models.load_model(tmp_path / "l.keras")
    _close(model(IDS), ref(IDS))
    model.save_weights(tmp_path / "l.weights.h5")
    other = _model(oracle)
    other.load_weights(tmp_path / "l.weights.h5")
    _close(model(IDS), other(IDS))


@pytest.mark.oracle
def test_fit_embedding_lstm_matches_oracle(oracle):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, size=(16, 7)).astype("int32")
    x[::3, 4:] = 0  # right-padded rows: the fused kernel runs packed sequences
    y = rng.integers(0, 3, size=(16,)).astype("int64")

    def build(lib):
        return lib.Sequential([
            lib.Input((7,), dtype="int32"),
            lib.layers.Embedding(20, 5, mask_zero=True),
            lib.layers.LSTM(6),
            lib.layers.Dense(3, activation="softmax"),
        ])

    km, lm = build(oracle), build(lamina)
    lm.set_weights(km.get_weights())
    for model in (km, lm):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    kh = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    lh = lm.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(lh.history["loss"], kh.history["loss"], rtol=1e-5, atol=1e-6)
    for a, e in zip(lm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    assert not np.allclose(lm.layers[1].get_weights()[0], build(lamina).layers[1].get_weights()[0])
