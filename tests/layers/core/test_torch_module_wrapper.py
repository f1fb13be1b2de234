"""Tests for lamina.layers.core.torch_module_wrapper.TorchModuleWrapper (no oracle: Keras's
version needs the torch backend, the oracle runs on JAX)."""

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving import serialization_lib


def _data(n=64, features=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _model(module=None):
    inputs = lamina.Input((8,))
    wrapper = layers.TorchModuleWrapper(module or torch.nn.Linear(8, 4), name="torch_linear")
    outputs = layers.Dense(1)(layers.Activation("relu")(wrapper(inputs)))
    return lamina.Model(inputs, outputs), wrapper


def test_parameters_become_tracked_weights():
    linear = torch.nn.Linear(8, 4)
    layer = layers.TorchModuleWrapper(linear)
    assert layer.built
    assert [w.name for w in layer.weights] == ["weight", "bias"]
    assert [tuple(w.shape) for w in layer.weights] == [(4, 8), (4,)]
    # The module computes with the variables themselves: no copies to keep in sync.
    assert linear.weight is layer.weights[0] and isinstance(linear.weight, lamina.Variable)
    x = np.ones((2, 8), "float32")
    weights = [np.full((4, 8), 0.5, "float32"), np.arange(4, dtype="float32")]
    layer.set_weights(weights)
    np.testing.assert_allclose(layer(x).detach().numpy(), x @ weights[0].T + weights[1])
    np.testing.assert_array_equal(layer.get_weights()[1], weights[1])


def test_functional_model_trains_with_fit():
    model, wrapper = _model()
    assert [w.path for w in model.trainable_weights][:2] == [
        "torch_linear/weight",
        "torch_linear/bias",
    ]
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    x, y = _data()
    before = [w.copy() for w in wrapper.get_weights()]
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(not np.allclose(a, b) for a, b in zip(before, wrapper.get_weights()))


def test_weights_file_round_trip_in_keras_layout(tmp_path):
    model, wrapper = _model()
    x, _ = _data(8)
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as f:
        # Keras stores the module's state_dict under its own names.
        assert sorted(f["layers/torch_module_wrapper/vars"].keys()) == ["bias", "weight"]
    other, _ = _model()
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_model_file_round_trip_needs_safe_mode_off(tmp_path):
    model, _ = _model()
    model.compile("adam", "mse")
    x, y = _data(16)
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    with pytest.raises(ValueError, match="torch_linear.*pickle.*safe_mode=False"):
        lamina.saving.load_model(path)
    restored = lamina.saving.load_model(path, safe_mode=False)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    wrapper = restored.get_layer("torch_linear")
    assert isinstance(wrapper.module.weight, lamina.Variable)
    assert wrapper.module.weight is wrapper.weights[0]
    restored.fit(x, y, epochs=1, verbose=0)


def test_config_and_safe_mode():
    layer = layers.TorchModuleWrapper(torch.nn.Linear(3, 2), output_shape=(None, 2), name="w")
    config = layer.get_config()
    assert set(config) == {"name", "trainable", "dtype", "module", "output_shape"}
    assert isinstance(config["module"], str) and config["output_shape"] == (None, 2)
    # A direct from_config call, outside any loading scope, is treated as safe mode.
    with pytest.raises(ValueError, match="arbitrary code"):
        layers.TorchModuleWrapper.from_config(config)
    with serialization_lib.SafeModeScope(True):
        with pytest.raises(ValueError, match="arbitrary code"):
            layers.TorchModuleWrapper.from_config(config, safe_mode=None)
    with pytest.raises(ValueError, match="arbitrary code"):
        layers.deserialize(layers.serialize(layer))
    again = layers.TorchModuleWrapper.from_config(config, safe_mode=False)
    np.testing.assert_array_equal(again.get_weights()[0], layer.get_weights()[0])
    # The pickle names only torch classes, never Lamina's (Keras's torch backend can read it).
    assert b"lamina" not in __import__("base64").b64decode(config["module"])
    # A module object (not a pickle) needs no unpickling.
    live = layers.TorchModuleWrapper.from_config({**config, "module": torch.nn.Linear(3, 2)})
    assert isinstance(live.module, torch.nn.Linear)


def test_lazy_module_is_materialized_at_build():
    layer = layers.TorchModuleWrapper(torch.nn.LazyLinear(3))
    assert not layer.built and layer.weights == []
    out = layer(lamina.Input((5,)))
    assert out.shape == (None, 3)
    assert [tuple(w.shape) for w in layer.weights] == [(3, 5), (3,)]
    eager = layers.TorchModuleWrapper(torch.nn.LazyLinear(2))
    assert tuple(eager(np.ones((4, 7), "float32")).shape) == (4, 2)
    assert isinstance(eager.module.weight, lamina.Variable)


def test_symbolic_shapes_from_fake_tensors_or_output_shape():
    conv = layers.TorchModuleWrapper(torch.nn.Conv1d(3, 6, 2))
    assert conv(lamina.Input((3, 10))).shape == (None, 6, 9)
    declared = layers.TorchModuleWrapper(torch.nn.Linear(4, 2), output_shape=(None, 2))
    assert declared(lamina.Input((4,))).shape == (None, 2)
    assert declared.output_shape == (None, 2)
    assert declared.compute_output_shape((None, 4)) == (None, 2)


def test_several_inputs():
    bilinear = layers.TorchModuleWrapper(torch.nn.Bilinear(3, 4, 2))
    a, b = lamina.Input((3,)), lamina.Input((4,))
    out = bilinear(a, b)
    assert out.shape == (None, 2)
    model = lamina.Model([a, b], out)
    got = model.predict([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")], verbose=0)
    assert got.shape == (2, 2)


def test_buffers_are_saved_and_training_flag_switches_modes(tmp_path):
    inputs = lamina.Input((4,))
    wrapper = layers.TorchModuleWrapper(torch.nn.BatchNorm1d(4), name="bn")
    model = lamina.Model(inputs, wrapper(inputs))
    assert [w.name for w in wrapper.weights] == ["weight", "bias"]
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(32, 4)).astype("float32")
    wrapper(x, training=True)  # updates the running statistics
    assert not np.allclose(wrapper.module.running_mean.numpy(), 0)
    inference = wrapper(x, training=False).detach().numpy()
    assert not wrapper.module.training
    path = str(tmp_path / "bn.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as f:
        assert "running_mean" in f["layers/torch_module_wrapper/vars"]
    inputs = lamina.Input((4,))
    other = layers.TorchModuleWrapper(torch.nn.BatchNorm1d(4), name="bn")
    lamina.Model(inputs, other(inputs)).load_weights(path)
    np.testing.assert_allclose(other(x, training=False).detach().numpy(), inference, rtol=1e-6)


def test_load_rejects_mismatched_state(tmp_path):
    model, _ = _model()
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    other, _ = _model(torch.nn.Sequential(torch.nn.Linear(8, 4)))
    with pytest.raises(ValueError, match="torch_linear"):
        other.load_weights(path)


def test_tied_parameters_and_trainable_flag():
    first = torch.nn.Linear(4, 4, bias=False)
    second = torch.nn.Linear(4, 4, bias=False)
    second.weight = first.weight
    layer = layers.TorchModuleWrapper(torch.nn.Sequential(first, second))
    assert [w.name for w in layer.weights] == ["0.weight"]
    assert first.weight is second.weight is layer.weights[0]
    frozen = layers.TorchModuleWrapper(torch.nn.Linear(2, 2), trainable=False)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    assert not frozen.module.weight.requires_grad


def test_invalid_module():
    with pytest.raises(ValueError, match="torch.nn.Module"):
        layers.TorchModuleWrapper(lambda x: x)
    with pytest.raises(ValueError, match="output_shape"):
        layers.TorchModuleWrapper(torch.nn.Linear(2, 2), output_shape="big")
