"""`lamina.optimizers.legacy`: Keras 2 arguments (`lr`, `decay`) and Keras 2 update rules.

The oracle (Keras 3) only raises for these names, and Keras 2 needs TensorFlow, so the expected
values are Keras 2's documented formulas written out in numpy (float64)."""

import numpy as np
import pytest
import torch

import lamina
from lamina.optimizers import legacy

STEPS = 4


def _run(optimizer, seed=0):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(5).astype("float32")
    grads = [rng.standard_normal(5).astype("float32") for _ in range(STEPS)]
    w = lamina.Variable(initializer=w0, name="w")
    for g in grads:
        optimizer.apply([torch.from_numpy(g)], [w])
    return w0.astype("float64"), [g.astype("float64") for g in grads], w.numpy()


def test_names_match_keras_optimizers_legacy():
    assert sorted(legacy.__all__) == ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]
    assert legacy.Optimizer is lamina.optimizers.Optimizer
    assert lamina.optimizers.legacy is legacy


def test_sgd_lr_alias_and_time_decay():
    w, grads, got = _run(legacy.SGD(lr=0.1, momentum=0.5, decay=0.2))
    m = np.zeros_like(w)
    for t, g in enumerate(grads):
        lr = 0.1 / (1 + 0.2 * t)
        m = 0.5 * m - lr * g
        w = w + m
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adam_with_decay():
    w, grads, got = _run(legacy.Adam(lr=0.01, decay=0.5))
    m = v = np.zeros_like(w)
    for t, g in enumerate(grads):
        lr = 0.01 / (1 + 0.5 * t)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - lr * np.sqrt(1 - 0.999 ** (t + 1)) / (1 - 0.9 ** (t + 1)) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adagrad_puts_epsilon_outside_the_root():
    w, grads, got = _run(legacy.Adagrad(learning_rate=0.1, epsilon=0.5))
    acc = np.full_like(w, 0.1)
    for g in grads:
        acc = acc + g * g
        w = w - 0.1 * g / (np.sqrt(acc) + 0.5)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_without_momentum_puts_epsilon_outside_the_root(centered):
    w, grads, got = _run(legacy.RMSprop(learning_rate=0.01, epsilon=0.1, centered=centered))
    ms = mg = np.zeros_like(w)
    for g in grads:
        ms = 0.9 * ms + 0.1 * g * g
        mg = 0.9 * mg + 0.1 * g
        denominator = ms - mg * mg if centered else ms
        w = w - 0.01 * g / (np.sqrt(denominator) + 0.1)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_rmsprop_with_momentum_uses_the_fused_kernel_rule():
    w, grads, got = _run(legacy.RMSprop(learning_rate=0.01, momentum=0.5, epsilon=0.1))
    ms = mom = np.zeros_like(w)
    for g in grads:
        ms = 0.9 * ms + 0.1 * g * g
        mom = 0.5 * mom + 0.01 * g / np.sqrt(ms + 0.1)
        w = w - mom
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_config_round_trip_keeps_lr_and_decay():
    optimizer = legacy.Adam(lr=0.02, decay=0.1, beta_1=0.8)
    config = optimizer.get_config()
    assert config["learning_rate"] == 0.02 and config["decay"] == 0.1 and config["beta_1"] == 0.8
    rebuilt = legacy.Adam.from_config(config)
    assert rebuilt.get_config() == config
    assert legacy.SGD().get_config()["learning_rate"] == pytest.approx(0.01)
    assert legacy.Ftrl(lr=0.5).get_config()["decay"] == 0.0


def test_compile_and_fit_with_a_keras2_optimizer():
    x = np.random.default_rng(0).standard_normal((16, 3)).astype("float32")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer=legacy.SGD(lr=0.05, decay=1e-3), loss="mse")
    history = model.fit(x, x[:, :1], epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_invalid_arguments():
    with pytest.raises(ValueError, match="once"):
        legacy.Adam(learning_rate=0.1, lr=0.1)
    with pytest.raises(ValueError, match="decay"):
        legacy.SGD(decay=-1.0)
