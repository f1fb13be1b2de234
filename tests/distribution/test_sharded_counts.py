"""Under ModelParallel / FullySharded a variable holds its shard between steps; `count_params()`,
`summary()` and `Variable.global_shape` still report the whole (global) shapes, as Keras does."""

import re

import numpy as np
import pytest

import lamina
from lamina import distribution, layers
from lamina.utils import layer_utils
from lamina.trainers.model_parallel import ModelShards
from tests.distribution.test_model_parallel import _load, _run, _save


def _model(module, seed=1):
    if module is lamina:
        lamina.utils.set_random_seed(seed)
    return module.Sequential([
        module.Input((6,)),
        module.layers.Dense(5, name="d1"),
        module.layers.BatchNormalization(name="bn"),
        module.layers.Dense(3, name="d2"),
    ], name="seq")


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")


def _param_rows(lines):
    """The parameter counts a summary prints: ``(layer, count)`` per row and the totals."""
    out = []
    for line in "\n".join(lines).split("\n"):
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            out.append((cells[0], cells[-1]))
        elif re.match(r" (Total|Trainable|Non-trainable) params", line):
            out.append(line.strip())
    return out


def _report(model):
    lines = []
    model.summary(print_fn=lambda text, line_break=None: lines.append(text))
    return dict(
        count=model.count_params(),
        layers=[layer.count_params() for layer in model.layers],
        utils=layer_utils.count_params(model.weights),
        global_shapes=[tuple(v.global_shape) for v in model.weights],
        local_shapes=[tuple(v.shape) for v in model.weights],
        summary=_param_rows(lines),
    )


def _counts_worker(rank, port, out_dir):
    def body():
        mesh = distribution.DeviceMesh((1, 2), ["batch", "model"])
        layout_map = distribution.LayoutMap(mesh)
        layout_map["seq/d1/kernel"] = (None, "model")
        layout_map["seq/d1/bias"] = ("model",)
        layout_map["seq/d2/kernel"] = ("model", None)
        x, y = _data()
        reports = {}
        with distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
            model = _model(lamina)  # created as its shards
            reports["created"] = _report(model)
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # a loop takes the shards over
            ModelShards.find(model).reshard()  # fit leaves them whole; back to the shards at rest
            reports["trained"] = _report(model)
        with distribution.FullySharded().scope():
            reports["fully_created"] = _report(_model(lamina))
        whole = _model(lamina)  # created whole, sharded by fit
        whole.compile(optimizer="adam", loss="mse")
        with distribution.FullySharded().scope():
            whole.fit(x, y, batch_size=8, epochs=1, verbose=0)
            ModelShards.find(whole).reshard()
            reports["fully_trained"] = _report(whole)
        _save(out_dir, "counts", rank, reports)

    _run(rank, 2, port, body)


@pytest.mark.oracle
def test_counts_and_summary_report_whole_shapes_on_two_processes(run_processes, oracle):
    out = run_processes(_counts_worker, 2)
    expected = _report(_model(lamina))
    reference = _model(oracle)
    lines = []
    reference.summary(print_fn=lambda text, line_break=None: lines.append(text))
    # The counts Keras reports for the same model (JAX backend, one process).
    assert expected["count"] == reference.count_params() == 5 * 7 + 4 * 5 + 3 * 6
    assert expected["layers"] == [layer.count_params() for layer in reference.layers]
    assert expected["global_shapes"] == [tuple(v.shape) for v in reference.weights]
    assert expected["summary"] == _param_rows(lines)
    for rank in range(2):
        reports = _load(out, "counts", rank)
        for stage, got in reports.items():
            for key in ("count", "layers", "utils", "global_shapes", "summary"):
                assert got[key] == expected[key], (rank, stage, key)
            # The variables still hold their shards: only `global_shape` is whole.
            assert got["local_shapes"] != got["global_shapes"], (rank, stage)
        kernel_half = (6, 3) if rank == 0 else (6, 2)
        assert reports["created"]["local_shapes"][0] == kernel_half
        assert reports["trained"]["local_shapes"][0] == kernel_half
        # FullySharded splits each variable along its first dimension: 6 rows as 3 + 3.
        assert reports["fully_created"]["local_shapes"][0] == (3, 5)
        assert reports["fully_trained"]["local_shapes"][1] == ((3,) if rank == 0 else (2,))


def test_global_shape_of_an_unsharded_variable_is_its_shape():
    v = lamina.Variable(np.zeros((2, 3), "float32"))
    assert v.global_shape == (2, 3) == tuple(v.shape)
