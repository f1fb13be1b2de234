"""``lamina.backend`` additions: dtype predicates, ``is_keras_tensor`` and ``result_type``."""

import itertools

import numpy as np
import pytest
import torch

import lamina
from lamina import backend

_DTYPES = [
    "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "float16", "float32", "float64", "complex64", "complex128", int, float, None,
]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return "error"


@pytest.mark.oracle
def test_result_type_matches_keras_on_every_pair_and_some_triples(oracle):
    for pair in itertools.product(_DTYPES, repeat=2):
        assert _outcome(backend.result_type, *pair) == _outcome(oracle.backend.result_type, *pair), pair
    for triple in [("uint8", "int8", float), (int, float, "int16"), ("bool", int, int), (int, int),
                   (float, float), ("bfloat16", "float16", int), ("uint64", "int64", "int8")]:
        assert backend.result_type(*triple) == oracle.backend.result_type(*triple), triple
    for single in _DTYPES:
        assert backend.result_type(single) == oracle.backend.result_type(single), single
    assert backend.result_type() == oracle.backend.result_type() == "float32"


@pytest.mark.oracle
def test_result_type_follows_floatx_for_weak_results(oracle):
    backend.set_floatx("float16")
    oracle.backend.set_floatx("float16")
    try:
        for args in [(int, float), (float,), (None,), ("int8", float), (int,)]:
            assert backend.result_type(*args) == oracle.backend.result_type(*args), args
    finally:
        backend.set_floatx("float32")
        oracle.backend.set_floatx("float32")


def test_result_type_errors():
    with pytest.raises(ValueError, match="float8"):
        backend.result_type("float8_e4m3fn", "float32")
    with pytest.raises(ValueError, match="Invalid dtype"):
        backend.result_type("float32", "nope")
    assert backend.result_type(torch.int8, np.uint8) == "int16"


@pytest.mark.oracle
def test_dtype_predicates_match_keras(oracle):
    for d in ["float8_e4m3fn", "float8_e5m2", "bool", "int8", "uint32", "bfloat16", "float64",
              "complex64", "int64", float, int]:
        assert backend.is_float_dtype(d) == oracle.backend.is_float_dtype(d), d
        assert backend.is_int_dtype(d) == oracle.backend.is_int_dtype(d), d
    assert backend.is_float_dtype(torch.float16) and backend.is_int_dtype(np.int16)


@pytest.mark.oracle
def test_is_keras_tensor(oracle):
    x = lamina.Input((3,))
    assert backend.is_keras_tensor(x) and oracle.backend.is_keras_tensor(oracle.Input((3,)))
    for value in (np.ones(3), torch.ones(3), 1.0, None):
        assert not backend.is_keras_tensor(value)
        assert not oracle.backend.is_keras_tensor(value)
    assert backend.is_keras_tensor(lamina.layers.Dense(2)(x))
