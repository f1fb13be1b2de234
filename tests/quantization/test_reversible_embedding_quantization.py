"""ReversibleEmbedding int8 / int4 quantization against Keras 3 (JAX)."""

import numpy as np
import pytest

import lamina
from quant_oracle import (archives_both_ways, assert_same_call, assert_same_saved_variables, assert_same_weights,
                          int4_configs, layer_pair, model_pair, quantize, quantize_with_lora,
                          weights_files_both_ways)

_FACTORS = ("lora_embeddings_a", "lora_embeddings_b")


def _assert_same_layer(l, k, rng, output_dim):
    """Same weights, lookups, reverse projections and saved variables."""
    assert l.dtype_policy.name == k.dtype_policy.name
    assert_same_weights(l, k)
    assert_same_call(l, k, rng.integers(0, 9, (3, 4)))
    assert_same_call(l, k, rng.standard_normal((3, 4, output_dim)).astype("float32"), reverse=True)
    assert_same_saved_variables(l, k)


@pytest.mark.oracle
@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("lora", [False, True])
def test_int8_matches_keras(oracle, tie_weights, lora):
    rng = np.random.default_rng(0)
    k, l = layer_pair(oracle, rng, "ReversibleEmbedding", 9, 6, tie_weights=tie_weights, logit_soft_cap=5.0)
    quantize_with_lora(rng, k, l, "int8", (None, None), "before" if lora else "none", _FACTORS)
    _assert_same_layer(l, k, rng, 6)


def _model(lib, dtype=None):
    return lib.Sequential(
        [lib.Input((4,), dtype="int32"), lib.layers.ReversibleEmbedding(9, 6, tie_weights=False, dtype=dtype)]
    )


@pytest.mark.oracle
def test_int8_files_both_ways(oracle, tmp_path):
    rng = np.random.default_rng(1)
    k, l = model_pair(oracle, _model, rng)
    quantize(k, l, "int8")
    x = rng.integers(0, 9, (2, 4)).astype("int32")
    expected = k.predict(x, verbose=0)
    l2, k2 = _model(lamina, "int8_from_float32"), _model(oracle, "int8_from_float32")
    weights_files_both_ways(tmp_path, k, l, k2, l2, x, expected)
    assert_same_call(l2.layers[0], k.layers[0], rng.standard_normal((2, 6)).astype("float32"), reverse=True)
    archives_both_ways(oracle, tmp_path, k, l, x, expected)


def test_errors():
    with pytest.raises(ValueError, match="float8"):
        lamina.layers.ReversibleEmbedding(4, 2, dtype="float8_from_float32")
    layer = lamina.layers.ReversibleEmbedding(4, 2)
    layer.build()
    with pytest.raises(NotImplementedError, match="float8"):
        layer.quantize("float8")

    class Sub(lamina.layers.ReversibleEmbedding):
        pass

    sub = Sub(4, 2)
    sub.build()
    with pytest.raises(NotImplementedError, match="quantize"):
        sub.quantize("int8")


@pytest.mark.oracle
@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("block_size", [None, 4, 128, "inputs"])
@pytest.mark.parametrize("output_dim", [6, 5])
def test_int4_matches_keras(oracle, tie_weights, block_size, output_dim):
    rng = np.random.default_rng(0)
    k, l = layer_pair(oracle, rng, "ReversibleEmbedding", 9, output_dim, tie_weights=tie_weights, logit_soft_cap=5.0)
    configs = int4_configs(oracle, block_size, axis=-1)
    quantize_with_lora(rng, k, l, "int4", configs, "before", _FACTORS)
    _assert_same_layer(l, k, rng, output_dim)
