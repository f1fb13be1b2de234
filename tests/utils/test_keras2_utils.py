"""Keras 2 utility modules: ``utils.np_utils``, ``utils.generic_utils``, ``utils.layer_utils``."""

import numpy as np
import pytest

import lamina
from lamina.utils import generic_utils, layer_utils, np_utils


# --------------------------------------------------------------------------- np_utils


def test_to_categorical_keras2_behaviour():
    out = np_utils.to_categorical([0, 1, 2, 3], num_classes=4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(4, dtype="float32"))
    column = np_utils.to_categorical(np.array([[1], [0]]))  # a trailing axis of 1 is dropped
    assert column.shape == (2, 2)
    grid = np_utils.to_categorical(np.array([[0, 2], [1, 1]]), dtype="int32")
    assert grid.shape == (2, 2, 3) and grid.dtype == np.int32
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        np_utils.to_categorical([0, 2], num_classes=2)


@pytest.mark.oracle
def test_to_categorical_and_normalize_match_oracle(oracle):
    labels = np.array([3, 0, 2, 2, 1])
    np.testing.assert_array_equal(np_utils.to_categorical(labels), oracle.utils.to_categorical(labels))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    x[1] = 0.0
    # (Keras 3 turns axis=0 into -1, so only non-zero axes are compared.)
    for axis, order in ((-1, 2), (1, 1)):
        np.testing.assert_allclose(
            np_utils.normalize(x, axis, order), np.asarray(oracle.utils.normalize(x, axis, order)), rtol=1e-6
        )


def test_to_ordinal_and_normalize_return_numpy():
    np.testing.assert_array_equal(
        np_utils.to_ordinal([0, 1, 2, 3], num_classes=4),
        np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype="float32"),
    )
    normalized = np_utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert isinstance(normalized, np.ndarray)
    np.testing.assert_allclose(normalized, [[0.6, 0.8], [0.0, 0.0]])


# --------------------------------------------------------------------------- generic_utils


def test_generic_utils_reexports_the_registry_and_progbar():
    assert generic_utils.Progbar is lamina.utils.Progbar
    assert generic_utils.get_custom_objects is lamina.utils.get_custom_objects
    assert generic_utils.CustomObjectScope is lamina.utils.CustomObjectScope

    class Scaled(lamina.layers.Layer):
        pass

    with generic_utils.custom_object_scope({"Scaled": Scaled}):
        assert generic_utils.get_registered_object("Scaled") is Scaled
    config = generic_utils.serialize_keras_object(lamina.layers.Dense(3))
    assert generic_utils.deserialize_keras_object(config).units == 3


def test_small_helpers():
    assert generic_utils.to_list(3) == [3]
    items = [1, 2]
    assert generic_utils.to_list(items) is items
    assert generic_utils.to_list((1, 2)) == [(1, 2)]
    assert generic_utils.to_snake_case("Conv2DTranspose") == "conv2d_transpose"
    assert generic_utils.to_snake_case("LSTM") == "lstm"
    assert generic_utils.to_snake_case("_Merge") == "private__merge"
    assert generic_utils.is_all_none([None, (None, {"a": None})])
    assert not generic_utils.is_all_none([None, 0])
    assert generic_utils.make_batches(5, 2) == [(0, 2), (2, 4), (4, 5)]
    a, b = np.arange(6), np.arange(6) * 10
    assert [list(s) for s in generic_utils.slice_arrays([a, b], 1, 3)] == [[1, 2], [10, 20]]
    np.testing.assert_array_equal(generic_utils.slice_arrays(a, [0, 5]), [0, 5])
    assert generic_utils.slice_arrays(None) == [None]


def test_has_arg():
    def fn(a, b=1, *args, c, **kwargs):
        return a

    assert generic_utils.has_arg(fn, "b") and generic_utils.has_arg(fn, "c")
    assert not generic_utils.has_arg(fn, "args") and not generic_utils.has_arg(fn, "d")
    assert generic_utils.has_arg(fn, "d", accept_all=True)
    assert not generic_utils.has_arg(lambda x: x, "d", accept_all=True)


def test_func_dump_and_load_round_trip():
    offset = 10

    def shifted(x, scale=2):
        return x * scale + offset

    dumped = generic_utils.func_dump(shifted)
    code, defaults, closure = dumped
    assert isinstance(code, str) and defaults == (2,) and closure == (10,)
    loaded = generic_utils.func_load(dumped)
    assert loaded(1) == 12 and loaded(1, scale=3) == 13
    again = generic_utils.func_load(code, defaults=list(defaults), closure=closure)
    assert again(0) == 10


# --------------------------------------------------------------------------- layer_utils


def _two_input_model():
    a = lamina.Input((2,), name="a")
    b = lamina.Input((2,), name="b")
    merged = lamina.layers.add([lamina.layers.Dense(2)(a), b])
    out = lamina.layers.Dense(1)(lamina.layers.concatenate([merged, a]))
    return lamina.Model([a, b], out), a, b, merged, out


def test_get_source_inputs_walks_back_to_the_inputs():
    model, a, b, merged, out = _two_input_model()
    sources = layer_utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    assert layer_utils.get_source_inputs(a) == [a]
    array = np.ones(2)
    assert layer_utils.get_source_inputs(array) is array  # not a Keras tensor: returned as is
    assert lamina.engine.topology.get_source_inputs is layer_utils.get_source_inputs


def test_count_params_counts_each_weight_once():
    model = _two_input_model()[0]
    assert layer_utils.count_params(model.weights) == model.count_params() == (2 * 2 + 2) + (4 * 1 + 1)
    assert layer_utils.count_params(model.weights + model.weights) == model.count_params()


def test_print_summary_prints_the_model_summary():
    model = _two_input_model()[0]
    ours, reference = [], []
    layer_utils.print_summary(model, line_length=90, print_fn=ours.append)
    model.summary(line_length=90, print_fn=reference.append)
    assert ours == reference and any("Total params" in line for line in ours)
