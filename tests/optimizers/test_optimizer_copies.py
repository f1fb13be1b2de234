"""A trained model copied with ``copy.deepcopy`` or ``pickle`` trains on like the original
(its variables keep their constraints and regularizers).

The optimizer finds its variables through tables keyed by their ``id()``; a copy holds new
variable objects, so those tables must be rebuilt (before, the copy's first step raised
"Unknown variable")."""

import copy
import pickle

import numpy as np
import pytest

import lamina
from lamina import layers

rng = np.random.default_rng(11)
X = rng.random((32, 4), dtype=np.float32)
Y = rng.random((32, 2), dtype=np.float32)


def _adam(model):
    return lamina.optimizers.Adam(0.01)


def _adamw_excluding_biases(model):
    optimizer = lamina.optimizers.AdamW(0.01, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[layer.bias for layer in model.layers])
    return optimizer


def _multi(model):
    return lamina.optimizers.MultiOptimizer(
        lamina.optimizers.OptimizerMap(lamina.optimizers.SGD(0.1), {"first/.*": lamina.optimizers.Adam(0.01)})
    )


COPIES = {"deepcopy": copy.deepcopy, "pickle": lambda model: pickle.loads(pickle.dumps(model))}


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("optimizer", [_adam, _adamw_excluding_biases, _multi])
def test_a_copied_trained_model_trains_on_like_the_original(how, optimizer):
    # The constraint and the regularizer ride on the variables: the copy must keep applying them.
    model = lamina.Sequential([
        lamina.Input((4,)),
        layers.Dense(8, activation="relu", kernel_constraint="non_neg", kernel_regularizer="l2", name="first"),
        layers.Dense(2, name="second"),
    ])
    model.compile(optimizer=optimizer(model), loss="mse")
    model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    clone = COPIES[how](model)
    trained = model.get_weights()
    clone.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for kept, now in zip(trained, model.get_weights()):
        np.testing.assert_array_equal(kept, now)  # the original is untouched
    model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(clone.optimizer.variables, model.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
