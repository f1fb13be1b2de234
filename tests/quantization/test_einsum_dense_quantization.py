"""EinsumDense quantization (int8, float8) and LoRA against Keras 3 (JAX)."""

import numpy as np
import pytest
import torch

import lamina
from quant_oracle import (TOLERANCE, archives_both_ways, assert_predicts, assert_same_call, assert_same_saved_variables,
                          assert_same_weights, copy_random_weights, enable_lora, int4_configs, layer_pair, model_pair,
                          quantize, quantize_with_lora, weights_files_both_ways)

# (equation, output_shape, input_shape, bias_axes): plain, batched, multi-axis, and an
# equation whose contracted kernel axes outnumber the output axes the kernel lacks.
CASES = [
    ("ab,bc->ac", (4,), (None, 3), "c"),
    ("abc,cd->abd", (None, 5), (None, 2, 3), None),
    ("btd,ndh->btnh", (None, 2, 4), (None, 3, 5), "nh"),
    ("abcd,cde->abe", (None, 5), (None, 2, 3, 4), "e"),
]


def _pair(oracle, eq, out, ish, bias, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    k, l = layer_pair(oracle, rng, "EinsumDense", eq, out, build_shape=ish, bias_axes=bias, activation="relu", **kwargs)
    return k, l, rng


def _same(l, k, rng, input_shape):
    assert_same_weights(l, k)
    assert_same_call(l, k, rng.standard_normal((3,) + tuple(input_shape[1:])).astype("float32"))


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", ["int8", "float8"])
def test_quantize_matches_keras(oracle, case, mode):
    k, l, rng = _pair(oracle, *case)
    quantize(k, l, mode)
    assert l.dtype_policy.name == k.dtype_policy.name
    _same(l, k, rng, case[2])


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_lora_matches_keras(oracle, case):
    k, l, rng = _pair(oracle, *case)
    enable_lora(k, l, 2, lora_alpha=3.0)
    assert [w.path for w in l.trainable_weights] == [w.path for w in k.trainable_weights]
    copy_random_weights(rng, k, l)
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), rtol=1e-5, atol=1e-6)
    _same(l, k, rng, case[2])
    quantize(k, l, "int8")
    _same(l, k, rng, case[2])


@pytest.mark.oracle
def test_quantized_policy_at_construction(oracle):
    for dtype in ("int8_from_float32", "float8_from_float32", "int8_from_mixed_bfloat16"):
        k = oracle.layers.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="e", dtype=dtype)
        k.build((None, 3, 6))
        l = lamina.layers.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="e", dtype=dtype)
        l.build((None, 3, 6))
        assert [w.path for w in l.weights] == [w.path for w in k.weights]
        assert [tuple(w.shape) for w in l.weights] == [tuple(w.shape) for w in k.weights]
        assert [w.trainable for w in l.weights] == [w.trainable for w in k.weights]


def _model(lib, **kwargs):
    return lib.Sequential(
        [
            lib.Input((3, 6)),
            lib.layers.EinsumDense("abc,cd->abd", (None, 8), bias_axes="d", activation="relu", **kwargs),
            lib.layers.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="e"),
        ]
    )


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int8", "float8", "lora"])
def test_files_both_ways(oracle, tmp_path, mode):
    kwargs = {"lora_rank": 2} if mode == "lora" else {}
    rng = np.random.default_rng(0)
    k, l = model_pair(oracle, lambda lib: _model(lib, **kwargs), rng)
    l2, k2 = _model(lamina, **kwargs), _model(oracle, **kwargs)
    if mode != "lora":
        quantize(k, l, mode)
        quantize(k2, l2, mode)
    x = rng.standard_normal((4, 3, 6)).astype("float32")
    expected = k.predict(x, verbose=0)
    assert_predicts(l, x, expected)
    weights_files_both_ways(tmp_path, k, l, k2, l2, x, expected)
    from_keras, _ = archives_both_ways(oracle, tmp_path, k, l, x, expected)
    assert from_keras.layers[0].dtype_policy.name == k.layers[0].dtype_policy.name


def test_int8_gradient_passes_through_the_dequantized_kernel():
    layer = lamina.layers.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="e")
    layer.build((None, 3, 6))
    layer.quantize("int8")
    x = torch.randn(2, 3, 6, requires_grad=True)
    layer(x).sum().backward()
    kernel = layer._kernel.to(torch.float32) / layer.kernel_scale.reshape(1, 2, 4)
    x2 = x.detach().clone().requires_grad_(True)
    torch.einsum("abc,cde->abde", x2, kernel).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)


def test_int8_with_ellipsis_equation():
    # Keras 3.15 cannot quantize these (it reads the input rank as a shape); Lamina can.
    rng = np.random.default_rng(0)
    layer = lamina.layers.EinsumDense("...b,bc->...c", 4)
    layer.build((None, 2, 3))
    x = rng.standard_normal((5, 2, 3)).astype("float32")
    expected = layer(x).detach().numpy()
    layer.quantize("int8")
    assert tuple(layer.kernel_scale.shape) == (1, 1, 4)  # Laid out against the output.
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, atol=0.05)


def test_lora_trains_only_the_factors():
    layer = lamina.layers.EinsumDense("abc,cde->abde", (None, 2, 4), lora_rank=2)
    layer.build((None, 3, 6))
    assert [w.name for w in layer.trainable_weights] == ["lora_kernel_a", "lora_kernel_b"]
    assert tuple(layer.lora_kernel_a.shape) == (6, 2, 2) and tuple(layer.lora_kernel_b.shape) == (2, 4)
    before = layer.kernel.detach().clone()
    layer(torch.ones(2, 3, 6)).sum().backward()
    assert layer._kernel.grad is None and layer.lora_kernel_a.grad is not None
    torch.testing.assert_close(layer.kernel, before)


def test_errors():
    layer = lamina.layers.EinsumDense("ab,bc->ac", 3)
    with pytest.raises(ValueError, match="isn't yet built"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="isn't yet built"):
        layer.quantize("int8")
    layer.build((None, 2))
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        layer.quantize("int3")
    layer.enable_lora(2)
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)
    layer.quantize("float8")
    with pytest.raises(NotImplementedError, match="LoRA"):
        layer(np.ones((1, 2), "float32"))
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
    with pytest.raises(ValueError, match="constraint"):
        c = lamina.layers.EinsumDense("ab,bc->ac", 3, kernel_constraint="non_neg")
        c.build((None, 2))
        c.enable_lora(2)
    with pytest.raises(ValueError, match="lora_alpha"):
        lamina.layers.EinsumDense("ab,bc->ac", 3, lora_alpha="big")

    class Sub(lamina.layers.EinsumDense):
        pass

    sub = Sub("ab,bc->ac", 3)
    sub.build((None, 2))
    with pytest.raises(NotImplementedError, match="quantize"):
        sub.quantize("int8")


def test_config_round_trip():
    layer = lamina.layers.EinsumDense(
        "ab,bc->ac", 3, lora_rank=2, lora_alpha=4, dtype="int8_from_float32",
        quantization_config=lamina.quantizers.Int8QuantizationConfig(activation_quantizer=None),
    )
    config = layer.get_config()
    assert config["lora_rank"] == 2 and config["lora_alpha"] == 4
    clone = lamina.layers.EinsumDense.from_config(config)
    assert clone.dtype_policy == layer.dtype_policy and clone.lora_rank == 2
    assert clone.quantization_config.activation_quantizer is None
    clone.build((None, 5))
    # Weight-only int8: the inputs stay float.
    assert clone.inputs_quantizer is None
    out = clone(np.ones((2, 5), "float32"))
    assert tuple(out.shape) == (2, 3)


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("block_size", [None, 3, 128, "inputs"])
@pytest.mark.parametrize("lora", ["none", "before", "after"])
def test_int4_matches_keras(oracle, case, block_size, lora):
    k, l, rng = _pair(oracle, *case)
    quantize_with_lora(rng, k, l, "int4", int4_configs(oracle, block_size), lora, ("lora_kernel_a", "lora_kernel_b"))
    assert l.dtype_policy.name == k.dtype_policy.name
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), **TOLERANCE)
    _same(l, k, rng, case[2])
    assert_same_saved_variables(l, k)


@pytest.mark.oracle
@pytest.mark.parametrize("block_size", [-1, 4])
def test_int4_files_both_ways(oracle, tmp_path, block_size):
    rng = np.random.default_rng(0)
    k, l = model_pair(oracle, _model, rng)
    k2, l2 = _model(oracle), _model(lamina)
    quantize(k, l, "int4", int4_configs(oracle, block_size))
    quantize(k2, l2, "int4", int4_configs(oracle, block_size))
    x = rng.standard_normal((4, 3, 6)).astype("float32")
    expected = k.predict(x, verbose=0)
    assert_predicts(l, x, expected)
    archives_both_ways(oracle, tmp_path, k, l, x, expected)
    weights_files_both_ways(tmp_path, k, l, k2, l2, x, expected)


def test_int4_gradient_passes_through_the_dequantized_kernel():
    layer = lamina.layers.EinsumDense("abc,cde->abde", (None, 2, 4))
    layer.build((None, 3, 6))
    layer.quantize("int4", config=lamina.quantizers.Int4QuantizationConfig(
        activation_quantizer=lamina.quantizers.AbsMaxQuantizer(), block_size=None))
    x = torch.randn(2, 3, 6, requires_grad=True)
    layer(x).sum().backward()
    kernel = layer._int4_float_kernel(torch.float32)
    x2 = x.detach().clone().requires_grad_(True)
    torch.einsum("abc,cde->abde", x2, kernel).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
