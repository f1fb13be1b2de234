"""The ``lamina.distribution`` objects: meshes, layouts, layout maps, the current distribution."""

import numpy as np
import pytest

import lamina
from lamina import distribution


def test_exposed_on_lamina():
    assert lamina.distribution is distribution
    for name in ("ModelParallel", "FullySharded", "distribute_tensor"):
        assert name in distribution.__all__ and hasattr(distribution, name)


def test_list_devices_without_process_group():
    assert distribution.list_devices("cpu") == ["cpu:0"]
    assert distribution.list_devices("CPU") == ["cpu:0"]
    devices = distribution.list_devices()
    assert devices and all(d.split(":")[0] in ("cpu", "cuda") for d in devices)
    assert distribution.get_device_count() == len(devices)
    with pytest.raises(ValueError, match="Invalid `device_type`"):
        distribution.list_devices("tpu9")


def test_device_mesh():
    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"], devices=[f"cpu:{i}" for i in range(4)])
    assert mesh.shape == (2, 2) and mesh.axis_names == ["batch", "model"]
    assert mesh.devices.shape == (2, 2) and mesh.devices[1, 0] == "cpu:2"
    assert distribution.DeviceMesh((1,), ["batch"]).devices.tolist() == distribution.list_devices()[:1] \
        or distribution.get_device_count() > 1
    with pytest.raises(ValueError, match="should have same size"):
        distribution.DeviceMesh((2,), ["a", "b"], devices=["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="does not match the number of devices"):
        distribution.DeviceMesh((3,), ["batch"], devices=["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="cannot be empty"):
        distribution.DeviceMesh((), [])


def test_tensor_layout():
    mesh = distribution.DeviceMesh((2,), ["batch"], devices=["cpu:0", "cpu:1"])
    layout = distribution.TensorLayout(["batch", None])
    assert layout.axes == ("batch", None) and layout.device_mesh is None
    layout.device_mesh = mesh
    assert layout.device_mesh is mesh
    with pytest.raises(ValueError, match="Cannot override device mesh"):
        layout.device_mesh = mesh
    with pytest.raises(ValueError, match="Invalid axis names for Layout"):
        distribution.TensorLayout(["model", None], mesh)
    late = distribution.TensorLayout(["model"])
    with pytest.raises(ValueError, match="Invalid axis names"):
        late.device_mesh = mesh


def test_layout_map():
    mesh = distribution.DeviceMesh((2,), ["model"], devices=["cpu:0", "cpu:1"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*bias"] = distribution.TensorLayout(["model"])
    assert len(layout_map) == 2 and list(layout_map) == [".*dense.*kernel", ".*bias"]
    assert layout_map["my_model/dense_1/kernel"].axes == (None, "model")
    assert layout_map["my_model/dense_1/kernel"].device_mesh is mesh
    assert layout_map["dense/bias"].axes == ("model",)
    assert layout_map["conv/kernel"] is None  # no pattern fully matches
    assert layout_map.get("conv/kernel", "default") == "default"
    layout_map["head/.*"] = (None, None)
    with pytest.raises(ValueError, match="matches multiple layout"):
        layout_map["head/bias"]
    del layout_map["head/.*"]
    with pytest.raises(ValueError, match="already exist"):
        layout_map[".*bias"] = ("model",)
    with pytest.raises(ValueError, match="should be a TensorLayout"):
        layout_map["x"] = 3
    with pytest.raises(ValueError, match="Invalid axis names"):
        layout_map["y"] = ("batch",)
    del layout_map[".*bias"]
    assert layout_map["dense/bias"] is None


def test_data_parallel_layouts():
    dp = distribution.DataParallel(devices=["cpu:0", "cpu:1"])
    assert dp.device_mesh.shape == (2,) and dp.batch_dim_name == "batch"
    assert dp.num_model_replicas == 2 and dp.auto_shard_dataset
    assert dp.get_data_layout((8, 3, 4)).axes == ("batch", None, None)
    assert dp.get_variable_layout(lamina.Variable(np.zeros((3, 4)))).axes == (None, None)
    assert dp.get_tensor_layout("dense/output") is None
    mesh = distribution.DeviceMesh((1,), ["data"], devices=["cpu:0"])
    assert distribution.DataParallel(device_mesh=mesh).batch_dim_name == "data"
    assert distribution.DataParallel().device_mesh.devices.size == distribution.get_device_count()
    with pytest.raises(ValueError, match="one-dimensional"):
        distribution.DataParallel(
            device_mesh=distribution.DeviceMesh((1, 1), ["a", "b"], devices=["cpu:0"])
        )


def test_set_distribution_and_scope():
    assert distribution.distribution() is None
    dp = distribution.DataParallel()
    try:
        distribution.set_distribution(dp)
        assert distribution.distribution() is dp
        other = distribution.DataParallel(auto_shard_dataset=False)
        with other.scope():
            assert distribution.distribution() is other
        assert distribution.distribution() is dp
    finally:
        distribution.set_distribution(None)
    assert distribution.distribution() is None
    with pytest.raises(ValueError, match="Distribution"):
        distribution.set_distribution("data_parallel")


def test_data_parallel_without_process_group_trains_normally():
    x = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with distribution.DataParallel().scope():
        history = model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
        assert model.predict(x, verbose=0).shape == (20, 1)
    assert len(history.history["loss"]) == 1


def test_initialize_needs_processes(monkeypatch):
    for name in ("KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID", "WORLD_SIZE",
                 "RANK", "KERAS_DISTRIBUTION_JOB_ADDRESSES", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="number of processes"):
        distribution.initialize()
    with pytest.raises(ValueError, match="process_id"):
        distribution.initialize("127.0.0.1:1", num_processes=2, process_id=2)
    with pytest.raises(ValueError, match="coordinator"):
        distribution.initialize(num_processes=2, process_id=0)


@pytest.mark.oracle
def test_layout_map_matches_keras(oracle):
    keys = ["dense/kernel", "a/dense_3/kernel", "dense/bias", "conv/kernel"]
    patterns = {"dense.*kernel": (None, "model"), ".*/bias": ("model",), "a/.*": (None, None)}
    ours = distribution.LayoutMap(distribution.DeviceMesh((1,), ["model"], devices=["cpu:0"]))
    theirs = oracle.distribution.LayoutMap(oracle.distribution.DeviceMesh((1,), ["model"]))
    for pattern, axes in patterns.items():
        ours[pattern] = axes
        theirs[pattern] = axes
    for key in keys:
        try:
            expected = theirs[key]
        except ValueError:
            with pytest.raises(ValueError):
                ours[key]
            continue
        got = ours[key]
        assert (got is None and expected is None) or got.axes == expected.axes
