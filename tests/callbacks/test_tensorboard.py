"""`TensorBoard`: event files read back with TensorBoard's own reader."""

import glob
import json
import os
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina as keras


def _read(run_dir):
    acc = EventAccumulator(
        run_dir, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0, "images": 0}
    )
    acc.Reload()
    return acc


def _scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def _model(compile_=True):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)]
    )
    if compile_:
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.random((n, 4), dtype=np.float32), rng.random((n, 2), dtype=np.float32)


def test_epoch_scalars_match_history_in_keras_layout(tmp_path):
    x, y = _data()
    model = _model()
    cb = keras.callbacks.TensorBoard(tmp_path)
    history = model.fit(
        x, y, batch_size=8, epochs=3, validation_split=0.25, callbacks=[cb], verbose=0
    )
    train, val = _read(str(tmp_path / "train")), _read(str(tmp_path / "validation"))
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}
    for key in ("loss", "mae"):
        steps, values = zip(*_scalars(train, f"epoch_{key}"))
        assert steps == (0, 1, 2)
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)
        steps, values = zip(*_scalars(val, f"epoch_{key}"))
        assert steps == (0, 1, 2)
        np.testing.assert_allclose(values, history.history[f"val_{key}"], rtol=1e-6)
        # After each validation, indexed by the optimizer's iterations (3 batches per epoch).
        steps, values = zip(*_scalars(val, f"evaluation_{key}_vs_iterations"))
        assert steps == (3, 6, 9)
        np.testing.assert_allclose(values, history.history[f"val_{key}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _scalars(train, "epoch_learning_rate")], 0.05)
    # No batch-level scalars with update_freq="epoch".
    assert not any(t.startswith("batch_") for t in train.Tags()["scalars"])


@pytest.mark.parametrize("update_freq, steps", [("batch", [1, 2, 3, 4, 5, 6]), (4, [4])])
def test_batch_scalars_follow_update_freq(tmp_path, update_freq, steps):
    x, y = _data()
    seen = []
    recorder = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(logs["loss"]))
    )
    cb = keras.callbacks.TensorBoard(tmp_path, update_freq=update_freq, write_steps_per_second=True)
    _model().fit(x, y, batch_size=16, epochs=3, callbacks=[cb, recorder], verbose=0)
    train = _read(str(tmp_path / "train"))
    got = _scalars(train, "batch_loss")
    assert [s for s, _ in got] == steps
    np.testing.assert_allclose([v for _, v in got], [seen[s - 1] for s in steps], rtol=1e-6)
    assert [s for s, _ in _scalars(train, "batch_steps_per_second")] == steps
    assert len(_scalars(train, "epoch_steps_per_second")) == 3


def test_histograms_and_images(tmp_path):
    x, y = _data()
    model = _model()
    cb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=2, write_images=True)
    model.fit(x, y, batch_size=8, epochs=3, callbacks=[cb], verbose=0)
    train = _read(str(tmp_path / "train"))
    expected = [f"{w.path}/histogram" for w in model.weights]
    assert sorted(train.Tags()["histograms"]) == sorted(expected)
    kernel = train.Histograms("sequential/dense_1/kernel/histogram")
    assert [e.step for e in kernel] == [0, 2]
    last = kernel[-1].histogram_value
    final = model.layers[1].kernel.numpy()
    assert last.num == final.size
    np.testing.assert_allclose([last.min, last.max, last.sum], [final.min(), final.max(), final.sum()], rtol=1e-5)
    images = train.Tags()["images"]
    assert "sequential/dense/kernel/image" in images and "sequential/dense/bias/image" in images
    image = train.Images("sequential/dense/kernel/image")[0]
    # The (4, 3) kernel is drawn wide: 3 rows of 4 pixels, as Keras transposes tall kernels.
    assert (image.height, image.width) == (3, 4)


def test_graph_is_the_keras_model_json(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, callbacks=[keras.callbacks.TensorBoard(tmp_path)], verbose=0)
    train = _read(str(tmp_path / "train"))
    assert train.Tags()["tensors"] == ["keras"]
    event = train.Tensors("keras")[0]
    assert event.step == 0
    assert json.loads(event.tensor_proto.string_val[0]) == json.loads(model.to_json())
    assert train.SummaryMetadata("keras").plugin_data.plugin_name == "graph_keras_model"
    # Torch's op graph (a jit trace), written after the first batch.
    assert train.Tags()["graph"]
    op_names = [node.name for node in train.Graph().node]
    assert any("Dense[dense_1]" in name for name in op_names)

    other = tmp_path / "nograph"
    model.fit(x, y, epochs=1, callbacks=[keras.callbacks.TensorBoard(other, write_graph=False)], verbose=0)
    tags = _read(str(other / "train")).Tags()
    assert tags["tensors"] == [] and not tags["graph"]


def test_graph_of_a_multi_input_model(tmp_path):
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    model.compile("sgd", "mse")
    x = [np.ones((4, 3), "float32"), np.ones((4, 2), "float32")]
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    assert _read(str(tmp_path / "train")).Tags()["graph"]


def test_evaluate_writes_to_validation_run(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    result = model.evaluate(x, y, callbacks=[keras.callbacks.TensorBoard(tmp_path)], verbose=0, return_dict=True)
    val = _read(str(tmp_path / "validation"))
    assert _scalars(val, "evaluation_loss_vs_iterations") == [(4, pytest.approx(result["loss"], rel=1e-6))]


def test_profile_batch_writes_a_chrome_trace(tmp_path):
    x, y = _data()
    cb = keras.callbacks.TensorBoard(tmp_path, profile_batch="2,3")
    _model().fit(x, y, batch_size=8, epochs=1, callbacks=[cb], verbose=0)
    traces = glob.glob(str(tmp_path / "train" / "plugins" / "profile" / "*" / "*.pt.trace.json"))
    assert len(traces) == 1
    with open(traces[0]) as f:
        assert json.load(f)["traceEvents"]


def test_embeddings(tmp_path):
    model = keras.Sequential(
        [keras.Input((3,), dtype="int32"), keras.layers.Embedding(10, 4, name="emb"),
         keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).integers(0, 10, (16, 3))
    y = np.zeros((16, 1), "float32")
    cb = keras.callbacks.TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"emb": "meta.tsv"})
    model.fit(x, y, epochs=2, callbacks=[cb], verbose=0)
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "meta.tsv"' in config and 'tensor_path: "emb_embeddings.tsv"' in config
    np.testing.assert_allclose(
        np.loadtxt(tmp_path / "emb_embeddings.tsv", delimiter="\t"), model.layers[0].embeddings.numpy(), rtol=1e-6
    )
    assert os.path.exists(tmp_path / "train" / "keras_embedding.ckpt-1.weights.h5")
    with pytest.raises(ValueError, match="Unrecognized `Embedding` layer names"):
        keras.callbacks.TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"nope": "m"}).set_model(model)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"update_freq": "step"}, "update_freq"),
        ({"update_freq": 0}, "update_freq"),
        ({"histogram_freq": -1}, "histogram_freq"),
        ({"profile_batch": -1}, "profile_batch"),
        ({"profile_batch": (3, 2)}, "profile_batch"),
        ({"profile_batch": "a,b"}, "profile_batch"),
    ],
)
def test_invalid_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.callbacks.TensorBoard(tmp_path, **kwargs)


def test_missing_tensorboard_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        keras.callbacks.TensorBoard(tmp_path)


def test_subclassed_model_logs_without_graphs(tmp_path, recwarn):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model.compile("sgd", "mse")
    x, y = _data()
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(tmp_path, histogram_freq=1)])
    train = _read(str(tmp_path / "train"))
    assert train.Tags()["tensors"] == [] and not train.Tags()["graph"]
    assert [s for s, _ in _scalars(train, "epoch_loss")] == [0, 1]
    assert len(train.Tags()["histograms"]) == 2
    assert not [w for w in recwarn if "TensorBoard" in str(w.message)]
