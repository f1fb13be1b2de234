"""ReversibleEmbedding int8 / int4 quantization against Keras 3 (JAX)."""

import numpy as np
import pytest

import lamina


def _layers(oracle, rng, **kwargs):
    k = oracle.layers.ReversibleEmbedding(9, 6, **kwargs)
    l = lamina.layers.ReversibleEmbedding(9, 6, **kwargs)
    k.build()
    l.build()
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    return k, l


@pytest.mark.oracle
@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("lora", [False, True])
def test_int8_matches_keras(oracle, tie_weights, lora):
    rng = np.random.default_rng(0)
    k, l = _layers(oracle, rng, tie_weights=tie_weights, logit_soft_cap=5.0)
    if lora:
        k.enable_lora(2)
        l.enable_lora(2)
    k.quantize("int8")
    l.quantize("int8")
    if lora:
        for name in ("lora_embeddings_a", "lora_embeddings_b"):
            value = rng.standard_normal(getattr(k, name).shape).astype("float32")
            getattr(k, name).assign(value)
            getattr(l, name).assign(value)
    assert l.dtype_policy.name == k.dtype_policy.name
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert [w.trainable for w in l.weights] == [w.trainable for w in k.weights]
    for a, b in zip(l.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)
    ids = rng.integers(0, 9, (3, 4))
    np.testing.assert_allclose(l(ids).detach().numpy(), np.asarray(k(ids)), rtol=1e-5, atol=1e-5)
    hidden = rng.standard_normal((3, 4, 6)).astype("float32")
    np.testing.assert_allclose(
        l(hidden, reverse=True).detach().numpy(), np.asarray(k(hidden, reverse=True)), rtol=1e-5, atol=1e-5
    )
    saved_k, saved_l = {}, {}
    k.save_own_variables(saved_k)
    l.save_own_variables(saved_l)
    assert list(saved_l) == list(saved_k)
    for key in saved_k:
        np.testing.assert_allclose(np.asarray(saved_l[key]), np.asarray(saved_k[key]), rtol=1e-6)


def _model(lib, dtype=None):
    return lib.Sequential(
        [lib.Input((4,), dtype="int32"), lib.layers.ReversibleEmbedding(9, 6, tie_weights=False, dtype=dtype)]
    )


@pytest.mark.oracle
def test_int8_files_both_ways(oracle, tmp_path):
    k, l = _model(oracle), _model(lamina)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    k.quantize("int8")
    l.quantize("int8")
    x = rng.integers(0, 9, (2, 4)).astype("int32")
    expected = k.predict(x, verbose=0)
    k.save_weights(tmp_path / "k.weights.h5")
    l.save_weights(tmp_path / "l.weights.h5")
    l2, k2 = _model(lamina, "int8_from_float32"), _model(oracle, "int8_from_float32")
    l2.load_weights(tmp_path / "k.weights.h5")
    k2.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(l2.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(k2.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    hidden = rng.standard_normal((2, 6)).astype("float32")
    np.testing.assert_allclose(
        l2.layers[0](hidden, reverse=True).detach().numpy(),
        np.asarray(k.layers[0](hidden, reverse=True)), rtol=1e-5, atol=1e-5,
    )
    k.save(tmp_path / "k.keras")
    l.save(tmp_path / "l.keras")
    np.testing.assert_allclose(
        lamina.models.load_model(tmp_path / "k.keras").predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        oracle.models.load_model(tmp_path / "l.keras").predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5
    )


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
    k = oracle.layers.ReversibleEmbedding(9, output_dim, tie_weights=tie_weights, logit_soft_cap=5.0)
    l = lamina.layers.ReversibleEmbedding(9, output_dim, tie_weights=tie_weights, logit_soft_cap=5.0)
    k.build()
    l.build()
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    k.enable_lora(2)
    l.enable_lora(2)
    if block_size == 128:
        kc = lc = None
    elif block_size == "inputs":
        kc = oracle.quantizers.Int4QuantizationConfig(activation_quantizer=oracle.quantizers.AbsMaxQuantizer(axis=-1), block_size=None)
        lc = lamina.quantizers.Int4QuantizationConfig(activation_quantizer=lamina.quantizers.AbsMaxQuantizer(axis=-1), block_size=None)
    else:
        kc = oracle.quantizers.Int4QuantizationConfig(block_size=block_size)
        lc = lamina.quantizers.Int4QuantizationConfig(block_size=block_size)
    k.quantize("int4", config=kc)
    l.quantize("int4", config=lc)
    for name in ("lora_embeddings_a", "lora_embeddings_b"):
        value = rng.standard_normal(getattr(k, name).shape).astype("float32")
        getattr(k, name).assign(value)
        getattr(l, name).assign(value)
    assert l.dtype_policy.name == k.dtype_policy.name
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert [tuple(w.shape) for w in l.weights] == [tuple(w.shape) for w in k.weights]
    for a, b in zip(l.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)
    ids = rng.integers(0, 9, (3, 4))
    np.testing.assert_allclose(l(ids).detach().numpy(), np.asarray(k(ids)), rtol=1e-5, atol=1e-5)
    hidden = rng.standard_normal((3, 4, output_dim)).astype("float32")
    np.testing.assert_allclose(
        l(hidden, reverse=True).detach().numpy(), np.asarray(k(hidden, reverse=True)), rtol=1e-5, atol=1e-5
    )
    saved_k, saved_l = {}, {}
    k.save_own_variables(saved_k)
    l.save_own_variables(saved_l)
    assert list(saved_l) == list(saved_k)
    for key in saved_k:
        np.testing.assert_allclose(np.asarray(saved_l[key]), np.asarray(saved_k[key]), rtol=1e-6)
