"""int4 quantization (packed two per byte, per channel or in blocks) against Keras 3 (JAX)."""

import numpy as np
import pytest
import torch

import lamina
from quant_oracle import (TOLERANCE, archives_both_ways, assert_predicts, assert_same_call,
                          assert_same_saved_variables, assert_same_weights, int4_configs, layer_pair, model_pair,
                          quantize, quantize_with_lora, weights_files_both_ways)

BLOCKS = [None, -1, 3, 128]


def _same_layer(l, k, x):
    assert l.dtype_policy.name == k.dtype_policy.name
    assert_same_weights(l, k)
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), **TOLERANCE)
    assert_same_call(l, k, x)
    assert_same_saved_variables(l, k)


@pytest.mark.oracle
@pytest.mark.parametrize("block_size", BLOCKS)
@pytest.mark.parametrize("units", [6, 5])
@pytest.mark.parametrize("lora", ["none", "before", "after"])
def test_dense_int4_matches_keras(oracle, block_size, units, lora):
    rng = np.random.default_rng(0)
    k, l = layer_pair(oracle, rng, "Dense", units, build_shape=(None, 7), activation="relu")
    quantize_with_lora(rng, k, l, "int4", int4_configs(oracle, block_size), lora, ("lora_kernel_a", "lora_kernel_b"))
    _same_layer(l, k, rng.standard_normal((3, 7)).astype("float32"))


def _mlp(lib, dtype=None):
    return lib.Sequential(
        [
            lib.Input((8,)),
            lib.layers.Dense(16, activation="relu", dtype=dtype),
            lib.layers.Dense(5, dtype=dtype),
        ]
    )


@pytest.mark.oracle
@pytest.mark.parametrize("block_size", [-1, 4, 128])
def test_dense_int4_files_both_ways(oracle, tmp_path, block_size):
    rng = np.random.default_rng(1)
    k, l = model_pair(oracle, _mlp, rng)
    quantize(k, l, "int4", int4_configs(oracle, block_size))
    x = rng.standard_normal((4, 8)).astype("float32")
    expected = k.predict(x, verbose=0)
    assert_predicts(l, x, expected)
    dtype = f"int4/{block_size}_from_float32"
    l2, k2 = _mlp(lamina, dtype), _mlp(oracle, dtype)
    weights_files_both_ways(tmp_path, k, l, k2, l2, x, expected)
    from_keras, _ = archives_both_ways(oracle, tmp_path, k, l, x, expected)
    assert from_keras.layers[0].dtype_policy.name == dtype


@pytest.mark.oracle
def test_int4_activation_quantizer_matches_keras(oracle):
    rng = np.random.default_rng(2)
    k, l = layer_pair(oracle, rng, "Dense", 4, build_shape=(None, 6))
    quantize(k, l, configs=int4_configs(oracle, "inputs"))
    _same_layer(l, k, rng.standard_normal((3, 6)).astype("float32"))
    assert lamina.quantizers.serialize(l.quantization_config) == oracle.quantizers.serialize(k.quantization_config)


def test_int4_gradient_and_frozen_weights():
    layer = lamina.layers.Dense(4)
    layer.build((None, 6))
    layer.quantize("int4")
    assert [w.name for w in layer.trainable_weights] == ["bias"]
    x = torch.randn(3, 6, requires_grad=True)
    layer(x).sum().backward()
    kernel = lamina.ops.quantization.dequantize_with_sz_map(
        layer.kernel, layer.kernel_scale, layer.kernel_zero, layer.g_idx
    )
    torch.testing.assert_close(x.grad, kernel.sum(dim=1).expand(3, 6))


def test_int4_config_errors_and_round_trip():
    Int4 = lamina.quantizers.Int4QuantizationConfig
    with pytest.raises(ValueError, match="block_size"):
        Int4(block_size=0)
    with pytest.raises(ValueError, match="custom quantizers"):
        Int4(weight_quantizer=lamina.quantizers.AbsMaxQuantizer(value_range=(-8, 7)), block_size=64)
    with pytest.raises(ValueError, match="value_range"):
        Int4(weight_quantizer=lamina.quantizers.AbsMaxQuantizer(), block_size=None)
    config = Int4(block_size=32)
    clone = lamina.quantizers.deserialize(lamina.quantizers.serialize(config))
    assert isinstance(clone, Int4) and clone.block_size == 32 and clone.activation_quantizer is None
    layer = lamina.layers.Dense(3)
    layer.build((None, 4))
    with pytest.raises(ValueError, match="Contradictory"):
        layer.quantize("int8", config=config)
    with pytest.raises(ValueError, match="QuantizationConfig"):
        layer.quantize("int4", config=3)
    layer.quantize(config=config)
    assert layer.dtype_policy.name == "int4/32_from_float32"
    restored = lamina.layers.Dense.from_config(layer.get_config())
    restored.build((None, 4))
    assert restored.quantization_config.block_size == 32
    assert tuple(restored.kernel_scale.shape) == (1, 3)
    model = _mlp(lamina)
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        model.quantize("int3")
    with pytest.raises(ValueError, match="GPTQ"):
        lamina.quantizers._resolve_config("gptq", None)


@pytest.mark.oracle
@pytest.mark.parametrize("block_size", [None, 3, 128])
@pytest.mark.parametrize("output_dim", [6, 5])
@pytest.mark.parametrize("lora", ["none", "before", "after"])
def test_embedding_int4_matches_keras(oracle, block_size, output_dim, lora):
    rng = np.random.default_rng(0)
    k, l = layer_pair(oracle, rng, "Embedding", 9, output_dim)
    quantize_with_lora(rng, k, l, "int4", int4_configs(oracle, block_size), lora,
                       ("lora_embeddings_a", "lora_embeddings_b"))
    assert l.dtype_policy.name == k.dtype_policy.name
    assert_same_weights(l, k, shapes=False, trainable=False)
    np.testing.assert_allclose(l.embeddings.detach().numpy(), np.asarray(k.embeddings), **TOLERANCE)
    assert_same_call(l, k, rng.integers(0, 9, (3, 4)))
    assert_same_saved_variables(l, k)


def _embedder(lib, dtype=None):
    return lib.Sequential(
        [lib.Input((4,), dtype="int32"), lib.layers.Embedding(10, 6, dtype=dtype), lib.layers.Dense(3, dtype=dtype)]
    )


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_embedding_model_files_both_ways(oracle, tmp_path, mode):
    rng = np.random.default_rng(4)
    k, l = model_pair(oracle, _embedder, rng)
    quantize(k, l, mode)
    x = rng.integers(0, 10, (5, 4)).astype("int32")
    expected = k.predict(x, verbose=0)
    assert_predicts(l, x, expected)
    archives_both_ways(oracle, tmp_path, k, l, x, expected)
    dtype = "int8_from_float32" if mode == "int8" else "int4/128_from_float32"
    weights_files_both_ways(tmp_path, k, l, _embedder(oracle, dtype), _embedder(lamina, dtype), x, expected)


def test_embedding_config_errors():
    with pytest.raises(ValueError, match="quantization_config"):
        lamina.layers.Embedding(4, 2, quantization_config=lamina.quantizers.Float8QuantizationConfig())
    layer = lamina.layers.Embedding(4, 2)
    layer.build()
    with pytest.raises(NotImplementedError, match="float8"):
        layer.quantize("float8")
    layer.quantize("int4", config=lamina.quantizers.Int4QuantizationConfig(block_size=None))
    config = layer.get_config()
    assert config["quantization_config"]["config"]["block_size"] is None
    clone = lamina.layers.Embedding.from_config(config)
    clone.build()
    assert tuple(clone.embeddings_scale.shape) == (4,)
