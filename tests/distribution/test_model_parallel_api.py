"""``ModelParallel`` / ``FullySharded`` / ``distribute_tensor`` and ``.weights.dcp`` files in one
process (the multi-process behaviour is in test_model_parallel.py)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import distribution, layers

FOUR = [f"cpu:{i}" for i in range(4)]


def _layout_map():
    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"], devices=FOUR)
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = ("model",)
    return layout_map


def _dense_model():
    lamina.utils.set_random_seed(0)
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(6), layers.LayerNormalization()])


def test_model_parallel_layouts():
    layout_map = _layout_map()
    strategy = distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    assert strategy.device_mesh is layout_map.device_mesh and strategy.layout_map is layout_map
    assert strategy.batch_dim_name == "batch" and strategy.num_model_replicas == 2
    assert strategy.get_data_layout((8, 3, 2)).axes == ("batch", None, None)
    model = _dense_model()
    kernel, bias, gamma, _ = model.weights
    assert strategy.get_variable_layout(kernel).axes == (None, "model")
    assert strategy.get_variable_layout(bias).axes == ("model",)
    assert strategy.get_variable_layout(gamma).axes == (None,)  # unmatched: replicated
    assert strategy.get_tensor_layout("dense/kernel").axes == (None, "model")
    # Keras's older `device_mesh=` argument is accepted and the layout map's mesh is used.
    other = distribution.DeviceMesh((4,), ["batch"], devices=FOUR)
    old_form = distribution.ModelParallel(device_mesh=other, layout_map=layout_map)
    assert old_form.device_mesh is layout_map.device_mesh and old_form.batch_dim_name == "batch"


def test_model_parallel_errors():
    with pytest.raises(ValueError, match="You must specify a layout_map"):
        distribution.ModelParallel()
    with pytest.raises(ValueError, match="must be a `LayoutMap` instance"):
        distribution.ModelParallel(layout_map={".*": (None,)})
    with pytest.raises(ValueError, match="`batch_dim_name` must be one of"):
        distribution.ModelParallel(layout_map=_layout_map(), batch_dim_name="data")
    with pytest.raises(TypeError):
        distribution.ModelParallel(_layout_map())  # keyword-only, as in Keras


def test_fully_sharded_layouts():
    strategy = distribution.FullySharded(devices=["cpu:0", "cpu:1"])
    assert strategy.device_mesh.shape == (2,) and strategy.batch_dim_name == "batch"
    model = _dense_model()
    assert [strategy.get_variable_layout(v).axes for v in model.weights] == [
        ("batch", None), ("batch",), ("batch",), ("batch",)]
    scalar = lamina.Variable(1.0, name="step")
    assert strategy.get_variable_layout(scalar).axes == ()
    with pytest.raises(ValueError, match="one-dimensional `DeviceMesh`"):
        distribution.FullySharded(device_mesh=_layout_map().device_mesh)


@pytest.mark.oracle
def test_layouts_match_keras(oracle):
    kd = oracle.distribution
    mesh = kd.DeviceMesh((1, 1), ["batch", "model"], devices=kd.list_devices()[:1])
    keras_map = kd.LayoutMap(mesh)
    keras_map[".*dense.*kernel"] = (None, "model")
    keras_strategy = kd.ModelParallel(layout_map=keras_map, batch_dim_name="batch")
    ours_mesh = distribution.DeviceMesh((1, 1), ["batch", "model"], devices=["cpu:0"])
    ours_map = distribution.LayoutMap(ours_mesh)
    ours_map[".*dense.*kernel"] = (None, "model")
    ours = distribution.ModelParallel(layout_map=ours_map, batch_dim_name="batch")
    keras_model = oracle.Sequential([oracle.Input((4,)), oracle.layers.Dense(6)])
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(6)])
    for theirs, mine in zip(keras_model.weights, model.weights):
        assert theirs.path == mine.path
        assert tuple(keras_strategy.get_variable_layout(theirs).axes) == ours.get_variable_layout(mine).axes
    assert tuple(keras_strategy.get_data_layout((8, 3)).axes) == ours.get_data_layout((8, 3)).axes
    assert keras_strategy.num_model_replicas == ours.num_model_replicas


def test_distribute_tensor_without_process_group():
    layout = distribution.TensorLayout([None, "model"], _layout_map().device_mesh)
    x = torch.arange(6.0).reshape(2, 3)
    assert distribution.distribute_tensor(x, layout) is x
    symbolic = lamina.Input((3,))
    assert distribution.distribute_tensor(symbolic, layout) is symbolic
    with pytest.raises(ValueError, match="`layout` must be a `TensorLayout`"):
        distribution.distribute_tensor(x, (None, "model"))


def test_training_without_process_group_is_plain(tmp_path):
    # One process: the distribution changes nothing, and `.weights.dcp` folders still round trip.
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model = _dense_model()
    model.compile(optimizer="sgd", loss="mse")
    reference = _dense_model()
    reference.compile(optimizer="sgd", loss="mse")
    with distribution.ModelParallel(layout_map=_layout_map()).scope():
        model.fit(x, x[:, :1] * np.ones((1, 6), "float32"), batch_size=8, epochs=1, shuffle=False, verbose=0)
    reference.fit(x, x[:, :1] * np.ones((1, 6), "float32"), batch_size=8, epochs=1, shuffle=False, verbose=0)
    for w, e in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(w, e)
    path = str(tmp_path / "w.weights.dcp")
    model.save_weights(path)
    fresh = _dense_model()
    fresh.set_weights([np.zeros_like(w) for w in fresh.get_weights()])
    fresh.load_weights(path)
    for w, e in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(w, e)
    other = lamina.Sequential([lamina.Input((4,)), layers.Dense(6), layers.Dense(2)])
    with pytest.raises(ValueError, match="another architecture"):
        other.load_weights(path)
    with pytest.raises(ValueError, match="No sharded checkpoint"):
        fresh.load_weights(str(tmp_path / "missing.weights.dcp"))


def test_model_checkpoint_accepts_sharded_folders(tmp_path):
    callback = lamina.callbacks.ModelCheckpoint(str(tmp_path / "ckpt.weights.dcp"), save_weights_only=True)
    model = _dense_model()
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 4), "float32")
    model.fit(x, np.ones((4, 6), "float32"), epochs=2, verbose=0, callbacks=[callback])
    assert (tmp_path / "ckpt.weights.dcp" / ".metadata").exists()
    with pytest.raises(ValueError, match=r"\.weights\.dcp"):
        lamina.callbacks.ModelCheckpoint(str(tmp_path / "x.ckpt"), save_weights_only=True)


def test_sharded_checkpoint_resumes_an_optimizer_that_has_not_run(tmp_path):
    # A fresh compiled model loading a `.weights.dcp` folder gets the optimizer's state too:
    # training then continues exactly as the saved model's does.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 6)).astype("float32")
    model = _dense_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "w.weights.dcp")
    model.save_weights(path)
    fresh = _dense_model()
    fresh.compile(optimizer="adam", loss="mse")
    assert not fresh.optimizer.built
    fresh.load_weights(path)
    assert int(fresh.optimizer.iterations.numpy()) == 2
    for mine, saved in zip(fresh.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(mine.numpy()), np.asarray(saved.numpy()))
    for m in (model, fresh):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for w, e in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(w, e)


@pytest.mark.parametrize("saved, loading", [
    ("adam", lambda: lamina.optimizers.SGD(momentum=0.9)),
    # Fewer optimizer variables in the checkpoint than the loading optimizer has.
    ("sgd", lambda: lamina.optimizers.Adam(0.5)),
])
def test_sharded_checkpoint_of_another_optimizer_loads_the_weights_and_skips_its_state(
    tmp_path, saved, loading
):
    x = np.ones((8, 4), "float32")
    model = _dense_model()
    model.compile(optimizer=saved, loss="mse")
    model.fit(x, np.ones((8, 6), "float32"), batch_size=8, verbose=0)
    path = str(tmp_path / "w.weights.dcp")
    model.save_weights(path)
    other = _dense_model()
    other.compile(optimizer=loading(), loss="mse")
    with pytest.warns(UserWarning, match="Skipping the optimizer state"):
        other.load_weights(path)
    for w, e in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(w, e)
    assert int(other.optimizer.iterations.numpy()) == 0
