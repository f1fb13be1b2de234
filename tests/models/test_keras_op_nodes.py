"""Functional models whose graph holds tensor operations (``x + 1``, ``x[:, 0]``, ``ops.mean``).

Keras 3 saves such a node as ``{"module": "keras.src.ops.numpy", "class_name": "Add", ...}``;
Lamina must read those files, write the same entries, and still read its older ``TensorOp`` nodes.
"""

import inspect
import json
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.core.keras_op_nodes import OP_CLASSES
from lamina.layers.core.tensor_op import TensorOp


def _as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _outputs(model, data):
    out = model(data)
    return [_as_numpy(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        if x.dtype == bool or y.dtype == bool:
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x.astype("float64"), y.astype("float64"), rtol=1e-5, atol=1e-5)


# --- graphs built the same way with `keras` or `lamina` as `lib` --------------------------------


def _mixed(lib):
    """Layers and operations interleaved (the main round-trip model)."""
    x = lib.Input((3, 4))
    h = lib.layers.Dense(4)(x)
    y = (h * 2.0 + 1.0)[:, 1:, ::2]
    z = lib.ops.concatenate([lib.ops.mean(y, axis=1), -abs(lib.ops.max(h, axis=1))], axis=-1)
    z = lib.ops.where(z > 0, z, 0.5 * z)
    z = lib.ops.squeeze(lib.ops.expand_dims(z, 1), axis=1) @ np.ones((6, 2), "float32")
    z = 2 - lib.ops.softmax(z) / 3
    t = lib.ops.transpose(h, (0, 2, 1))[..., 0]
    mask = lib.ops.cast(t > 0, "float32")
    o = lib.layers.Dense(2, activation="tanh")(lib.ops.concatenate([z, mask], axis=-1))
    return lib.Model(x, [o, lib.ops.reshape(h, (-1, 12))])


def _operators(x):
    return [
        x + 1, 2 - x, x * x, x / 2, 3 / (x + 1), x // 0.3, 1 // (x + 0.5), x % 0.3, 2 % (x + 1),
        x**2, 2**x, -x, abs(x - 0.5), x @ np.ones((4, 2), "float32"), round(x * 3),
        x > 0.5, x >= 0.5, x < 0.5, x <= 0.5, x != 0.5,
        (x > 0.3) & (x < 0.7), (x > 0.6) | (x < 0.1), (x > 0.3) ^ (x < 0.7), ~(x > 0.5),
        x[:, 1:3], x[..., None, 0], x[:, ::2, 1], x[:, -1], x[:, None],
    ]


def _elementwise(x, ops):
    return [
        ops.exp(x), ops.log(x), ops.sqrt(x), ops.square(x), ops.tanh(x), ops.sigmoid(x), ops.relu(x - 0.5),
        ops.softmax(x, axis=1), ops.log_softmax(x), ops.sign(x - 0.5), ops.floor(x * 3), ops.ceil(x * 3),
        ops.round(x * 3), ops.reciprocal(x), ops.erf(x), ops.rsqrt(x), ops.sin(x), ops.cos(x), ops.expm1(x),
        ops.log1p(x), ops.silu(x), ops.gelu(x), ops.elu(x - 0.5), ops.leaky_relu(x - 0.5), ops.softplus(x),
        ops.relu6(x * 8), ops.hard_sigmoid(x), ops.selu(x - 0.5), ops.cast(x * 4, "int32"),
        ops.stop_gradient(x), ops.absolute(x - 0.5), ops.abs(x - 0.5), ops.negative(x), ops.clip(x, 0.2, 0.8),
        ops.softsign(x), ops.log_sigmoid(x), ops.arctan(x), ops.nan_to_num(x), ops.add(x, x),
        ops.subtract(x, 1.0), ops.multiply(x, 2), ops.divide(x, 3.0), ops.true_divide(1.0, x),
        ops.floor_divide(x, 0.2), ops.mod(x, 0.3), ops.power(x, 3), ops.maximum(x, 0.5), ops.minimum(x, 0.5),
        ops.arctan2(x, x + 1), ops.equal(x, x), ops.not_equal(x, 0.5), ops.greater(x, 0.5),
        ops.less_equal(x, 0.5), ops.logical_and(x > 0.2, x < 0.8), ops.logical_or(x > 0.8, x < 0.2),
        ops.logical_xor(x > 0.2, x < 0.8), ops.logical_not(x > 0.5), ops.isclose(x, x + 1e-9),
        ops.where(x > 0.5, x, -x), ops.isnan(x), ops.isfinite(x),
    ]


def _reductions(x, ops):
    return [
        ops.mean(x, axis=1), ops.sum(x, axis=(1, 2)), ops.max(x, axis=-1, keepdims=True), ops.min(x, axis=1),
        ops.prod(x, axis=1), ops.std(x, axis=2), ops.var(x, axis=1), ops.argmax(x, axis=-1),
        ops.argmin(x, axis=1), ops.logsumexp(x, axis=1), ops.all(x > 0.1, axis=1), ops.any(x > 0.9, axis=2),
        ops.count_nonzero(x > 0.5, axis=1), ops.amax(x, axis=1), ops.amin(x, axis=2),
        ops.cumsum(x, axis=1), ops.cumprod(x, axis=2), *ops.moments(x, axes=[1]),
        *ops.top_k(x, 2), ops.normalize(x, axis=-1),
    ]


def _shapes(x, ops):
    return [
        ops.reshape(x, (-1, 12)), ops.transpose(x, (0, 2, 1)), ops.expand_dims(x, 1),
        ops.squeeze(ops.expand_dims(x, -1), axis=-1), ops.concatenate([x, x], axis=1),
        ops.stack([x, x], axis=1), *ops.split(x, 2, axis=-1), ops.tile(x, (1, 2, 1)),
        ops.repeat(x, 2, axis=1), ops.flip(x, axis=1), ops.roll(x, 1, axis=2), ops.moveaxis(x, 1, 2),
        ops.swapaxes(x, 1, 2), ops.pad(x, ((0, 0), (1, 1), (0, 2))), ops.tril(x), ops.triu(x, k=1),
        ops.sort(x, axis=1), ops.argsort(x), *ops.unstack(x, axis=1), ops.take(x, [0, 2], axis=1),
        ops.take_along_axis(x, ops.argsort(x, axis=-1), axis=-1), ops.einsum("bij,bkj->bik", x, x),
        ops.tensordot(x, np.ones((4, 2), "float32"), axes=1), ops.matmul(x, ops.transpose(x, (0, 2, 1))),
        ops.one_hot(ops.cast(x * 4, "int32"), 5), ops.ones_like(x), ops.zeros_like(x),
        ops.full_like(x, 3.0), ops.slice(x, (0, 1, 0), (2, 2, 4)),
    ]


_GROUPS = {
    "operators": lambda lib, x: _operators(x),
    "elementwise": lambda lib, x: _elementwise(x, lib.ops),
    "reductions": lambda lib, x: _reductions(x, lib.ops),
    "shapes": lambda lib, x: _shapes(x, lib.ops),
}


def _group_model(lib, group):
    x = lib.Input((3, 4))
    return lib.Model(x, _GROUPS[group](lib, x))


def _data():
    return np.random.default_rng(0).uniform(0.05, 1.0, (2, 3, 4)).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("group", sorted(_GROUPS))
def test_keras_op_nodes_load_in_lamina(oracle, tmp_path, group):
    keras_model = _group_model(oracle, group)
    keras_model.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    data = _data()
    _assert_same(_outputs(loaded, data), _outputs(keras_model, data))
    # The same graph built in Lamina gives the same numbers and the same op entries.
    built = _group_model(lamina, group)
    _assert_same(_outputs(built, data), _outputs(keras_model, data))
    # Keras's functions sometimes fill in an argument first (`one_hot`'s dtype) or pass one by
    # keyword (`pad`'s constant_values): both files load either way, so compare the operations.
    assert _op_classes(built) == _op_classes(keras_model)


@pytest.mark.oracle
@pytest.mark.parametrize("group", sorted(_GROUPS))
def test_lamina_op_nodes_load_in_keras(oracle, tmp_path, group):
    model = _group_model(lamina, group)
    model.save(tmp_path / "l.keras")
    loaded = oracle.saving.load_model(tmp_path / "l.keras")
    data = _data()
    _assert_same(_outputs(loaded, data), _outputs(model, data))


def _op_entries(model):
    """The operation entries of a model's config, by name, as they are written to JSON."""
    config = json.loads(json.dumps(model.get_config()))
    return {
        entry["name"]: entry
        for entry in config["layers"]
        if entry["module"].startswith("keras.src.ops.")
    }


def _op_classes(model):
    entries = _op_entries(model)
    return {name: (e["module"], e["class_name"], e["registered_name"]) for name, e in entries.items()}


@pytest.mark.oracle
def test_mixed_model_round_trips_both_ways(oracle, tmp_path):
    keras_model = _mixed(oracle)
    model = _mixed(lamina)
    model.set_weights(keras_model.get_weights())
    data = _data()
    expected = _outputs(keras_model, data)
    _assert_same(_outputs(model, data), expected)
    assert _op_entries(model) == _op_entries(keras_model)

    keras_model.save(tmp_path / "k.keras")
    from_keras = lamina.models.load_model(tmp_path / "k.keras")
    _assert_same(_outputs(from_keras, data), expected)
    from_keras.save(tmp_path / "again.keras")
    _assert_same(_outputs(oracle.saving.load_model(tmp_path / "again.keras"), data), expected)

    model.save(tmp_path / "l.keras")
    _assert_same(_outputs(oracle.saving.load_model(tmp_path / "l.keras"), data), expected)
    _assert_same(_outputs(lamina.models.load_model(tmp_path / "l.keras"), data), expected)


@pytest.mark.oracle
def test_keras_config_dict_deserializes(oracle):
    keras_model = _mixed(oracle)
    model = lamina.Model.from_config(json.loads(json.dumps(keras_model.get_config())))
    model.set_weights(keras_model.get_weights())
    _assert_same(_outputs(model, _data()), _outputs(keras_model, _data()))


def _masked_sequence_model(lib, head):
    ids = lib.Input((5,), dtype="int32")
    e = lib.layers.Embedding(10, 3, mask_zero=True)(ids)
    return lib.Model(ids, lib.layers.Dense(2)(head(lib)(e)))


_HEADS = {
    "pooling": lambda lib: lib.layers.GlobalAveragePooling1D(),
    "lstm": lambda lib: lib.layers.LSTM(4),
}


@pytest.mark.oracle
@pytest.mark.parametrize("head", sorted(_HEADS))
def test_embedding_mask_zero_not_equal_node(oracle, tmp_path, head):
    keras_model = _masked_sequence_model(oracle, _HEADS[head])
    # Keras records the mask computation (`ids != 0`) as a NotEqual node feeding `mask=`.
    assert "NotEqual" in [entry["class_name"] for entry in keras_model.get_config()["layers"]]
    data = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]], "int32")
    expected = _outputs(keras_model, data)
    keras_model.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    _assert_same(_outputs(loaded, data), expected)
    loaded.save(tmp_path / "again.keras")
    _assert_same(_outputs(oracle.saving.load_model(tmp_path / "again.keras"), data), expected)

    model = _masked_sequence_model(lamina, _HEADS[head])
    model.set_weights(keras_model.get_weights())
    _assert_same(_outputs(model, data), expected)
    model.save(tmp_path / "l.keras")
    _assert_same(_outputs(oracle.saving.load_model(tmp_path / "l.keras"), data), expected)


def test_get_config_from_config_gives_same_outputs():
    x = lamina.Input((3, 4))
    y = lamina.ops.mean(x + 1, axis=1) * x[:, 0] - 2 ** lamina.ops.sum(x, axis=(1, 2), keepdims=True)[:, 0]
    model = lamina.Model(x, [y, lamina.ops.cast(x > 0.5, torch.int32), ~(x < 0.2) | (x % 0.5 != 0)])
    config = model.get_config()
    cast = next(e for e in config["layers"] if e["class_name"] == "Cast")
    assert cast["config"] == {"name": "cast", "dtype": "int32"}
    as_json = json.loads(json.dumps(config))
    for restored in (lamina.Model.from_config(config), lamina.Model.from_config(as_json)):
        _assert_same(_outputs(restored, _data()), _outputs(model, _data()))
        assert json.loads(json.dumps(restored.get_config())) == json.loads(json.dumps(config))


def test_op_node_written_like_keras():
    x = lamina.Input((4,))
    model = lamina.Model(x, [lamina.ops.mean(x + 1, axis=1), x[:, 1:3]])
    entries = {e["class_name"]: e for e in model.get_config()["layers"]}
    assert entries["Mean"]["module"] == "keras.src.ops.numpy"
    assert entries["Mean"]["registered_name"] == "Mean"
    assert entries["Mean"]["config"] == {"name": "mean", "axis": 1, "keepdims": False}
    assert entries["Add"]["inbound_nodes"][0]["args"][1] == 1
    assert entries["GetItem"]["inbound_nodes"][0]["args"][1] == [
        {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}},
        {"class_name": "__slice__", "config": {"start": 1, "stop": 3, "step": None}},
    ]


def _single_op_config(class_name, module="keras.src.ops.numpy", config=None, args_extra=()):
    x_ref = {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, 4], "dtype": "float32", "keras_history": ["input_layer", 0, 0]},
    }
    return {
        "name": "functional",
        "trainable": True,
        "layers": [
            {
                "module": "keras.layers",
                "class_name": "InputLayer",
                "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"},
                "registered_name": None,
                "name": "input_layer",
                "inbound_nodes": [],
            },
            {
                "module": module,
                "class_name": class_name,
                "config": config or {"name": "op"},
                "registered_name": class_name,
                "name": "op",
                "inbound_nodes": [{"args": [x_ref, *args_extra], "kwargs": {}}],
            },
        ],
        "input_layers": [["input_layer", 0, 0]],
        "output_layers": [["op", 0, 0]],
    }


def test_keras_op_names_resolve_to_operations_not_layers():
    # `Add`, `Concatenate`, `Reshape` are also layer names; an op module must pick the operation.
    model = lamina.Model.from_config(_single_op_config("Add", args_extra=[2.5]))
    (op,) = [o for o in model._operations if o.name == "op"]
    assert type(op) is OP_CLASSES["Add"] and not isinstance(op, lamina.layers.Add)
    # An operation is not a layer of the model, as in Keras.
    assert "op" not in [layer.name for layer in model.layers]
    np.testing.assert_allclose(_outputs(model, np.ones((2, 4), "float32"))[0], np.full((2, 4), 3.5))


def test_node_keyword_arguments_are_accepted():
    config = _single_op_config("Clip", config={"name": "op", "x_min": 0.0, "x_max": 1.0})
    model = lamina.Model.from_config(config)
    np.testing.assert_allclose(_outputs(model, np.array([[-1, 0.5, 2, 3]], "float32"))[0], [[0, 0.5, 1, 1]])
    where = _single_op_config("Where")
    where["layers"][1]["inbound_nodes"][0]["args"].append(1.0)
    where["layers"][1]["inbound_nodes"][0]["kwargs"] = {"x2": 0.0}
    out = _outputs(lamina.Model.from_config(where), np.array([[0, 2, 0, 1]], "float32"))
    np.testing.assert_allclose(out[0], [[0, 1, 0, 1]])


def test_unknown_op_class_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown Keras operation class 'Frobnicate'"):
        lamina.Model.from_config(_single_op_config("Frobnicate"))
    with pytest.raises(ValueError, match="Unexpected argument.*'flavour'.*'Mean'"):
        lamina.Model.from_config(_single_op_config("Mean", config={"name": "op", "flavour": 1}))


@pytest.mark.parametrize(
    "module, class_name",
    [
        ("tests.saving._canary", "IMPORTED"),
        ("keras.src.ops.tests_canary", "IMPORTED"),
        ("keras.src.ops.numpy", "system"),
        ("os", "system"),
    ],
)
def test_safe_mode_refuses_arbitrary_module_and_class(tmp_path, module, class_name):
    model = lamina.Model.from_config(_single_op_config("Negative"))
    model.save(tmp_path / "ok.keras")
    import zipfile

    with zipfile.ZipFile(tmp_path / "ok.keras") as src:
        members = {name: src.read(name) for name in src.namelist()}
    config = json.loads(members["config.json"])
    op = config["config"]["layers"][1]
    op["module"], op["class_name"], op["registered_name"] = module, class_name, class_name
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    with pytest.raises(ValueError, match=f"Unknown.*{class_name}"):
        lamina.models.load_model(tmp_path / "evil.keras")
    assert "tests.saving._canary" not in sys.modules
    assert "keras.src.ops.tests_canary" not in sys.modules


def test_older_tensor_op_files_still_load(tmp_path):
    # Earlier Lamina versions wrote every operation as a `TensorOp` layer: rebuild such a graph.
    x = lamina.Input((3, 4))
    y = TensorOp("radd", name="radd")(x, 1.0)
    y = TensorOp("getitem", {"key": (slice(None), slice(1, None), Ellipsis)}, name="getitem")(y)
    y = TensorOp("mean", {"axis": 1}, name="mean")(y)
    model = lamina.Model(x, lamina.layers.Dense(2)(y))
    config = model.get_config()
    getitem = next(e for e in config["layers"] if e["name"] == "getitem")
    assert getitem["class_name"] == "TensorOp"
    assert getitem["config"]["arguments"]["key"] == {
        "__tuple__": [{"__slice__": [None, None, None]}, {"__slice__": [1, None, None]}, {"__ellipsis__": True}]
    }
    model.save(tmp_path / "old.keras")
    loaded = lamina.models.load_model(tmp_path / "old.keras")
    data = _data()
    expected = (data + 1.0)[:, 1:].mean(axis=1) @ model.get_weights()[0] + model.get_weights()[1]
    _assert_same(_outputs(loaded, data), [expected.astype("float32")])


def test_every_table_entry_matches_its_lamina_function():
    # Nodes call the Lamina function with Keras's argument names: they must be its parameter names.
    for name, cls in OP_CLASSES.items():
        node = cls()
        assert node.get_config() == {"name": node.name}, name
        params = inspect.signature(node._fn).parameters
        names = [p.lstrip("*") for p in cls._call_params + cls._init_params]
        missing = [p for p in names if p not in params and not (name == "ScatterUpdate" and p == "reduction")]
        assert not missing, (name, missing)


@pytest.mark.oracle
def test_image_and_linalg_op_nodes_from_keras(oracle):
    images = oracle.Input((4, 4, 3))
    resized = oracle.ops.image.resize(images, (6, 5), interpolation="bilinear")
    norms = oracle.ops.norm(images, axis=-1)
    config = json.loads(json.dumps(oracle.Model(images, [resized, norms]).get_config()))
    assert {e["module"] for e in config["layers"][1:]} == {"keras.src.ops.image", "keras.src.ops.linalg"}
    model = lamina.Model.from_config(config)
    data = np.random.default_rng(1).uniform(size=(2, 4, 4, 3)).astype("float32")
    # (Keras itself cannot run a graph holding `Norm` on JAX; compare with its eager functions.)
    expected = [
        _as_numpy(oracle.ops.image.resize(data, (6, 5), interpolation="bilinear")),
        _as_numpy(oracle.ops.norm(data, axis=-1)),
    ]
    _assert_same(_outputs(model, data), expected)


@pytest.mark.oracle
def test_layers_leave_operations_out_and_summary_lists_them_like_keras(oracle, capsys):
    def build(lib):
        x = lib.Input((4,), name="x")
        y = lib.layers.Dense(3, name="dense")(x)
        return lib.Model(x, lib.ops.mean(y + 1, axis=1))

    theirs, ours = build(oracle), build(lamina)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]

    def rows(model):
        model.summary()
        lines = capsys.readouterr().out.splitlines()
        return [line.split("│")[1:3] for line in lines if line.startswith("│")]

    assert [[cell.strip() for cell in row] for row in rows(ours)] == [
        [cell.strip() for cell in row] for row in rows(theirs)
    ]
