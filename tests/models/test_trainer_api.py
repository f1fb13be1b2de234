"""Keras's ``Model`` members around training: compile_from_config, the step functions, the state
tree, the stateless loss computations, ``Variable.overwrite_with_gradient`` and
``Optimizer.stateless_apply``."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _pair(oracle, compile_args=None):
    keras_model = oracle.Sequential(
        [oracle.Input((3,), name="x"), oracle.layers.Dense(2, name="d"), oracle.layers.BatchNormalization(name="bn")],
        name="s",
    )
    model = lamina.Sequential(
        [lamina.Input((3,), name="x"), layers.Dense(2, name="d"), layers.BatchNormalization(name="bn")], name="s"
    )
    model.set_weights(keras_model.get_weights())
    if compile_args:
        keras_model.compile(**compile_args)
        model.compile(**compile_args)
    return keras_model, model


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 3)).astype("float32"), rng.standard_normal((6, 2)).astype("float32")


def test_sequential_has_run_eagerly():
    model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
    assert model.run_eagerly is False
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    assert model.run_eagerly is True
    model.run_eagerly = False
    assert model.run_eagerly is False


@pytest.mark.oracle
def test_compile_from_config(oracle):
    _, model = _pair(oracle)
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    _, fresh = _pair(oracle)
    fresh.set_weights(model.get_weights())
    fresh.compile_from_config(model.get_compile_config())
    assert fresh.compiled and isinstance(fresh.optimizer, lamina.optimizers.Adam)
    assert float(fresh.optimizer.learning_rate) == pytest.approx(0.01)
    assert fresh.optimizer.built
    x, y = _data()
    np.testing.assert_allclose(
        fresh.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
    )

    class CustomCompile(lamina.Model):
        def compile(self, *args, **kwargs):
            super().compile(*args, **kwargs)

    inputs = lamina.Input((2,))
    custom = CustomCompile(inputs, layers.Dense(1)(inputs))
    with pytest.warns(UserWarning, match="custom"):
        custom.compile_from_config({"optimizer": "sgd", "loss": "mse"})
    assert not getattr(custom, "compiled", False)


def test_step_functions():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    train = model.make_train_function()
    assert model.train_function is train and model.make_train_function() is train
    assert model.make_train_function(force=True) is not train
    before = model.get_weights()[0].copy()
    logs = model.train_function((torch.tensor(x), torch.tensor(y)))
    assert "loss" in logs and not np.allclose(model.get_weights()[0], before)
    after = model.get_weights()[0].copy()
    logs = model.make_test_function()((torch.tensor(x), torch.tensor(y)))
    assert "loss" in logs and np.allclose(model.get_weights()[0], after)
    out = model.make_predict_function()((torch.tensor(x),))
    torch.testing.assert_close(out, model(torch.tensor(x)))


@pytest.mark.oracle
def test_state_tree_matches_keras(oracle):
    keras_model, model = _pair(oracle, {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]})
    x, y = _data()
    keras_model.fit(x, y, verbose=0, batch_size=6)
    model.fit(x, y, verbose=0, batch_size=6)
    tree = model.get_state_tree("numpy_array")
    keras_tree = keras_model.get_state_tree("numpy_array")
    assert sorted(tree) == sorted(keras_tree)
    for group in ("trainable_variables", "non_trainable_variables", "metrics_variables"):
        assert _keys(tree[group]) == _keys(keras_tree[group]), group
    np.testing.assert_allclose(tree["trainable_variables"]["s"]["d"]["kernel"],
                               keras_tree["trainable_variables"]["s"]["d"]["kernel"], rtol=1e-4, atol=1e-5)
    # set_state_tree writes every group back, including the optimizer's.
    zeros = {
        "trainable_variables": {"s": {"d": {"kernel": np.zeros((3, 2), "float32")}}},
        "metrics_variables": {k: {n: np.zeros(()) for n in v} for k, v in tree["metrics_variables"].items()},
    }
    model.set_state_tree(zeros)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), 0.0)
    with pytest.raises(ValueError, match="Unknown variable name"):
        model.set_state_tree({"nope": {}})
    assert isinstance(model.get_state_tree()["trainable_variables"]["s"]["d"]["bias"], torch.Tensor)


def _keys(tree, prefix=""):
    out = set()
    for k, v in tree.items():
        if isinstance(v, dict):
            out |= _keys(v, f"{prefix}{k}/")
        else:
            out.add(f"{prefix}{k}")
    return out


@pytest.mark.oracle
def test_compute_loss_and_updates_matches_keras(oracle):
    import jax

    keras_model, model = _pair(oracle, {"optimizer": "sgd", "loss": "mse"})
    x, y = _data()
    kt = [v.numpy() for v in keras_model.trainable_variables]
    knt = [v.numpy() for v in keras_model.non_trainable_variables]
    km = [v.numpy() for v in keras_model.metrics_variables]

    keras_model.optimizer.build(keras_model.trainable_variables)
    kopt = [v.numpy() for v in keras_model.optimizer.variables]

    def keras_fn(trainable):
        return keras_model.compute_loss_and_updates(trainable, knt, km, x, y, None, training=True,
                                                    optimizer_variables=kopt)

    (k_loss, (_, k_pred, k_nt, _)), k_grads = jax.value_and_grad(keras_fn, has_aux=True)(kt)
    t = [torch.tensor(v) for v in kt]
    nt = [torch.tensor(v) for v in knt]
    m = [v.detach().clone() for v in model.metrics_variables]

    def fn(trainable):
        loss, aux = model.compute_loss_and_updates(trainable, nt, m, torch.tensor(x), torch.tensor(y), None,
                                                   training=True)
        return loss, aux

    grads, (loss, (_, pred, new_nt, _)) = torch.func.grad_and_value(fn, has_aux=True)(t)
    np.testing.assert_allclose(float(loss), float(k_loss), rtol=1e-5)
    np.testing.assert_allclose(pred.detach().numpy(), np.asarray(k_pred), rtol=1e-4, atol=1e-5)
    for a, b in zip(new_nt, k_nt):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)
    for a, b in zip(grads, k_grads):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-4, atol=1e-5)
    # Nothing changed in the model.
    for v, w in zip(model.non_trainable_variables, knt):
        np.testing.assert_allclose(v.numpy(), w)
    loss2, _ = model.stateless_compute_loss(t, nt, m, x=torch.tensor(x), y=torch.tensor(y), y_pred=pred.detach())
    np.testing.assert_allclose(float(loss2), float(k_loss), rtol=1e-5)


def test_overwrite_with_gradient():
    layer = layers.Layer()
    v = layer.add_weight((2,), "zeros", overwrite_with_gradient=True, name="history")
    assert v.overwrite_with_gradient is True
    optimizer = lamina.optimizers.SGD(0.1)
    optimizer.apply([torch.tensor([3.0, 4.0])], [v])
    np.testing.assert_allclose(v.numpy(), [3.0, 4.0])
    v.overwrite_with_gradient = False
    with pytest.raises(TypeError, match="boolean"):
        v.overwrite_with_gradient = 1


@pytest.mark.oracle
def test_optimizer_stateless_apply_matches_keras(oracle):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((3, 2)).astype("float32"), rng.standard_normal(2).astype("float32")]
    grads = [rng.standard_normal((3, 2)).astype("float32"), rng.standard_normal(2).astype("float32")]
    keras_vars = [oracle.Variable(w) for w in weights]
    variables = [lamina.Variable(w) for w in weights]
    keras_opt, opt = oracle.optimizers.Adam(0.1), lamina.optimizers.Adam(0.1)
    keras_opt.build(keras_vars)
    opt.build(variables)
    k_new, k_state = keras_opt.stateless_apply([v.numpy() for v in keras_opt.variables], grads, weights)
    new, state = opt.stateless_apply([v.detach().clone() for v in opt.variables],
                                     [torch.tensor(g) for g in grads], [torch.tensor(w) for w in weights])
    for a, b in zip(new, k_new):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert len(state) == len(k_state)
    for a, b in zip(variables, weights):
        np.testing.assert_allclose(a.numpy(), b)
    assert int(opt.iterations) == 0
    with pytest.raises(ValueError, match="must be built"):
        lamina.optimizers.SGD().stateless_apply([], [], [])
