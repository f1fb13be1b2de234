"""`MultiOptimizer` and `OptimizerMap` against Keras 3 (JAX), and their checks."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers


def _model(module):
    x = module.Input((4,))
    h = module.layers.Dense(3, name="enc")(x)
    return module.Model(x, module.layers.Dense(1, name="dec")(h))


def _multi(module):
    # The key Keras's documentation would use: a functional model's variables are "enc/kernel"...
    optimizer_map = module.optimizers.OptimizerMap(
        module.optimizers.SGD(0.1, momentum=0.5, name="sgd"),
        {"enc/.*": module.optimizers.Adam(0.01, name="adam")},
    )
    return module.optimizers.MultiOptimizer(optimizer_map, name="multi")


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 4)).astype("float32"), rng.standard_normal((16, 1)).astype("float32")


def _twins(oracle):
    ref, ours = _model(oracle), _model(lamina)
    ours.set_weights([np.asarray(w) for w in ref.get_weights()])
    ref.compile(optimizer=_multi(oracle), loss="mse")
    ours.compile(optimizer=_multi(lamina), loss="mse")
    return ref, ours


@pytest.mark.oracle
def test_training_state_config_and_files_match_keras(oracle, tmp_path):
    x, y = _data()
    ref, ours = _twins(oracle)
    fit = dict(epochs=2, batch_size=4, shuffle=False, verbose=0)
    ref.fit(x, y, **fit)
    ours.fit(x, y, **fit)
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    k_vars, l_vars = ref.optimizer.variables, ours.optimizer.variables
    assert [v.path for v in l_vars] == [v.path for v in k_vars]
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-5, atol=1e-6)
    assert ours.optimizer.get_config() == ref.optimizer.get_config()
    assert int(ours.optimizer.iterations) == 8

    ref.save(tmp_path / "keras.keras")
    ours.save(tmp_path / "lamina.keras")
    loaded = lamina.models.load_model(tmp_path / "keras.keras")
    assert isinstance(loaded.optimizer, optimizers.MultiOptimizer)
    assert [type(o).__name__ for o in loaded.optimizer.optimizers] == ["Adam", "SGD"]
    for a, b in zip(loaded.optimizer.variables, k_vars):
        np.testing.assert_array_equal(a.numpy(), np.asarray(b.numpy()))
    back = oracle.models.load_model(tmp_path / "lamina.keras")
    for a, b in zip(back.optimizer.variables, l_vars):
        np.testing.assert_array_equal(np.asarray(a.numpy()), b.numpy())
    # Training goes on identically after the round trips.
    loaded.fit(x, y, **fit)
    back.fit(x, y, **fit)
    for a, b in zip(loaded.get_weights(), back.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)


def test_optimizer_map_lookup_rules():
    sgd, adam, rms = optimizers.SGD(), optimizers.Adam(), optimizers.RMSprop()
    optimizer_map = optimizers.OptimizerMap(default_optimizer=rms)
    optimizer_map["encoder/layer_0/dense"] = adam
    optimizer_map["encoder/.*"] = sgd
    optimizer_map["decoder"] = adam
    assert optimizer_map["decoder"] is adam
    assert optimizer_map["encoder/layer_0/dense"] is adam  # the exact key wins over the pattern
    assert optimizer_map["encoder/layer_0/attention/query"] is sgd
    assert optimizer_map["decoder/layer_0/dense"] is rms
    assert len(optimizer_map) == 3 and set(optimizer_map) == {"encoder/layer_0/dense", "encoder/.*", "decoder"}
    optimizer_map["enc.*"] = rms
    with pytest.raises(ValueError, match="Multiple optimizers"):
        optimizer_map["encoder/x"]
    with pytest.raises(ValueError, match="already exists"):
        optimizer_map["decoder"] = sgd
    with pytest.raises(ValueError, match="cannot be a LossScaleOptimizer"):
        optimizer_map["x"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    with pytest.raises(ValueError, match="cannot be a MultiOptimizer"):
        optimizer_map["y"] = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    with pytest.raises(TypeError, match="default_optimizer"):
        optimizers.OptimizerMap("sgd")


def test_a_callable_selects_the_optimizers_and_the_rate_is_not_shared():
    sgd, adam = optimizers.SGD(0.5, name="sgd"), optimizers.Adam(0.1, name="adam")
    multi = optimizers.MultiOptimizer(lambda v: adam if "bias" in v.path else sgd, loss_scale_factor=2.0)
    w = lamina.Variable(initializer=np.ones(2, "float32"), name="kernel")
    b = lamina.Variable(initializer=np.ones(2, "float32"), name="bias")
    multi.apply([torch.full((2,), 2.0), torch.full((2,), 2.0)], [w, b])
    np.testing.assert_allclose(w.numpy(), [0.5, 0.5])  # SGD on the unscaled gradient 1.0
    np.testing.assert_allclose(b.numpy(), [0.9, 0.9], rtol=1e-5)  # Adam's first step is ~lr
    assert multi.optimizers == [sgd, adam] and sgd.loss_scale_factor == adam.loss_scale_factor == 2.0
    assert int(multi.iterations) == int(sgd.iterations) == 1
    with pytest.raises(AttributeError, match="sub-optimizers"):
        multi.learning_rate
    with pytest.raises(AttributeError, match="sub-optimizers"):
        multi.learning_rate = 0.1
    with pytest.raises(ValueError, match="one-to-one"):
        multi.apply([torch.ones(2)], [w])
    weights = [v.numpy() for v in multi.variables]
    weights[-1] = np.full(2, 3.0, "float32")  # adam's last slot
    multi.set_weights(weights)
    np.testing.assert_array_equal(adam.variables[-1].numpy(), [3.0, 3.0])
    with pytest.raises(TypeError, match="optimizer_map"):
        optimizers.MultiOptimizer("adam")
