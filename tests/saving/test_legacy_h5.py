"""Keras's legacy whole-model HDF5 files (``model.save("x.h5")``) and legacy ``.h5`` weights.

Files move both ways: the oracle writes, Lamina reads (and the reverse), with the same weights
and the same predictions; compiled models come back compiled with their optimizer state.
"""

import json
import warnings

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers


def _arch(k, name):
    """(builder, input array) of the test architectures, for ``k`` = lamina or keras."""
    rng = np.random.default_rng(0)
    if name == "dense_bn":
        x = rng.random((6, 4)).astype("float32")
        return lambda: k.Sequential([k.Input((4,)), k.layers.Dense(5, activation="relu"),
                                     k.layers.BatchNormalization(), k.layers.Dense(2)]), x
    if name == "conv":
        x = rng.random((2, 8, 8, 3)).astype("float32")

        def conv():
            i = k.Input((8, 8, 3))
            h = k.layers.Conv2D(4, 3, activation="relu")(i)
            h = k.layers.BatchNormalization()(h)
            h = k.layers.GlobalAveragePooling2D()(h)
            return k.Model(i, k.layers.Dense(3, activation="softmax")(h))
        return conv, x
    if name == "embed_lstm":
        x = rng.integers(0, 10, (3, 5)).astype("int32")

        def rnn():
            i = k.Input((5,), dtype="int32")
            h = k.layers.Embedding(10, 4)(i)
            h = k.layers.LSTM(3)(h)
            return k.Model(i, k.layers.Dense(1)(h))
        return rnn, x
    if name == "nested":
        x = rng.random((4, 4)).astype("float32")

        def nested():
            inner = k.Sequential([k.Input((4,)), k.layers.Dense(3, activation="tanh")], name="inner")
            i = k.Input((4,))
            return k.Model(i, k.layers.Dense(2)(inner(i)))
        return nested, x
    raise ValueError(name)


ARCHS = ["dense_bn", "conv", "embed_lstm", "nested"]


def _compile(k, model, strings=True):
    # Keras 3.15 cannot read back its own legacy file compiled with loss="mse" (it looks the
    # string up as a class), so files the oracle must read are compiled with objects.
    if strings:
        model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    else:
        model.compile(optimizer=k.optimizers.Adam(0.01), loss=k.losses.MeanSquaredError(),
                      metrics=[k.metrics.MeanAbsoluteError()])


def _set_same_weights(src, dst):
    dst.set_weights([np.asarray(w) for w in src.get_weights()])


def _train_one_step(model, x):
    y = np.asarray(model.predict(x, verbose=0))
    model.fit(x, y + 0.5, epochs=1, batch_size=len(x), verbose=0)


@pytest.mark.oracle
@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("arch", ARCHS)
def test_oracle_file_loads_in_lamina(oracle, tmp_path, arch, compiled):
    build, x = _arch(oracle, arch)
    theirs = build()
    if compiled:
        _compile(oracle, theirs)
        _train_one_step(theirs, x)
    path = str(tmp_path / "model.h5")
    theirs.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = lamina.models.load_model(path)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    if compiled:
        assert ours.compiled and ours.optimizer.learning_rate.numpy() == pytest.approx(0.01)
        assert int(ours.optimizer.iterations.numpy()) == int(theirs.optimizer.iterations.numpy())
        for a, b in zip(ours.optimizer.variables, theirs.optimizer.variables):
            np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b), rtol=1e-6, atol=1e-7)
    else:
        assert not ours.compiled


@pytest.mark.oracle
@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("arch", ARCHS)
def test_lamina_file_loads_in_oracle(oracle, tmp_path, arch, compiled):
    build, x = _arch(lamina, arch)
    ours = build()
    if compiled:
        _compile(lamina, ours, strings=False)
        _train_one_step(ours, x)
    path = str(tmp_path / "model.h5")
    with pytest.warns(UserWarning, match="This file format is considered legacy"):
        ours.save(path)
    theirs = oracle.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    if compiled:
        assert theirs.compiled
        assert int(theirs.optimizer.iterations) == int(ours.optimizer.iterations.numpy())
        for a, b in zip(theirs.optimizer.variables, ours.optimizer.variables):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b.numpy()), rtol=1e-6, atol=1e-7)


@pytest.mark.oracle
def test_layout_matches_oracle(oracle, tmp_path):
    """Same attributes, groups and datasets as Keras writes for the same model."""
    build_ours, _ = _arch(lamina, "dense_bn")
    build_theirs, x = _arch(oracle, "dense_bn")
    ours, theirs = build_ours(), build_theirs()
    _compile(lamina, ours)
    _compile(oracle, theirs)
    _train_one_step(ours, x)
    _train_one_step(theirs, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.save(tmp_path / "ours.h5")
    theirs.save(str(tmp_path / "theirs.h5"))

    def layout(path):
        entries = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: entries.__setitem__(
                name, (getattr(obj, "shape", None), sorted(obj.attrs.keys()))))
            root = sorted(f.attrs.keys())
            names = list(f["model_weights"].attrs["layer_names"])
            kinds = [f[k].attrs.get_id(a).dtype for k in ("model_weights", "model_weights/dense") for a in f[k].attrs]
            model_config = json.loads(f.attrs["model_config"])
            training = json.loads(f.attrs["training_config"])
        return entries, root, names, model_config, training, kinds

    a, b = layout(tmp_path / "ours.h5"), layout(tmp_path / "theirs.h5")
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[5] == b[5]
    assert a[3]["class_name"] == b[3]["class_name"] == "Sequential"
    assert [e["class_name"] for e in a[3]["config"]["layers"]] == [e["class_name"] for e in b[3]["config"]["layers"]]
    assert all("module" not in e for e in a[3]["config"]["layers"])
    assert set(a[4]) >= {"loss", "metrics", "loss_weights", "optimizer_config"}
    assert a[4]["optimizer_config"]["class_name"] == b[4]["optimizer_config"]["class_name"] == "Adam"


def test_include_optimizer_false_and_uncompiled_warning(tmp_path):
    model = _arch(lamina, "dense_bn")[0]()
    _compile(lamina, model)
    path = tmp_path / "m.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lamina.saving.save_model(model, path, include_optimizer=False)
    with h5py.File(path, "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    with pytest.warns(UserWarning, match="No training configuration found"):
        loaded = lamina.saving.load_model(path)
    assert not loaded.compiled
    loaded = lamina.saving.load_model(path, compile=False)
    assert not loaded.compiled


def test_save_format_h5_and_hdf5_extension(tmp_path):
    model = _arch(lamina, "dense_bn")[0]()
    x = _arch(lamina, "dense_bn")[1]
    with pytest.warns(UserWarning) as caught:
        model.save(tmp_path / "m.hdf5", save_format="h5")
    messages = [str(w.message) for w in caught]
    assert any("`save_format` argument is deprecated" in m for m in messages)
    assert any("This file format is considered legacy" in m for m in messages)
    loaded = lamina.models.load_model(tmp_path / "m.hdf5", compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="save_format"):
        model.save(tmp_path / "m", save_format="h5")


def test_failed_save_leaves_previous_file(tmp_path, monkeypatch):
    from lamina.saving import legacy_h5_format

    model = _arch(lamina, "dense_bn")[0]()
    path = tmp_path / "m.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
        before = path.read_bytes()

        def boom(group, model):
            group.create_group("partial")
            raise RuntimeError("disk full")

        monkeypatch.setattr(legacy_h5_format, "save_weights_to_hdf5_group", boom)
        with pytest.raises(RuntimeError, match="disk full"):
            model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]


def test_keras2_config_loads(tmp_path):
    """A tf.keras 2.x file: legacy layer entries, ``batch_input_shape`` and list-form nodes."""
    init = {"class_name": "GlorotUniform", "config": {"seed": None}}
    zeros = {"class_name": "Zeros", "config": {}}

    def dense(name, units):
        return {"class_name": "Dense", "config": {
            "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": "linear",
            "use_bias": True, "kernel_initializer": init, "bias_initializer": zeros,
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}}

    layer_list = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 5], "dtype": "float32",
                                                 "sparse": False, "ragged": False, "name": "input_1"},
         "name": "input_1", "inbound_nodes": []},
        {**dense("d1", 2), "name": "d1", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {**dense("d2", 2), "name": "d2", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "Add", "config": {"name": "add", "trainable": True, "dtype": "float32"},
         "name": "add", "inbound_nodes": [[["d1", 0, 0, {}], ["d2", 0, 0, {}]]]},
    ]
    config = {"class_name": "Functional", "config": {"name": "model", "layers": layer_list,
              "input_layers": [["input_1", 0, 0]], "output_layers": [["add", 0, 0]]}}
    training = {"loss": "mse", "metrics": ["mae"], "weighted_metrics": None, "loss_weights": None,
                "optimizer_config": {"class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.05,
                                                                      "momentum": 0.0, "nesterov": False}}}
    rng = np.random.default_rng(1)
    values = {n: (rng.random((5, 2)).astype("float32"), rng.random(2).astype("float32")) for n in ("d1", "d2")}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["training_config"] = json.dumps(training).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"input_1", b"d1", b"d2", b"add"])
        for name in ("input_1", "add"):
            g.create_group(name).attrs["weight_names"] = np.array([], dtype="S1")
        for name, (kernel, bias) in values.items():
            sub = g.create_group(name)
            sub.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            sub.create_dataset(f"{name}/kernel:0", data=kernel)
            sub.create_dataset(f"{name}/bias:0", data=bias)
    model = lamina.models.load_model(path)
    x = rng.random((3, 5)).astype("float32")
    expected = sum(x @ k + b for k, b in values.values())
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)
    assert model.compiled and model.optimizer.learning_rate.numpy() == pytest.approx(0.05)


def test_custom_layer_round_trip(tmp_path):
    @lamina.saving.register_keras_serializable(package="legacyh5test")
    class Scale(layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2), Scale(3.0)])
    x = np.ones((2, 3), "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "c.h5")
    loaded = lamina.models.load_model(tmp_path / "c.h5", compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Weights only: save_weights("w.h5") / load_weights("w.h5") in the Keras 2 layout


@pytest.mark.oracle
@pytest.mark.parametrize("arch", ["dense_bn", "embed_lstm"])
def test_legacy_weights_both_ways(oracle, tmp_path, arch):
    from keras.src.legacy.saving import legacy_h5_format as theirs_format

    build_ours, x = _arch(lamina, arch)
    build_theirs, _ = _arch(oracle, arch)
    ours, theirs = build_ours(), build_theirs()
    ours.save_weights(tmp_path / "ours.h5")
    with h5py.File(tmp_path / "ours.h5", "r") as f:
        assert "layer_names" in f.attrs and "model_weights" not in f
    theirs.load_weights(str(tmp_path / "ours.h5"))
    np.testing.assert_allclose(theirs.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-6)

    fresh = build_theirs()
    with h5py.File(tmp_path / "theirs.h5", "w") as f:
        theirs_format.save_weights_to_hdf5_group(f, fresh)
    ours.load_weights(tmp_path / "theirs.h5")
    np.testing.assert_allclose(ours.predict(x, verbose=0), fresh.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_load_weights_from_whole_model_file_by_position(tmp_path):
    build, x = _arch(lamina, "conv")
    a, b = build(), build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a.save(tmp_path / "a.h5")
    b.load_weights(tmp_path / "a.h5")
    np.testing.assert_allclose(b.predict(x, verbose=0), a.predict(x, verbose=0), rtol=1e-6)


def test_load_weights_by_name_and_skip_mismatch(tmp_path):
    src = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, name="shared"), layers.Dense(2, name="head")])
    src.save_weights(tmp_path / "w.h5")
    # Different structure: only "shared" matches by name; "head" has another shape.
    dst = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, name="shared"),
                             layers.Dense(7, name="extra"), layers.Dense(5, name="head")])
    extra_before = [np.asarray(w) for w in dst.get_layer("extra").get_weights()]
    with pytest.raises(ValueError, match="Shape mismatch in layer #1 \\(named 'head'\\)"):
        dst.load_weights(tmp_path / "w.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping loading weights"):
        dst.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    for got, want in zip(dst.get_layer("shared").get_weights(), src.get_layer("shared").get_weights()):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(dst.get_layer("extra").get_weights(), extra_before):
        np.testing.assert_array_equal(got, want)
    # By position the layer counts differ.
    with pytest.raises(ValueError, match="Weight count mismatch"):
        dst.load_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="`by_name` only supports loading legacy"):
        dst.load_weights(tmp_path / "w.weights.h5", by_name=True)


def test_save_weights_h5_is_atomic(tmp_path, monkeypatch):
    from lamina.saving import legacy_h5_format

    model = _arch(lamina, "dense_bn")[0]()
    path = tmp_path / "w.h5"
    model.save_weights(path)
    before = path.read_bytes()

    def boom(group, model):
        raise OSError("disk full")

    monkeypatch.setattr(legacy_h5_format, "save_weights_to_hdf5_group", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["w.h5"]


# ---------------------------------------------------------------------------------------------
# tf.keras 2.x whole-model files (the seeds' era)

_TF211_ADAM = {"class_name": "Custom>Adam", "config": {
    "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": True,
    "is_legacy_optimizer": False, "learning_rate": 0.002, "beta_1": 0.9, "beta_2": 0.999,
    "epsilon": 1e-07, "amsgrad": False}}
_TF24_ADAM = {"class_name": "Adam", "config": {
    "name": "Adam", "lr": 0.002, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
    "amsgrad": False}}


def _keras2_sequential_file(path, optimizer_config):
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                 "sparse": False, "ragged": False, "name": "dense_input"}},
        {"class_name": "Dense", "config": {
            "name": "dense", "trainable": True, "batch_input_shape": [None, 4], "dtype": "float32",
            "units": 3, "activation": "relu", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}}]}}
    training = {"loss": "mse", "weighted_metrics": None, "loss_weights": None,
                "metrics": [[{"class_name": "MeanMetricWrapper",
                              "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
                "optimizer_config": optimizer_config}
    kernel = np.arange(12, dtype="float32").reshape(4, 3) / 10
    bias = np.array([0.1, -0.2, 0.3], "float32")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["training_config"] = json.dumps(training).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense"])
        sub = g.create_group("dense")
        sub.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        sub.create_dataset("dense/kernel:0", data=kernel)
        sub.create_dataset("dense/bias:0", data=bias)
        # TF 2's slot layout (iterations, then each slot), which Keras 3 optimizers do not share.
        opt = f.create_group("optimizer_weights")
        opt.attrs["weight_names"] = np.array([b"Adam/iter:0", b"Adam/m/dense/kernel:0"])
        opt.create_dataset("Adam/iter:0", data=np.int64(7))
        opt.create_dataset("Adam/m/dense/kernel:0", data=np.zeros((4, 3), "float32"))
    return kernel, bias


@pytest.mark.parametrize("optimizer_config", [_TF211_ADAM, _TF24_ADAM], ids=["tf211", "tf24"])
def test_keras2_sequential_file_with_training_config(tmp_path, optimizer_config):
    path = tmp_path / "tf2.h5"
    kernel, bias = _keras2_sequential_file(path, optimizer_config)
    with pytest.warns(UserWarning, match="freshly initialized optimizer"):
        model = lamina.models.load_model(path)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum(x @ kernel + bias, 0), rtol=1e-6)
    assert model.compiled and type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.002)
    history = model.fit(x, np.zeros((2, 3), "float32"), verbose=0)
    assert set(history.history) == {"loss", "mae"}


@pytest.mark.oracle
def test_compiled_untrained_model_restores_without_warning(oracle, tmp_path):
    """Only the unbuilt optimizer variables are stored: restored, slots built fresh, no warning."""
    theirs = _arch(oracle, "dense_bn")[0]()
    _compile(oracle, theirs, strings=False)
    theirs.save(str(tmp_path / "theirs.h5"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = lamina.models.load_model(tmp_path / "theirs.h5")
    assert ours.compiled and ours.optimizer.built and int(ours.optimizer.iterations.numpy()) == 0
    x = _arch(lamina, "dense_bn")[1]
    _train_one_step(ours, x)
    assert int(ours.optimizer.iterations.numpy()) == 1
