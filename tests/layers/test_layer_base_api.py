"""Keras's ``Layer`` base-class members: add_variable, input_dtype, path, metrics_variables, the
saving hooks extended with ``super()``, and the stateless / symbolic / rematerialized calls."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _dense_pair(oracle, units=3, features=4):
    keras_layer = oracle.layers.Dense(units)
    keras_layer.build((None, features))
    layer = layers.Dense(units)
    layer.build((None, features))
    layer.set_weights(keras_layer.get_weights())
    return keras_layer, layer


def test_add_variable_input_dtype_and_autocast():
    layer = layers.Layer(dtype="mixed_float16")
    v = layer.add_variable((2, 3), "ones", name="table")
    assert v in layer.weights and v.dtype == torch.float32
    assert layer.input_dtype == "float16" and layer.autocast
    frozen = layer.add_variable((2,), "zeros", trainable=False, name="count")
    assert frozen in layer.non_trainable_weights


@pytest.mark.oracle
def test_path_matches_keras(oracle):
    assert layers.Dense(2).path is None and oracle.layers.Dense(2).path is None
    keras_layer, layer = oracle.layers.Dense(2, name="head"), layers.Dense(2, name="head")
    keras_layer.build((None, 4))
    layer.build((None, 4))
    assert layer.path == keras_layer.path == "head"
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(2, name="inner")], name="outer")
    keras_model = oracle.Sequential([oracle.Input((4,)), oracle.layers.Dense(2, name="inner")], name="outer")
    assert model.layers[0].path == keras_model.layers[0].path == "outer/inner"


def test_metrics_variables():
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)
    names = sorted(v.name for v in model.metrics_variables)
    assert names == ["count", "count", "total", "total"]


class _Counter(layers.Layer):
    """A custom layer keeping a Python count beside its weight (as in Keras's saving guide)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.w = self.add_weight((2,), "ones", name="w")
        self.calls = 0

    def call(self, x):
        self.calls += 1
        return x * self.w

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["calls"] = np.array(self.calls)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.calls = int(np.asarray(store["calls"]))


def test_saving_hooks_extended_with_super(tmp_path):
    inputs = lamina.Input((2,))
    counter = _Counter()
    model = lamina.Model(inputs, counter(inputs))
    counter.w.assign(np.array([2.0, 3.0], "float32"))
    counter.calls = 5
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = _Counter()
    other = lamina.Model(inputs2 := lamina.Input((2,)), fresh(inputs2))
    other.load_weights(tmp_path / "m.weights.h5")
    assert fresh.calls == 5
    np.testing.assert_allclose(fresh.w.numpy(), [2.0, 3.0])
    store = {}
    dense = layers.Dense(2)
    dense.build((None, 3))
    dense.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    with pytest.raises(ValueError, match="expected 2 variables"):
        dense.load_own_variables({"0": store["0"]})


@pytest.mark.oracle
def test_stateless_call_matches_keras_and_changes_nothing(oracle):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4)).astype("float32")
    keras_bn = oracle.layers.BatchNormalization()
    keras_bn.build((None, 4))
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    trainable = [rng.standard_normal(v.shape).astype("float32") for v in keras_bn.trainable_variables]
    non_trainable = [np.abs(rng.standard_normal(v.shape)).astype("float32") for v in keras_bn.non_trainable_variables]
    k_out, k_state = keras_bn.stateless_call(trainable, non_trainable, x, training=True)
    out, state = bn.stateless_call(
        [torch.tensor(t) for t in trainable], [torch.tensor(t) for t in non_trainable], torch.tensor(x), training=True
    )
    np.testing.assert_allclose(out.detach().numpy(), np.asarray(k_out), rtol=1e-4, atol=1e-5)
    for a, b in zip(state, k_state):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)
    # The layer's own variables are untouched.
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.0)
    np.testing.assert_allclose(bn.gamma.numpy(), 1.0)
    with pytest.raises(ValueError, match="trainable_variables"):
        bn.stateless_call([], [], torch.tensor(x))
    with pytest.raises(ValueError, match="must be built"):
        layers.Dense(2).stateless_call([], [], torch.tensor(x))


@pytest.mark.oracle
def test_stateless_call_is_a_pure_function_for_torch_func(oracle):
    import jax

    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)).astype("float32")
    keras_layer, layer = _dense_pair(oracle)
    kernel, bias = (v.numpy() for v in layer.trainable_variables)

    def loss(kernel, bias):
        return (layer.stateless_call([kernel, bias], [], torch.tensor(x))[0] ** 2).sum()

    def keras_loss(kernel, bias):
        return (keras_layer.stateless_call([kernel, bias], [], x)[0] ** 2).sum()

    grads = torch.func.grad(loss, argnums=(0, 1))(torch.tensor(kernel), torch.tensor(bias))
    keras_grads = jax.grad(keras_loss, argnums=(0, 1))(kernel, bias)
    for g, k in zip(grads, keras_grads):
        np.testing.assert_allclose(g.numpy(), np.asarray(k), rtol=1e-4, atol=1e-5)
    assert layer.kernel.grad is None
    losses_layer = layers.Dense(2, kernel_regularizer="l2")
    losses_layer.build((None, 4))
    _, _, losses = losses_layer.stateless_call(
        [torch.zeros(4, 2), torch.zeros(2)], [], torch.tensor(x), return_losses=True
    )
    assert len(losses) == 1 and float(losses[0]) == 0.0


def test_stateless_call_returns_the_advanced_seed_state():
    layer = layers.Dropout(0.5, seed=3)
    state = [v.value.detach().clone() for v in layer.non_trainable_variables]
    x = torch.ones(2, 8)
    out1, new1 = layer.stateless_call([], state, x, training=True)
    out2, _ = layer.stateless_call([], state, x, training=True)
    torch.testing.assert_close(out1, out2)
    assert new1[0].tolist() == [3, 1]
    assert layer.seed_generator.state.numpy().tolist() == [3, 0]


@pytest.mark.oracle
def test_symbolic_call_gives_the_output_spec(oracle):
    layer = layers.Dense(3)
    spec = layer.symbolic_call(lamina.KerasTensor((None, 4)))
    keras_spec = oracle.layers.Dense(3).symbolic_call(oracle.KerasTensor((None, 4)))
    assert tuple(spec.shape) == tuple(keras_spec.shape) == (None, 3)
    assert layer._inbound_nodes == []


def test_rematerialized_call_wraps_only_under_a_remat_scope():
    layer = layers.Dense(2, activation="relu")
    assert layer.rematerialized_call(layer.call) == layer.call
    with lamina.RematScope(mode="full"):
        remat_layer = layers.Dense(2, activation="relu")
    remat_layer.build((None, 3))
    wrapped = remat_layer.rematerialized_call(remat_layer.call)
    assert wrapped is not remat_layer.call
    x = torch.randn(4, 3, requires_grad=True)
    torch.testing.assert_close(wrapped(x), remat_layer.call(x))
    wrapped(x).sum().backward()
    assert x.grad is not None
