"""``lamina.legacy.saving`` / ``lamina.utils.legacy`` (the Keras 2 serialization format),
``DTypePolicyMap`` and ``FloatDTypePolicy``, against Keras 3.15."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object


@pytest.mark.oracle
def test_legacy_namespaces_have_keras_names(oracle):
    for ours, theirs in ((lamina.legacy.saving, oracle.legacy.saving), (lamina.utils.legacy, oracle.utils.legacy)):
        names = {n for n in dir(theirs) if not n.startswith("_")}
        assert names == {"serialize_keras_object", "deserialize_keras_object"}
        assert names <= set(dir(ours))


@pytest.mark.oracle
def test_legacy_serialize_matches_keras_format(oracle):
    ours, theirs = lamina.legacy.saving.serialize_keras_object, oracle.legacy.saving.serialize_keras_object
    assert ours(None) is theirs(None) is None
    assert ours(lamina.activations.relu) == theirs(oracle.activations.relu) == "relu"
    assert ours(lamina.initializers.HeNormal(seed=3)) == theirs(oracle.initializers.HeNormal(seed=3))
    assert ours(lamina.regularizers.L2(0.5)) == theirs(oracle.regularizers.L2(0.5))
    assert ours(lamina.constraints.MaxNorm(2.0)) == theirs(oracle.constraints.MaxNorm(2.0))
    ours = lamina.legacy.saving.serialize_keras_object(lamina.layers.Dense(3, activation="relu", name="d"))
    theirs = oracle.legacy.saving.serialize_keras_object(oracle.layers.Dense(3, activation="relu", name="d"))
    assert set(ours) == set(theirs) == {"class_name", "config"}
    assert ours["class_name"] == theirs["class_name"] == "Dense"
    for key in ("name", "units", "activation", "use_bias", "kernel_initializer", "bias_initializer"):
        assert ours["config"][key] == theirs["config"][key], key
    json.dumps(ours)


@pytest.mark.oracle
def test_legacy_deserialize_reads_keras_written_configs(oracle):
    config = oracle.legacy.saving.serialize_keras_object(
        oracle.layers.Dense(3, activation="tanh", name="d")
    )
    layer = lamina.legacy.saving.deserialize_keras_object(
        config, module_objects={"Dense": lamina.layers.Dense}
    )
    assert isinstance(layer, lamina.layers.Dense) and layer.units == 3 and layer.name == "d"
    assert layer.activation is lamina.activations.tanh
    # Keras 2 style nested objects marked for passive serialization come back as objects.
    nested = {
        "class_name": "Dense",
        "config": {
            "units": 2,
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.1}, "__passive_serialization__": True},
        },
    }
    layer = lamina.utils.legacy.deserialize_keras_object(
        nested, module_objects={"Dense": lamina.layers.Dense, "L2": lamina.regularizers.L2}
    )
    assert isinstance(layer.kernel_regularizer, lamina.regularizers.L2)


def test_legacy_deserialize_names_custom_objects_and_errors():
    d = lamina.legacy.saving.deserialize_keras_object
    assert d("relu", module_objects=vars(lamina.activations)) is lamina.activations.relu
    assert isinstance(d("Zeros", module_objects=vars(lamina.initializers)), lamina.initializers.Zeros)

    def custom(x):
        return x

    assert d("custom", custom_objects={"custom": custom}) is custom
    with lamina.utils.custom_object_scope({"custom": custom}):
        assert d("custom") is custom
    assert d(custom) is custom and d(None) is None
    with pytest.raises(ValueError, match="Unknown layer: 'Nope'"):
        d({"class_name": "Nope", "config": {}}, printable_module_name="layer")
    with pytest.raises(ValueError, match="Improper config format"):
        d({"config": {}})
    with pytest.raises(ValueError, match="Could not interpret"):
        d(3)
    with pytest.raises(ValueError, match="get_config"):
        lamina.legacy.saving.serialize_keras_object(object())


@pytest.mark.oracle
def test_dtype_policy_map_lookup_and_config_match_keras(oracle):
    maps = []
    for lib in (lamina, oracle):
        m = lib.dtype_policies.DTypePolicyMap(default_policy="float32")
        m["encoder/layer_0/dense"] = "bfloat16"
        m["encoder/.*"] = "float16"
        m["decoder"] = lib.dtype_policies.DTypePolicy("bfloat16")
        maps.append(m)
    ours, theirs = maps
    for path in ("encoder/layer_0/dense", "encoder/attention/query", "decoder", "decoder/attention", "x"):
        assert ours[path].name == theirs[path].name, path
    assert ours.name == theirs.name == "map_float32"
    assert (ours.compute_dtype, ours.variable_dtype) == (theirs.compute_dtype, theirs.variable_dtype)
    assert len(ours) == len(theirs) == 3 and "decoder" in ours and list(ours) == list(theirs)
    assert json.dumps(serialize_keras_object(ours)) == json.dumps(oracle.saving.serialize_keras_object(theirs))
    back = deserialize_keras_object(oracle.saving.serialize_keras_object(theirs))
    assert isinstance(back, lamina.dtype_policies.DTypePolicyMap) and back == ours
    assert lamina.dtype_policies.get(oracle.saving.serialize_keras_object(theirs)) == ours
    for lib, m in ((lamina, ours), (oracle, theirs)):
        m["encoder/attention/.*"] = "bfloat16"
        with pytest.raises(ValueError, match="matches multiple"):
            m["encoder/attention/query"]
        with pytest.raises(ValueError, match="already exist"):
            m["decoder"] = "float32"
    del ours["decoder"]
    assert ours["decoder"].name == "float32"


def test_dtype_policy_map_errors_and_global_default():
    with pytest.raises(ValueError, match="cannot be a `DTypePolicyMap`"):
        lamina.dtype_policies.DTypePolicyMap(lamina.dtype_policies.DTypePolicyMap())
    with pytest.raises(TypeError, match="must be a dict"):
        lamina.dtype_policies.DTypePolicyMap(policy_map=[1])
    with pytest.raises(ValueError, match="Cannot interpret"):
        lamina.dtype_policies.DTypePolicyMap()["a"] = "int3"
    layer = lamina.layers.Dense(2, dtype=lamina.dtype_policies.DTypePolicyMap("float64"))
    assert layer.compute_dtype == "float64" and layer(np.ones((1, 3))).dtype == torch.float64
    m = lamina.dtype_policies.DTypePolicyMap()
    lamina.config.set_dtype_policy("mixed_float16")
    try:
        assert m.default_policy.name == "mixed_float16" and m.compute_dtype == "float16"
    finally:
        lamina.config.set_dtype_policy("float32")


@pytest.mark.oracle
def test_float_dtype_policy_serializes_like_keras(oracle):
    ours = serialize_keras_object(lamina.FloatDTypePolicy("float16"))
    theirs = oracle.saving.serialize_keras_object(oracle.FloatDTypePolicy("float16"))
    assert ours == theirs
    back = deserialize_keras_object(theirs)
    assert isinstance(back, lamina.FloatDTypePolicy) and back.compute_dtype == "float16"
    layer = lamina.layers.Dense(2, dtype=lamina.FloatDTypePolicy("float64"))
    assert layer.compute_dtype == "float64"
