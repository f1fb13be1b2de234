"""``lamina.quantizers`` math against ``keras.quantizers`` (JAX)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import quantizers


@pytest.mark.oracle
def test_abs_max_quantize_and_quantizer(oracle):
    x = np.random.default_rng(0).standard_normal((4, 7)).astype("float32")
    for axis in (0, -1):
        for to_numpy in (False, True):
            q, s = quantizers.abs_max_quantize(x, axis, to_numpy=to_numpy)
            kq, ks = oracle.quantizers.abs_max_quantize(x, axis, to_numpy=to_numpy)
            np.testing.assert_array_equal(q.numpy(), np.asarray(kq))
            np.testing.assert_allclose(s.numpy(), np.asarray(ks), rtol=1e-6)
    q, s = quantizers.AbsMaxQuantizer(value_range=(-8, 7))(x, axis=0)
    kq, ks = oracle.quantizers.AbsMaxQuantizer(value_range=(-8, 7))(x, axis=0)
    np.testing.assert_array_equal(q.numpy(), np.asarray(kq))
    config = quantizers.serialize(quantizers.AbsMaxQuantizer(axis=0))
    assert quantizers.deserialize(config).axis == (0,)
    with pytest.raises(ValueError, match="value_range"):
        quantizers.AbsMaxQuantizer(value_range=(-300, 300))


@pytest.mark.oracle
def test_grouped_quantize_and_int4_packing(oracle):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 3)).astype("float32")
    ours = quantizers.abs_max_quantize_grouped_with_zero_point(x, block_size=4)
    theirs = oracle.quantizers.abs_max_quantize_grouped_with_zero_point(x, block_size=4, to_numpy=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6)
    ints = rng.integers(-8, 8, size=(5, 3)).astype("int8")
    for axis in (0, 1, -1):
        packed, shape, n = quantizers.pack_int4(ints, axis=axis)
        kpacked, kshape, kn = oracle.quantizers.pack_int4(ints, axis=axis)
        np.testing.assert_array_equal(packed.numpy(), np.asarray(kpacked))
        assert (shape, n) == (tuple(kshape), kn)
        np.testing.assert_array_equal(quantizers.unpack_int4(packed, n, axis=axis).numpy(), ints)
    with pytest.raises(TypeError, match="int8"):
        quantizers.pack_int4(ints.astype("int32"))


@pytest.mark.oracle
def test_float8_helpers(oracle):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((6, 5)) * 300).astype("float32")
    scale = np.float32(0.5)
    np.testing.assert_allclose(
        quantizers.quantize_and_dequantize(x, scale, "float8_e4m3fn", "float32").numpy(),
        np.asarray(oracle.quantizers.quantize_and_dequantize(x, scale, "float8_e4m3fn", "float32")),
    )
    for amax in (np.float32(3.0), np.float32(0.0), np.float32(np.inf)):
        np.testing.assert_allclose(
            quantizers.compute_float8_scale(amax, scale, 448.0).numpy(),
            np.asarray(oracle.quantizers.compute_float8_scale(amax, scale, 448.0)),
        )
    history = rng.random(8).astype("float32")
    np.testing.assert_allclose(
        quantizers.compute_float8_amax_history(x, history).numpy(),
        np.asarray(oracle.quantizers.compute_float8_amax_history(x, history)),
    )


@pytest.mark.oracle
def test_fake_quant(oracle):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3)).astype("float32")
    for low, high, axis in ((-1.0, 1.5, None), (np.array([-1.0, -0.5, -2.0], "float32"), np.array([1.0, 0.5, 2.0], "float32"), -1)):
        for bits, narrow in ((8, False), (4, True)):
            ours = quantizers.fake_quant_with_min_max_vars(x, low, high, num_bits=bits, narrow_range=narrow, axis=axis)
            theirs = oracle.quantizers.fake_quant_with_min_max_vars(x, low, high, num_bits=bits, narrow_range=narrow, axis=axis)
            np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6, atol=1e-6)
    # Gradients: straight through inside the range, to the bounds outside it.
    xt = torch.tensor([-3.0, 0.2, 3.0], requires_grad=True)
    low = torch.tensor(-1.0, requires_grad=True)
    high = torch.tensor(1.0, requires_grad=True)
    quantizers.fake_quant_with_min_max_vars(xt, low, high).sum().backward()
    assert xt.grad.tolist() == [0.0, 1.0, 0.0] and low.grad.item() == 1.0 and high.grad.item() == 1.0


def test_namespace():
    assert lamina.Quantizer is quantizers.Quantizer
    assert isinstance(quantizers.get("AbsMaxQuantizer"), quantizers.AbsMaxQuantizer)
    assert quantizers.Int8QuantizationConfig().mode == "int8"
