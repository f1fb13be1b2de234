"""``Model.export``: ``format="torch"`` (.pt2) and ``format="onnx"`` (run in ONNX Runtime)."""

import importlib.util

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

onnxruntime = pytest.importorskip("onnxruntime", reason="the `export` extra (onnxruntime) is not installed")


def _sequential():
    return lamina.Sequential(
        [
            lamina.Input((8, 8, 3)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(5, activation="softmax"),
        ]
    )


def _two_input_functional():
    a = lamina.Input((5,), name="a")
    b = lamina.Input((6, 4), name="b")
    x = layers.Concatenate()([a, layers.LSTM(3)(b)])
    return lamina.Model([a, b], layers.Dense(2)(x))


def _run_onnx(path, feeds):
    session = onnxruntime.InferenceSession(str(path))
    names = [i.name for i in session.get_inputs()]
    return session, session.run(None, dict(zip(names, feeds)))


def test_torch_format_roundtrip_with_dynamic_batch(tmp_path, rng):
    model = _sequential()
    path = tmp_path / "model.pt2"
    model.export(path, format="torch", verbose=False)
    program = torch.export.load(str(path)).module()
    for batch in (1, 4):
        x = rng.normal(size=(batch, 8, 8, 3)).astype("float32")
        np.testing.assert_allclose(
            program(torch.from_numpy(x)).detach().numpy(), model.predict(x, verbose=0), atol=1e-6
        )


def test_torch_format_is_the_default_and_prints(tmp_path, capsys):
    model = _sequential()
    model.export(tmp_path / "model.pt2")
    assert "Saved PyTorch ExportedProgram at" in capsys.readouterr().out


def test_torch_format_passes_export_arguments(tmp_path):
    model = _sequential()
    x = torch.randn(2, 8, 8, 3)
    # strict mode, and a dynamic_shapes dict for the one input, as Keras accepts it.
    model.export(
        tmp_path / "m.pt2", format="torch", strict=True, dynamic_shapes={0: torch.export.Dim("b")}, verbose=False
    )
    out = torch.export.load(str(tmp_path / "m.pt2")).module()(x)
    np.testing.assert_allclose(out.detach().numpy(), model(x).detach().numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="Unsupported arguments for `format='torch'`: bogus"):
        model.export(tmp_path / "m.pt2", format="torch", bogus=1)
    with pytest.raises(ValueError, match="must end with '.pt2'"):
        model.export(tmp_path / "m.onnx", format="torch")


def test_onnx_matches_model_at_two_batch_sizes(tmp_path, rng):
    model = _sequential()
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx", verbose=False)
    for batch in (1, 6):
        x = rng.normal(size=(batch, 8, 8, 3)).astype("float32")
        session, (out,) = _run_onnx(path, [x])
        np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-5)
    assert session.get_inputs()[0].shape == ["batch", 8, 8, 3]


def test_onnx_two_named_inputs_and_lstm(tmp_path, rng):
    model = _two_input_functional()
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx", verbose=False)
    for batch in (2, 5):
        xs = [rng.normal(size=(batch, 5)).astype("float32"), rng.normal(size=(batch, 6, 4)).astype("float32")]
        session, (out,) = _run_onnx(path, xs)
        np.testing.assert_allclose(out, model.predict(xs, verbose=0), atol=1e-5)
    assert [i.name for i in session.get_inputs()] == ["a", "b"]


def test_dict_inputs_in_both_formats(tmp_path, rng):
    b = lamina.Input((3,), name="b")
    a = lamina.Input((2,), name="a")
    model = lamina.Model({"b": b, "a": a}, layers.Dense(2)(layers.Concatenate()([a, b])))
    xs = {"a": rng.normal(size=(4, 2)).astype("float32"), "b": rng.normal(size=(4, 3)).astype("float32")}
    expected = model.predict(xs, verbose=0)
    model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    np.testing.assert_allclose(session.run(None, xs)[0], expected, atol=1e-5)
    model.export(tmp_path / "m.pt2", verbose=False)
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    out = program({"b": torch.from_numpy(xs["b"]), "a": torch.from_numpy(xs["a"])})
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-6)


def test_onnx_embedding_attention_int_inputs(tmp_path, rng):
    tokens = lamina.Input((7,), dtype="int32")
    x = layers.Embedding(20, 8)(tokens)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    model = lamina.Model(tokens, layers.GlobalAveragePooling1D()(x))
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx", verbose=False)
    for batch in (1, 3):
        ids = rng.integers(0, 20, size=(batch, 7)).astype("int32")
        _, (out,) = _run_onnx(path, [ids])
        np.testing.assert_allclose(out, model.predict(ids, verbose=0), atol=1e-5)


def test_subclassed_model_signature_from_its_first_call(tmp_path, rng):
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)

        def call(self, inputs):
            return self.dense(inputs) * 2.0

    model = Net()
    with pytest.raises(ValueError, match="has not yet been built"):
        model.export(tmp_path / "m.pt2")
    model(np.zeros((4, 5), "float32"))
    model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    x = rng.normal(size=(7, 5)).astype("float32")
    _, (out,) = _run_onnx(tmp_path / "m.onnx", [x])
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "signature",
    [
        lambda: [lamina.InputSpec(shape=(None, 8, 8, 3), dtype="float32")],
        lambda: [lamina.KerasTensor((None, 8, 8, 3), dtype="float32")],
        lambda: [torch.zeros(3, 8, 8, 3)],
        lambda: lamina.InputSpec(shape=(None, 8, 8, 3), dtype="float32"),
    ],
    ids=["inputspec", "kerastensor", "tensor", "bare-spec"],
)
def test_input_signature_forms(tmp_path, signature, rng):
    model = _sequential()
    model.export(tmp_path / "m.pt2", input_signature=signature(), verbose=False)
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    out = torch.export.load(str(tmp_path / "m.pt2")).module()(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), model.predict(x, verbose=0), atol=1e-6)


def test_static_input_signature_fixes_the_batch(tmp_path):
    model = _sequential()
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx", input_signature=[lamina.InputSpec(shape=(2, 8, 8, 3), dtype="float32")], verbose=False)
    session = onnxruntime.InferenceSession(str(path))
    assert session.get_inputs()[0].shape == [2, 8, 8, 3]


def test_bad_input_signatures_are_refused(tmp_path):
    model = _sequential()
    with pytest.raises(ValueError, match="needs both `shape` and `dtype`"):
        model.export(tmp_path / "m.pt2", input_signature=[lamina.InputSpec(ndim=4)])
    with pytest.raises(TypeError, match="Unsupported entry 'x'"):
        model.export(tmp_path / "m.pt2", input_signature=["x"])


@pytest.mark.parametrize("fmt", ["tf_saved_model", "litert", "openvino"])
def test_tensorflow_formats_name_the_alternatives(tmp_path, fmt):
    model = _sequential()
    with pytest.raises(ValueError, match=rf"format='{fmt}'.*format='torch'.*format='onnx'"):
        model.export(tmp_path / "m", format=fmt)


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"Unrecognized format='jpeg'. Supported formats are: \['torch', 'onnx'\]"):
        _sequential().export(tmp_path / "m", format="jpeg")


def test_missing_onnx_packages_name_the_install(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install onnxscript.*lamina\[export\]"):
        _sequential().export(tmp_path / "m.onnx", format="onnx")


def test_export_leaves_the_model_as_it_was(tmp_path):
    model = _sequential()
    model.train()
    model.export(tmp_path / "m.pt2", verbose=False)
    assert model.training
    assert torch.is_grad_enabled()


@pytest.mark.oracle
def test_onnx_matches_keras(oracle, tmp_path, rng):
    keras = oracle
    theirs = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )
    weights = [w + rng.normal(scale=0.1, size=w.shape).astype("float32") for w in theirs.get_weights()]
    weights[3] = np.abs(weights[3]) + 0.5  # BatchNormalization's moving variance stays positive
    theirs.set_weights(weights)
    ours = _sequential()
    ours.set_weights(weights)
    ours.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    x = rng.normal(size=(3, 8, 8, 3)).astype("float32")
    _, (out,) = _run_onnx(tmp_path / "m.onnx", [x])
    np.testing.assert_allclose(out, np.asarray(theirs(x)), atol=1e-5)
