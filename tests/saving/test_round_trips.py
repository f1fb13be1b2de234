"""Every layer survives save -> load_model with identical outputs and configs."""

import json
import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from layer_cases import CASES

def _data(shape, dtype):
    rng = np.random.default_rng(0)
    if dtype.startswith("int"):
        return rng.integers(0, 10, size=(2,) + shape).astype(dtype)
    return rng.standard_normal((2,) + shape).astype(dtype)


def _as_json(config):
    return json.loads(json.dumps(config))


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_round_trip(name, tmp_path):
    factory, shape, dtype = CASES[name]
    inputs = lamina.Input(shape, dtype=dtype)
    outputs = factory()(inputs)
    model = lamina.Model(inputs, outputs)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = _data(shape, dtype)
    torch.testing.assert_close(loaded(x), model(x))
    # Configs keep tuples (as Keras's do); the JSON file holds them as lists, as Keras's does.
    assert _as_json(loaded.get_config()) == _as_json(model.get_config())


def test_merging_and_shared_layers_round_trip(tmp_path):
    a, b = lamina.Input((4,)), lamina.Input((4,))
    shared = layers.Dense(3, name="shared")
    merged = layers.concatenate([shared(a), shared(b), layers.add([a, b])])
    out = layers.Dot(axes=1)([layers.Dense(2)(merged), layers.Dense(2)(merged)])
    model = lamina.Model([a, b], out)
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    x = [torch.randn(2, 4), torch.randn(2, 4)]
    torch.testing.assert_close(loaded(x), model(x))


@lamina.saving.register_keras_serializable(package="tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_registered_custom_layer_and_subclassed_model(tmp_path):
    x = lamina.Input((3,))
    model = lamina.Model(x, Scale(3.0)(layers.Dense(3)(x)))
    model.layers[-1].w.assign(np.array([1.0, 2.0, 3.0]))
    model.save(tmp_path / "c.keras")
    loaded = lamina.models.load_model(tmp_path / "c.keras")
    data = torch.randn(2, 3)
    torch.testing.assert_close(loaded(data), model(data))

    @lamina.saving.register_keras_serializable(package="tests")
    class TwoLayer(lamina.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.first = layers.Dense(units, activation="relu")
            self.second = layers.Dense(1)

        def call(self, inputs):
            return self.second(self.first(inputs))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    sub = TwoLayer(5)
    sub(data)
    sub.save(tmp_path / "sub.keras")
    again = lamina.models.load_model(tmp_path / "sub.keras")
    torch.testing.assert_close(again(data), sub(data))


def test_unregistered_custom_class_needs_custom_objects(tmp_path):
    class Plain(layers.Layer):
        def call(self, x):
            return x + 1

    x = lamina.Input((2,))
    model = lamina.Model(x, Plain()(x))
    model.save(tmp_path / "p.keras")
    with pytest.raises(ValueError, match="Plain"):
        lamina.models.load_model(tmp_path / "p.keras")
    loaded = lamina.models.load_model(tmp_path / "p.keras", custom_objects={"Plain": Plain})
    torch.testing.assert_close(loaded(torch.zeros(1, 2)), torch.ones(1, 2))


def test_compiled_model_continues_training_after_reload(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = rng.standard_normal((64, 1)).astype("float32")

    def make():
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential([lamina.Input((5,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    straight = make()
    straight.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)

    first = make()
    first.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = lamina.models.load_model(tmp_path / "half.keras")
    assert int(resumed.optimizer.iterations.numpy()) == 8
    resumed.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_models_with_operators_and_ops_round_trip(tmp_path):
    x = lamina.Input((3, 4))
    y = (x * 2.0 + 1.0)[:, 1:, ::2]
    z = lamina.ops.concatenate([lamina.ops.mean(y, axis=1), -abs(lamina.ops.max(x, axis=1))], axis=-1)
    model = lamina.Model(x, layers.Dense(2)(z))
    model.save(tmp_path / "ops.keras")
    loaded = lamina.models.load_model(tmp_path / "ops.keras")
    data = torch.randn(2, 3, 4)
    torch.testing.assert_close(loaded(data), model(data))
    assert loaded.get_config() == model.get_config()
