"""The Layer base class: weights, trainability, losses, config, node API, dtype policies."""

import copy
import pickle

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class Linear(layers.Layer):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, inputs):
        self.count.assign_add(1.0)
        return inputs @ self.w + self.b


def test_custom_layer_weights_after_call():
    layer = Linear(3)
    assert not layer.built and layer.weights == []
    y = layer(np.ones((2, 4), "float32"))
    assert layer.built and y.shape == (2, 3)
    np.testing.assert_allclose(y.detach().numpy(), 4.0)
    assert [w.name for w in layer.weights] == ["w", "b", "count"]
    assert [w.name for w in layer.trainable_weights] == ["w", "b"]
    assert [w.name for w in layer.non_trainable_weights] == ["count"]
    assert layer.weights[0].path == f"{layer.name}/w"
    assert float(layer.count.numpy()) == 1.0
    assert isinstance(layer.w, lamina.Variable) and isinstance(layer.w, torch.nn.Parameter)
    assert not layer.count.requires_grad


def test_trainable_setter_freezes_nested_layers():
    inner = Linear(2)
    outer = lamina.Sequential([layers.Dense(3, input_shape=(2,)), inner])
    outer(np.ones((1, 2), "float32"))
    outer.trainable = False
    assert outer.trainable_weights == [] and not inner.trainable
    assert all(not w.requires_grad for w in outer.weights)
    outer.trainable = True
    assert len(outer.trainable_weights) == 4
    assert not inner.count.requires_grad


def test_set_weights_errors_name_the_weight():
    layer = Linear(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expects 3 weights"):
        layer.set_weights([np.ones((3, 2))])
    with pytest.raises(ValueError, match="weight 'w' has shape \\(3, 2\\)"):
        layer.set_weights([np.ones((2, 2)), np.ones(2), np.ones(())])


def test_add_loss_is_reset_per_call_and_regularizers_are_counted():
    class WithLoss(layers.Layer):
        def call(self, x):
            self.add_loss(x.sum())
            return x

    layer = WithLoss()
    layer(torch.ones(2, 2))
    layer(torch.ones(2, 2))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == 4.0
    dense = layers.Dense(2, kernel_regularizer=lamina.regularizers.L2(0.1), activity_regularizer="l2")
    x = torch.ones(4, 3)
    y = dense(x)
    losses = dense.losses
    assert len(losses) == 2
    np.testing.assert_allclose(float(losses[0]), 0.01 * float((y**2).sum()) / 4, rtol=1e-5)
    np.testing.assert_allclose(float(losses[1]), 0.1 * float((dense.kernel**2).sum()), rtol=1e-5)


def test_nested_layer_losses_collected_by_model():
    x = lamina.Input((3,))
    y = layers.Dense(2, kernel_regularizer="l1")(x)
    model = lamina.Model(x, y)
    model(np.ones((2, 3), "float32"))
    assert len(model.losses) == 1


def test_add_metric_keras2():
    class M(layers.Layer):
        def call(self, x):
            self.add_metric(x.mean(), name="mean_act")
            return x

    layer = M()
    layer(torch.ones(2))
    layer(torch.zeros(2))
    assert [m.name for m in layer.metrics] == ["mean_act"]
    assert float(layer.metrics[0].result()) == pytest.approx(0.5)


def test_training_flag_propagates_to_nested_layers():
    seen = []

    class Probe(layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    probe = Probe()
    model = lamina.Sequential([layers.Dense(2, input_shape=(2,)), probe])
    seen.clear()
    model(np.ones((1, 2), "float32"), training=True)
    model(np.ones((1, 2), "float32"))
    probe(np.ones((1, 2), "float32"), training=False)
    assert seen == [True, None, False]


def test_auto_config_for_simple_custom_layers():
    layer = Linear(5, name="lin")
    config = layer.get_config()
    assert config["units"] == 5 and config["name"] == "lin"
    clone = Linear.from_config(config)
    assert clone.units == 5 and clone.name == "lin"

    class Unserializable(layers.Layer):
        def __init__(self, fn, **kwargs):
            super().__init__(**kwargs)

    with pytest.raises(NotImplementedError, match="get_config"):
        Unserializable(object()).get_config()


def test_unknown_kwargs_and_bad_names():
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        Linear(2, foo=1)
    with pytest.raises(ValueError, match="name"):
        Linear(2, name="a/b")


def test_node_api():
    a = lamina.Input((4,), name="a")
    b = lamina.Input((4,), name="b")
    shared = layers.Dense(3)
    ya, yb = shared(a), shared(b)
    assert shared.get_input_at(0) is a and shared.get_input_at(1) is b
    assert shared.get_output_at(1) is yb
    assert shared.get_input_shape_at(0) == (None, 4)
    assert shared.get_output_shape_at(1) == (None, 3)
    with pytest.raises(AttributeError, match="multiple inbound nodes"):
        shared.output
    single = layers.Dense(2)
    out = single(ya)
    assert single.input is ya and single.output is out
    assert single.input_shape == (None, 3) and single.output_shape == (None, 2)
    with pytest.raises(ValueError, match="only 1 inbound"):
        single.get_output_at(3)
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output


def test_input_shape_kwargs_forms():
    assert layers.Dense(2, input_shape=(3,)).input_shape == (None, 3)
    assert layers.Dense(2, input_dim=3).input_shape == (None, 3)
    assert layers.Dense(2, batch_input_shape=(8, 3)).input_shape == (8, 3)
    assert layers.Dense(2, input_shape=(3,), batch_size=4).input_shape == (4, 3)


def test_numpy_float64_inputs_are_cast_to_compute_dtype():
    y = layers.Dense(2)(np.ones((1, 3)))
    assert y.dtype == torch.float32


def test_mixed_precision_policy():
    layer = layers.Dense(2, dtype="mixed_bfloat16")
    y = layer(torch.ones(2, 3))
    assert layer.kernel.dtype == torch.float32
    assert y.dtype == torch.bfloat16
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        assert layers.Dense(1).dtype_policy.name == "mixed_bfloat16"
    finally:
        lamina.mixed_precision.set_global_policy(None)
    assert layers.Dense(1).dtype_policy.name == "float32"
    half = layers.Dense(2, dtype="float64")
    assert half(np.ones((1, 3))).dtype == torch.float64


def test_variable_api():
    v = lamina.Variable(initializer=np.ones((2, 2)), name="v")
    assert v.name == "v" and v.shape == (2, 2) and v.dtype == torch.float32
    v.assign(np.zeros((2, 2)))
    v.assign_add(np.full((2, 2), 3.0))
    v.assign_sub(np.ones((2, 2)))
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones(3))
    v.trainable = False
    assert not v.requires_grad
    w = lamina.Variable(initializer="ones", shape=(3,), dtype="float64")
    assert w.dtype == torch.float64 and w.dtype_name == "float64"
    assert isinstance(copy.deepcopy(w), lamina.Variable)
    restored = pickle.loads(pickle.dumps(v))
    assert restored.name == "v" and not restored.trainable


def test_state_dict_and_module_integration():
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    keys = list(model.state_dict())
    assert keys == [f"{l.name}.{w}" for l in model.layers for w in ("kernel", "bias")]
    assert len(list(model.parameters())) == 4
    clone = copy.deepcopy(model)
    x = torch.randn(2, 3)
    torch.testing.assert_close(clone(x), model(x))
