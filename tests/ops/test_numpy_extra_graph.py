"""Functional models using the extra NumPy ops save as Keras operation nodes and load both ways;
the ops also infer shapes symbolically."""

import json

import numpy as np
import pytest
import torch

import lamina


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _outputs(model, data):
    out = model(data)
    return [_np(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def _assert_same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype, (g.shape, e.shape, g.dtype, e.dtype)
        np.testing.assert_allclose(g.astype("float64"), e.astype("float64"), rtol=1e-5, atol=1e-5)


def _model(lib):
    x = lib.Input((3, 4))
    ops = lib.ops
    outputs = [
        ops.hstack([x, x[:, :1]]),
        ops.vstack([x, x]),
        ops.diff(x, n=2, axis=-1),
        ops.median(x, axis=1),
        ops.nanmean(x, axis=2),
        ops.ptp(x, axis=1),
        ops.logaddexp(x, 1.0 - x),
        ops.fmax(x, 0.5),
        ops.hypot(x, x),
        ops.trace(x, axis1=1, axis2=2),
        ops.fliplr(x),
        ops.cross(x[..., :3], x[..., 1:]),
        ops.divide_no_nan(x, x - 0.5),
        ops.append(x, x, axis=1),
        ops.cbrt(x),
        ops.digitize(x, np.array([0.25, 0.5, 0.75], "float32")),
        ops.diagonal(x, axis1=1, axis2=2),
        ops.average(x, axis=-1),
        *ops.meshgrid(x[0, 0], x[0, 1, :2], indexing="ij"),
        ops.inner(x, x),
        ops.signbit(x - 0.5),
        ops.nancumsum(x, axis=1),
        ops.select([x > 0.7, x < 0.2], [x, -x], 0.0),
    ]
    return lib.Model(x, outputs)


def _data():
    return np.random.default_rng(0).uniform(0.05, 1.0, (2, 3, 4)).astype("float32")


def _classes(model):
    config = json.loads(json.dumps(model.get_config()))
    return sorted(e["class_name"] for e in config["layers"] if e["module"].startswith("keras.src.ops."))


@pytest.mark.oracle
def test_extra_op_nodes_round_trip_with_keras(oracle, tmp_path):
    data = _data()
    keras_model = _model(oracle)
    expected = _outputs(keras_model, data)
    model = _model(lamina)
    _assert_same(_outputs(model, data), expected)
    # Same operation classes (`Hstack`, `Diff`, `Median`, ...), so the files are interchangeable.
    assert _classes(model) == _classes(keras_model)
    assert {"Hstack", "Diff", "Median", "Meshgrid", "Select"} <= set(_classes(model))

    keras_model.save(tmp_path / "k.keras")
    _assert_same(_outputs(lamina.models.load_model(tmp_path / "k.keras"), data), expected)
    model.save(tmp_path / "l.keras")
    _assert_same(_outputs(oracle.saving.load_model(tmp_path / "l.keras"), data), expected)


def test_symbolic_shapes_match_eager_shapes():
    x = lamina.Input((3, 4))
    ops = lamina.ops
    cases = {
        "hstack": lambda t: ops.hstack([t, t]),
        "dstack": lambda t: ops.dstack([t, t]),
        "median": lambda t: ops.median(t, axis=(1, 2), keepdims=True),
        "percentile": lambda t: ops.percentile(t, np.array([10.0, 50.0]), axis=1),
        "nanvar": lambda t: ops.nanvar(t, axis=-1),
        "nanargmin": lambda t: ops.nanargmin(t, axis=1),
        "kron": lambda t: ops.kron(t, np.ones((1, 2, 2), "float32")),
        "trapezoid": lambda t: ops.trapezoid(t, axis=1),
        "argpartition": lambda t: ops.argpartition(t, 1, axis=-1),
        "diagonal": lambda t: ops.diagonal(t, offset=1, axis1=1, axis2=2),
        "split": lambda t: ops.array_split(t, 3, axis=2)[0],
    }
    data = _data()
    for name, fn in cases.items():
        symbolic = fn(x)
        eager = fn(torch.as_tensor(data))
        assert len(symbolic.shape) == eager.ndim, name
        assert all(s in (None, e) for s, e in zip(symbolic.shape, eager.shape)), (name, symbolic.shape)
        assert symbolic.dtype == lamina.backend.standardize_dtype(eager.dtype), name
