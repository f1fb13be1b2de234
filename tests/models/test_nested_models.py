"""Models used as layers inside functional models: configs, `.keras` files, cloning, JSON.

Every shape is built by the same function in Keras and in Lamina (all names fixed), so the two
configs can be compared whole, and files saved by one library must load in the other with the
same predictions.
"""

import json

import numpy as np
import pytest

import lamina


def _inner(k, name, dim=4, units=3):
    x = k.Input((dim,), name=f"{name}_in")
    return k.Model(x, k.layers.Dense(units, activation="tanh", name=f"{name}_d")(x), name=name)


def _functional_in_functional(k):
    x = k.Input((4,), name="x")
    y = _inner(k, "inner")(x)
    return k.Model(x, k.layers.Dense(2, name="head")(y), name="outer")


def _inner_is_output(k):
    x = k.Input((4,), name="x")
    h = k.layers.Dense(4, name="pre")(x)
    return k.Model(x, [_inner(k, "inner")(h), h], name="outer")


def _shared_twice(k):
    inner = _inner(k, "inner")
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    ya, yb = inner(a), inner(b)
    out = k.layers.Dense(2, name="head")(k.layers.Concatenate(name="cat")([ya, yb]))
    # The second call is also an output: its reference is the model's 2nd node in Keras's count.
    return k.Model([a, b], [out, yb], name="outer")


def _sequential_in_functional(k):
    seq = k.Sequential(
        [k.Input((4,), name="seq_in"), k.layers.Dense(5, activation="relu", name="s1"), k.layers.Dense(3, name="s2")],
        name="seq",
    )
    x = k.Input((4,), name="x")
    return k.Model(x, [k.layers.Dense(2, name="head")(seq(x)), seq(x)], name="outer")


def _two_deep(k):
    i = k.Input((4,), name="mid_in")
    mid = k.Model(i, _inner(k, "deep")(i), name="mid")
    x = k.Input((4,), name="x")
    return k.Model(x, [k.layers.Dense(2, name="head")(mid(x)), mid(x)], name="outer")


def _multi_input_inner(k):
    a, b = k.Input((4,), name="ia"), k.Input((4,), name="ib")
    inner = k.Model([a, b], k.layers.Add(name="add")([a, b]), name="inner")
    p, q = k.Input((4,), name="p"), k.Input((4,), name="q")
    return k.Model([p, q], k.layers.Dense(2, name="head")(inner([p, q])), name="outer")


def _dict_input_inner(k):
    a, b = k.Input((4,), name="ia"), k.Input((4,), name="ib")
    inner = k.Model({"a": a, "b": b}, {"sum": k.layers.Add(name="add")([a, b])}, name="inner")
    p, q = k.Input((4,), name="p"), k.Input((4,), name="q")
    return k.Model([p, q], inner({"a": p, "b": q})["sum"], name="outer")


SHAPES = {
    "functional_in_functional": (_functional_in_functional, 1),
    "inner_is_output": (_inner_is_output, 1),
    "shared_twice": (_shared_twice, 2),
    "sequential_in_functional": (_sequential_in_functional, 1),
    "two_deep": (_two_deep, 1),
    "multi_input_inner": (_multi_input_inner, 2),
    "dict_input_inner": (_dict_input_inner, 2),
}


def _json(config):
    # Tuples and lists differ between the two libraries' dicts, not in the files they write.
    return json.loads(json.dumps(config))


def _data(n_inputs, batch=5):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((batch, 4)).astype("float32") for _ in range(n_inputs)]
    return xs[0] if n_inputs == 1 else xs


def _numpy(out):
    if isinstance(out, (list, tuple)):
        return [_numpy(o) for o in out]
    return out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)


def _assert_same(a, b):
    a, b = _numpy(a), _numpy(b)
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_config_equals_keras(oracle, shape):
    build, _ = SHAPES[shape]
    assert _json(build(lamina).get_config()) == _json(build(oracle).get_config())


@pytest.mark.oracle
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_keras_file_loads_in_lamina(oracle, shape, tmp_path):
    build, n_inputs = SHAPES[shape]
    ref = build(oracle)
    ref.save(tmp_path / "k.keras")
    model = lamina.models.load_model(tmp_path / "k.keras")
    x = _data(n_inputs)
    _assert_same(model(x), ref(x))
    assert [l.name for l in model.layers] == [l.name for l in ref.layers]


@pytest.mark.oracle
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_lamina_file_loads_in_keras(oracle, shape, tmp_path):
    build, n_inputs = SHAPES[shape]
    model = build(lamina)
    model.save(tmp_path / "l.keras")
    ref = oracle.models.load_model(tmp_path / "l.keras")
    x = _data(n_inputs)
    _assert_same(ref(x), model(x))
    assert _json(ref.get_config()) == _json(build(oracle).get_config())


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_lamina_round_trips(shape, tmp_path):
    build, n_inputs = SHAPES[shape]
    model = build(lamina)
    x = _data(n_inputs)
    model.save(tmp_path / "l.keras")
    _assert_same(lamina.models.load_model(tmp_path / "l.keras")(x), model(x))
    rebuilt = lamina.models.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    rebuilt.set_weights(model.get_weights())
    _assert_same(rebuilt(x), model(x))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_clone_model(shape):
    build, n_inputs = SHAPES[shape]
    model = build(lamina)
    clone = lamina.models.clone_model(model)
    assert clone.get_config() == model.get_config()
    assert all(c is not m for c, m in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    x = _data(n_inputs)
    _assert_same(clone(x), model(x))


def test_shared_inner_model_references_each_call():
    config = _shared_twice(lamina).get_config()
    inner = next(l for l in config["layers"] if l["name"] == "inner")
    assert [n["kwargs"] for n in inner["inbound_nodes"]] == [{"mask": None}, {"mask": None}]
    # Inside `inbound_nodes` a nested model's calls count from 0, in `output_layers` from 1.
    cat = next(l for l in config["layers"] if l["name"] == "cat")
    refs = [a["config"]["keras_history"] for a in cat["inbound_nodes"][0]["args"][0]]
    assert refs == [["inner", 0, 0], ["inner", 1, 0]]
    assert config["output_layers"] == [["head", 0, 0], ["inner", 2, 0]]


def test_rebuilt_shared_model_keeps_distinct_calls():
    model = _shared_twice(lamina)
    rebuilt = lamina.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    a, b = _data(2)
    _, yb = rebuilt([a, b])
    # The second output must be the call on `b`, not on `a`.
    np.testing.assert_allclose(_numpy(yb), _numpy(model.get_layer("inner")(b)), rtol=1e-6)


def test_config_written_with_zero_based_output_index_still_loads():
    # Lamina before this change wrote a nested model's output reference counting from 0.
    model = _inner_is_output(lamina)
    config = model.get_config()
    assert config["output_layers"][0] == ["inner", 1, 0]
    config["output_layers"][0] = ["inner", 0, 0]
    rebuilt = lamina.Model.from_config(json.loads(json.dumps(config)))
    rebuilt.set_weights(model.get_weights())
    x = _data(1)
    _assert_same(rebuilt(x), model(x))


def test_nested_entries_carry_build_and_compile_configs():
    model = _sequential_in_functional(lamina)
    seq = next(l for l in model.get_config()["layers"] if l["name"] == "seq")
    assert seq["module"] == "keras" and _json(seq["build_config"]) == {"input_shape": [None, 4]}
    assert seq["compile_config"] == {}
    inner = _inner(lamina, "inner")
    assert inner.get_build_config() == {"input_shape": None}
    inner.compile(optimizer="sgd", loss="mse")
    x = lamina.Input((4,), name="x")
    entry = next(l for l in lamina.Model(x, inner(x)).get_config()["layers"] if l["name"] == "inner")
    assert entry["compile_config"]["loss"] == "mse"


def _cloning_trace(k, model, recursive, with_call_function):
    seen, called = [], []

    def clone_function(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())

    def call_function(layer, *args, **kwargs):
        called.append(layer.name)
        return layer(*args, **kwargs)

    clone = k.models.clone_model(
        model,
        clone_function=clone_function,
        call_function=call_function if with_call_function else None,
        recursive=recursive,
    )
    return clone, seen, called


@pytest.mark.oracle
@pytest.mark.parametrize("recursive", [False, True])
@pytest.mark.parametrize("shape", ["two_deep", "shared_twice", "sequential_in_functional"])
def test_clone_function_sees_the_layers_keras_gives_it(oracle, shape, recursive):
    build, n_inputs = SHAPES[shape]
    with_call = shape != "sequential_in_functional" or not recursive
    ours, our_seen, our_called = _cloning_trace(lamina, build(lamina), recursive, with_call)
    theirs, their_seen, their_called = _cloning_trace(oracle, build(oracle), recursive, with_call)
    assert our_seen == their_seen
    assert our_called == their_called
    assert _json(ours.get_config()) == _json(theirs.get_config())


def test_clone_keeps_sharing_and_compile_and_takes_input_tensors():
    model = _shared_twice(lamina)
    model.compile(optimizer="adam", loss="mse")
    clone = lamina.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.get_layer("inner") is not model.get_layer("inner")
    assert len(clone.get_layer("inner")._inbound_nodes) == 2
    assert clone.compiled and clone.get_compile_config()["loss"] == "mse"
    a, b = lamina.Input((4,), name="na"), lamina.Input((4,), name="nb")
    rebuilt = lamina.models.clone_model(model, input_tensors=[a, b])
    assert rebuilt.inputs[0] is a and rebuilt.inputs[1] is b


def test_clone_model_argument_errors():
    seq = _sequential_in_functional(lamina).get_layer("seq")
    with pytest.raises(ValueError, match="`call_function` argument is not supported with Sequential"):
        lamina.models.clone_model(seq, call_function=lambda layer, *a, **k: layer(*a, **k))
    with pytest.raises(ValueError, match="Unexpected keyword argument"):
        lamina.models.clone_model(seq, deep=True)
    with pytest.raises(ValueError, match="must be KerasTensors"):
        lamina.models.clone_model(_functional_in_functional(lamina), input_tensors=[np.zeros((1, 4))])


@pytest.mark.oracle
@pytest.mark.parametrize("shape", ["shared_twice", "two_deep", "sequential_in_functional"])
def test_json_moves_between_keras_and_lamina(oracle, shape):
    build, n_inputs = SHAPES[shape]
    ref, model = build(oracle), build(lamina)
    from_keras = lamina.models.model_from_json(ref.to_json())
    assert _json(from_keras.get_config()) == _json(ref.get_config())
    from_lamina = oracle.models.model_from_json(model.to_json())
    assert _json(from_lamina.get_config()) == _json(ref.get_config())
    from_lamina.set_weights(model.get_weights())
    x = _data(n_inputs)
    _assert_same(from_lamina(x), model(x))


@pytest.mark.oracle
@pytest.mark.parametrize("shape", ["shared_twice", "two_deep", "sequential_in_functional"])
def test_legacy_h5_files_both_ways(oracle, shape, tmp_path):
    # What `ModelCheckpoint("best.h5")` writes for a model holding models.
    build, n_inputs = SHAPES[shape]
    ref, model = build(oracle), build(lamina)
    ref.save(tmp_path / "k.h5")
    model.save(tmp_path / "l.h5")
    x = _data(n_inputs)
    _assert_same(lamina.models.load_model(tmp_path / "k.h5")(x), ref(x))
    _assert_same(oracle.models.load_model(tmp_path / "l.h5")(x), model(x))
