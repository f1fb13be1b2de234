"""int4 quantization (packed two per byte, per channel or in blocks) against Keras 3 (JAX)."""

import numpy as np
import pytest
import torch

import lamina

BLOCKS = [None, -1, 3, 128]


def _configs(oracle, block_size):
    if block_size == 128:
        return None, None  # The mode's default config: blocks of 128 rows.
    return (
        oracle.quantizers.Int4QuantizationConfig(block_size=block_size),
        lamina.quantizers.Int4QuantizationConfig(block_size=block_size),
    )


def _same_layer(l, k, x):
    assert l.dtype_policy.name == k.dtype_policy.name
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert [tuple(w.shape) for w in l.weights] == [tuple(w.shape) for w in k.weights]
    assert [w.trainable for w in l.weights] == [w.trainable for w in k.weights]
    for a, b in zip(l.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(l(x).detach().numpy(), np.asarray(k(x)), rtol=1e-5, atol=1e-5)
    saved_k, saved_l = {}, {}
    k.save_own_variables(saved_k)
    l.save_own_variables(saved_l)
    assert list(saved_l) == list(saved_k)
    for key in saved_k:
        np.testing.assert_allclose(np.asarray(saved_l[key]), np.asarray(saved_k[key]), rtol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("block_size", BLOCKS)
@pytest.mark.parametrize("units", [6, 5])
@pytest.mark.parametrize("lora", ["none", "before", "after"])
def test_dense_int4_matches_keras(oracle, block_size, units, lora):
    rng = np.random.default_rng(0)
    k = oracle.layers.Dense(units, activation="relu")
    k.build((None, 7))
    l = lamina.layers.Dense(units, activation="relu")
    l.build((None, 7))
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    if lora == "before":
        k.enable_lora(2)
        l.enable_lora(2)
    kc, lc = _configs(oracle, block_size)
    k.quantize("int4", config=kc)
    l.quantize("int4", config=lc)
    if lora == "after":
        k.enable_lora(2)
        l.enable_lora(2)
    if lora != "none":
        # Non-zero factors, so the LoRA path and the merge on saving count.
        for name in ("lora_kernel_a", "lora_kernel_b"):
            value = rng.standard_normal(getattr(k, name).shape).astype("float32")
            getattr(k, name).assign(value)
            getattr(l, name).assign(value)
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
    k, l = _mlp(oracle), _mlp(lamina)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    kc, lc = _configs(oracle, block_size)
    k.quantize("int4", config=kc)
    l.quantize("int4", config=lc)
    x = rng.standard_normal((4, 8)).astype("float32")
    expected = k.predict(x, verbose=0)
    np.testing.assert_allclose(l.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    k.save_weights(tmp_path / "k.weights.h5")
    l.save_weights(tmp_path / "l.weights.h5")
    dtype = f"int4/{block_size}_from_float32"
    l2, k2 = _mlp(lamina, dtype), _mlp(oracle, dtype)
    l2.load_weights(tmp_path / "k.weights.h5")
    k2.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(l2.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(k2.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    k.save(tmp_path / "k.keras")
    l.save(tmp_path / "l.keras")
    from_keras = lamina.models.load_model(tmp_path / "k.keras")
    from_lamina = oracle.models.load_model(tmp_path / "l.keras")
    assert from_keras.layers[0].dtype_policy.name == dtype
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(from_lamina.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_int4_activation_quantizer_matches_keras(oracle):
    rng = np.random.default_rng(2)
    k = oracle.layers.Dense(4)
    k.build((None, 6))
    l = lamina.layers.Dense(4)
    l.build((None, 6))
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    k.quantize(config=oracle.quantizers.Int4QuantizationConfig(
        activation_quantizer=oracle.quantizers.AbsMaxQuantizer(), block_size=None))
    l.quantize(config=lamina.quantizers.Int4QuantizationConfig(
        activation_quantizer=lamina.quantizers.AbsMaxQuantizer(), block_size=None))
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
    k = oracle.layers.Embedding(9, output_dim)
    k.build()
    l = lamina.layers.Embedding(9, output_dim)
    l.build()
    table = rng.standard_normal((9, output_dim)).astype("float32")
    k.set_weights([table])
    l.set_weights([table])
    if lora == "before":
        k.enable_lora(2)
        l.enable_lora(2)
    kc, lc = _configs(oracle, block_size)
    k.quantize("int4", config=kc)
    l.quantize("int4", config=lc)
    if lora == "after":
        k.enable_lora(2)
        l.enable_lora(2)
    if lora != "none":
        for name in ("lora_embeddings_a", "lora_embeddings_b"):
            value = rng.standard_normal(getattr(k, name).shape).astype("float32")
            getattr(k, name).assign(value)
            getattr(l, name).assign(value)
    assert l.dtype_policy.name == k.dtype_policy.name
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    for a, b in zip(l.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)
    np.testing.assert_allclose(l.embeddings.detach().numpy(), np.asarray(k.embeddings), rtol=1e-5, atol=1e-5)
    ids = rng.integers(0, 9, (3, 4))
    np.testing.assert_allclose(l(ids).detach().numpy(), np.asarray(k(ids)), rtol=1e-5, atol=1e-5)
    saved_k, saved_l = {}, {}
    k.save_own_variables(saved_k)
    l.save_own_variables(saved_l)
    assert list(saved_l) == list(saved_k)
    for key in saved_k:
        np.testing.assert_allclose(np.asarray(saved_l[key]), np.asarray(saved_k[key]), rtol=1e-6)


def _embedder(lib, dtype=None):
    return lib.Sequential(
        [lib.Input((4,), dtype="int32"), lib.layers.Embedding(10, 6, dtype=dtype), lib.layers.Dense(3, dtype=dtype)]
    )


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_embedding_model_files_both_ways(oracle, tmp_path, mode):
    k, l = _embedder(oracle), _embedder(lamina)
    rng = np.random.default_rng(4)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    k.quantize(mode)
    l.quantize(mode)
    x = rng.integers(0, 10, (5, 4)).astype("int32")
    expected = k.predict(x, verbose=0)
    np.testing.assert_allclose(l.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    k.save(tmp_path / "k.keras")
    l.save(tmp_path / "l.keras")
    np.testing.assert_allclose(
        lamina.models.load_model(tmp_path / "k.keras").predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        oracle.models.load_model(tmp_path / "l.keras").predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5
    )
    k.save_weights(tmp_path / "k.weights.h5")
    dtype = "int8_from_float32" if mode == "int8" else "int4/128_from_float32"
    l2 = _embedder(lamina, dtype)
    l2.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(l2.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


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
