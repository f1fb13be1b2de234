"""``BatchNormalization`` inside ``compile``/``fit``/``evaluate``/``predict``, against Keras 3 (JAX)."""

import numpy as np
import pytest

import lamina

pytestmark = pytest.mark.oracle


def _model(lib):
    return lib.Sequential([
        lib.Input((4,)),
        lib.layers.Dense(6),
        lib.layers.BatchNormalization(momentum=0.8),
        lib.layers.Activation("relu"),
        lib.layers.Dense(2),
        lib.layers.BatchNormalization(center=False),
    ])


def test_fit_updates_moving_statistics_like_keras(oracle):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(20, 4)) * 3 + 1).astype("float32")
    y = rng.normal(size=(20, 2)).astype("float32")
    ref, model = _model(oracle), _model(lamina)
    model.set_weights(ref.get_weights())
    ref.compile(optimizer="sgd", loss="mse")
    model.compile(optimizer="sgd", loss="mse")
    kh = ref.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    lh = model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(lh.history["loss"], kh.history["loss"], rtol=1e-5)
    names = [v.path for v in ref.weights]
    for a, b, name in zip(model.get_weights(), ref.get_weights(), names):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean.numpy(), 0)
    # predict and evaluate normalize with the moving statistics and leave them alone.
    before = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), ref.evaluate(x, y, verbose=0), rtol=1e-5)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_frozen_batch_normalization_keeps_statistics_in_fit(oracle):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 4)).astype("float32")
    y = rng.normal(size=(12, 2)).astype("float32")
    ref, model = _model(oracle), _model(lamina)
    model.set_weights(ref.get_weights())
    for m in (ref, model):
        m.layers[1].trainable = False
        m.compile(optimizer="sgd", loss="mse")
    ref.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.layers[1].moving_mean.numpy(), np.zeros(6))
