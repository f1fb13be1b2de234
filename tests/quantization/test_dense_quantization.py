"""Dense quantization (int8, float8) and LoRA against Keras 3 (JAX)."""

import numpy as np
import pytest
import torch

import lamina
from quant_oracle import (assert_same_call, assert_same_weights, copy_random_weights, enable_lora, layer_pair,
                          quantize)


def _pair(oracle, units=6, input_dim=5, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    return (*layer_pair(oracle, rng, "Dense", units, build_shape=(None, input_dim), **kwargs), rng)


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int8", "float8"])
def test_quantize_matches_keras(oracle, mode):
    k, l, rng = _pair(oracle, activation="relu")
    quantize(k, l, mode)
    assert l.dtype_policy.name == k.dtype_policy.name
    assert_same_weights(l, k, trainable=False)
    assert_same_call(l, k, rng.standard_normal((4, 5)).astype("float32"))


@pytest.mark.oracle
def test_int8_policy_at_construction(oracle):
    for dtype in ("int8_from_float32", "int8_from_mixed_bfloat16", "float8_from_float32"):
        k = oracle.layers.Dense(5, dtype=dtype)
        k.build((None, 3))
        l = lamina.layers.Dense(5, dtype=dtype)
        l.build((None, 3))
        assert [w.path for w in l.weights] == [w.path for w in k.weights]
        assert [w.trainable for w in l.weights] == [w.trainable for w in k.weights]
        assert lamina.dtype_policies.serialize(l.dtype_policy)["config"] == oracle.dtype_policies.serialize(k.dtype_policy)["config"]


@pytest.mark.oracle
def test_lora_matches_keras(oracle):
    k, l, rng = _pair(oracle)
    enable_lora(k, l, 3, lora_alpha=6.0)
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert [w.path for w in l.trainable_weights] == [w.path for w in k.trainable_weights]
    assert [w.path for w in l.non_trainable_weights] == [w.path for w in k.non_trainable_weights]
    copy_random_weights(rng, k, l)
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), rtol=1e-5, atol=1e-6)
    x = rng.standard_normal((4, 5)).astype("float32")
    assert_same_call(l, k, x)
    # int8 with LoRA on top.
    quantize(k, l, "int8")
    assert_same_call(l, k, x)


def test_lora_trains_only_the_factors():
    layer = lamina.layers.Dense(4, lora_rank=2)
    layer.build((None, 3))
    before = layer.kernel.detach().clone()
    assert layer.count_params() == 3 * 4 + 4 + 3 * 2 + 2 * 4
    out = layer(torch.ones(2, 3)).sum()
    out.backward()
    assert layer._kernel.grad is None
    assert layer.lora_kernel_a.grad is not None
    # `lora_kernel_b` starts at zero: the layer's kernel is unchanged.
    torch.testing.assert_close(layer.kernel, before)
    layer.trainable = True
    assert not layer._kernel.requires_grad


def test_errors():
    layer = lamina.layers.Dense(3)
    with pytest.raises(ValueError, match="isn't yet built"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="isn't yet built"):
        layer.quantize("int8")
    layer.build((None, 2))
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        layer.quantize("int3")
    layer.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
    with pytest.raises(ValueError, match="lora_rank"):
        lamina.layers.Dense(3, lora_rank=0)
    with pytest.raises(ValueError, match="constraint"):
        c = lamina.layers.Dense(3, kernel_constraint="non_neg")
        c.build((None, 2))
        c.enable_lora(2)


def test_config_round_trip():
    layer = lamina.layers.Dense(3, lora_rank=2, lora_alpha=4, dtype="int8_from_float32")
    config = layer.get_config()
    assert config["lora_rank"] == 2 and config["lora_alpha"] == 4
    clone = lamina.layers.Dense.from_config(config)
    assert clone.dtype_policy == layer.dtype_policy and clone.lora_rank == 2


@pytest.mark.oracle
def test_embedding_int8_and_lora_match_keras(oracle, tmp_path):
    rng = np.random.default_rng(1)
    table = rng.standard_normal((12, 6)).astype("float32")
    ids = rng.integers(0, 12, size=(3, 4))
    k = oracle.layers.Embedding(12, 6)
    k.build()
    l = lamina.layers.Embedding(12, 6)
    l.build()
    k.set_weights([table])
    l.set_weights([table])
    enable_lora(k, l, 2)
    assert [w.path for w in l.trainable_weights] == [w.path for w in k.trainable_weights]
    copy_random_weights(rng, k, l)
    assert_same_call(l, k, ids, atol=1e-6)
    quantize(k, l, "int8")
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert_same_call(l, k, ids, atol=1e-6)
    with pytest.raises(ValueError, match="float8"):
        lamina.layers.ReversibleEmbedding(10, 4, dtype="float8_from_float32")
