"""Tests for lamina.layers.core.einsum_dense.EinsumDense."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import initializers, layers
from lamina.layers.core.einsum_dense import EinsumDense


# (equation, output_shape, bias_axes, input shape without batch)
CASES = [
    ("ab,bc->ac", 4, "c", (3,)),
    ("abc,cd->abd", (None, 5), "d", (2, 3)),
    ("abc,cde->abde", (None, 4, 5), "de", (2, 3)),
    ("abc,cde->abde", (None, 4, 5), "e", (2, 3)),
    ("...b,bc->...c", 4, "c", (2, 3)),
    ("...b,bc->...c", 4, "c", (3,)),
    ("abcd,cde->abe", (2, 6), "be", (2, 3, 4)),
    ("ab...,bc->ac...", (4,), "c", (3, 5, 6)),
    ("abc,bcd->ad", (7,), None, (2, 3)),
    ("...ab,bc->...ac", (2, 4), "ac", (5, 2, 3)),
    ("btnh,nhd->btd", (None, 8), "d", (3, 2, 3)),
    ("abc,cd->abd", (3, 5), "bd", (3, 2)),
]


def _pair(oracle, equation, output_shape, bias_axes, shape):
    """The same layer in Keras and Lamina, built, holding the same random weights."""
    # Constant initializers keep the Keras build cheap (no JAX random kernels to compile).
    config = dict(
        equation=equation,
        output_shape=output_shape,
        bias_axes=bias_axes,
        kernel_initializer="zeros",
        bias_initializer="zeros",
        name="ed",
    )
    k = oracle.layers.EinsumDense(**config)
    k.build((None,) + shape)
    ours = EinsumDense(**config)
    ours.build((None,) + shape)
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") for w in k.weights]
    k.set_weights(weights)
    ours.set_weights(weights)
    return k, ours


@pytest.mark.oracle
@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", CASES)
def test_weights_match_oracle(oracle, equation, output_shape, bias_axes, shape):
    k, ours = _pair(oracle, equation, output_shape, bias_axes, shape)
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in k.weights]
    x = np.random.default_rng(0).normal(size=(2,) + shape).astype("float32")
    # Keras' EinsumDense is einsum + bias; numpy's einsum is the reference (calling the JAX layer
    # for every case would cost seconds of compilation).
    weights = k.get_weights()
    expected = np.einsum(equation, x, weights[0]) + (weights[1] if len(weights) > 1 else 0)
    np.testing.assert_allclose(ours(x).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("case", [CASES[2], CASES[7], CASES[9]], ids=lambda c: c[0])
def test_outputs_match_oracle(oracle, case):
    equation, output_shape, bias_axes, shape = case
    k, ours = _pair(oracle, equation, output_shape, bias_axes, shape)
    x = np.random.default_rng(1).normal(size=(2,) + shape).astype("float32")
    np.testing.assert_allclose(ours(x).detach().numpy(), np.asarray(k(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", CASES)
def test_symbolic_shape(oracle, equation, output_shape, bias_axes, shape):
    # Keras' shape rule is pure Python: ask it directly rather than building JAX weights.
    k_shape = oracle.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes).compute_output_shape(
        (None,) + shape
    )
    y = EinsumDense(equation, output_shape, bias_axes=bias_axes)(lamina.Input(shape))
    eager = EinsumDense(equation, output_shape, bias_axes=bias_axes)(np.zeros((2,) + shape, "float32"))
    assert y.shape[0] is None and y.shape[1:] == tuple(eager.shape[1:])
    # Keras leaves `None` where `output_shape` says None even when the input knows the size; Lamina
    # takes it from the input. Every size Keras does know agrees.
    assert len(y.shape) == len(k_shape)
    if not equation.startswith("...") or len(shape) < 3:
        assert all(kd is None or kd == d for kd, d in zip(k_shape, y.shape))


def test_unknown_dims_stay_unknown():
    y = EinsumDense("abc,cd->abd", (None, 5), bias_axes="d")(lamina.Input((None, 3)))
    assert y.shape == (None, None, 5)
    # Keras' own docstring example: the sequence length comes from the input.
    assert EinsumDense("abc,cd->abd", (None, 64))(lamina.Input((32, 128))).shape == (None, 32, 64)
    # Axes inside a leading ellipsis keep their order (Keras' symbolic shape swaps them).
    assert EinsumDense("...b,bc->...c", 4)(lamina.Input((2, 5, 3))).shape == (None, 2, 5, 4)


def test_activation_and_integer_inputs():
    layer = EinsumDense("ab,bc->ac", 2, activation="relu", bias_axes="c", kernel_initializer="ones")
    out = layer(np.array([[1, -2, 0]], dtype="int32"))
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.detach().numpy(), [[0.0, 0.0]])
    np.testing.assert_array_equal(layer(np.array([[1.0, 2.0, 0.0]])).detach().numpy(), [[3.0, 3.0]])


def test_variance_scaling_fans_come_from_the_kernel_axes():
    init = initializers.VarianceScaling(scale=1.0, mode="fan_out", distribution="uniform", seed=1)
    layer = EinsumDense("abc,cde->abde", (None, 40, 50), kernel_initializer=init)
    layer.build((None, 2, 3))
    # fan_out is 40 * 50 (the output axes); the generic rule for a rank-3 shape would give 150.
    assert np.abs(layer.get_weights()[0]).max() <= math.sqrt(3.0 / 2000)
    assert np.abs(layer.get_weights()[0]).max() > 0.9 * math.sqrt(3.0 / 2000)
    # The configured initializer itself is left as given, as in Keras.
    assert layer.get_config()["kernel_initializer"]["config"]["output_axes"] is None


def test_get_set_weights_and_regularizers():
    layer = EinsumDense("ab,bc->ac", 2, bias_axes="c", kernel_regularizer="l2", bias_regularizer="l1")
    layer.build((None, 3))
    weights = [np.ones((3, 2), "float32"), np.full((2,), -1.0, "float32")]
    layer.set_weights(weights)
    for got, expected in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(got, expected)
    assert [v.item() for v in layer.losses] == [pytest.approx(0.06), pytest.approx(0.02)]


@pytest.mark.oracle
def test_config_round_trip(oracle):
    config = dict(equation="abc,cde->abde", output_shape=(None, 4, 5), bias_axes="de", activation="tanh")
    k = oracle.layers.EinsumDense(name="ed", **config)
    ours = EinsumDense(name="ed", **config)
    assert ours.get_config() == k.get_config()
    k(oracle.Input((2, 3)))
    for layer in (EinsumDense.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, EinsumDense)
        assert layer.equation == "abc,cde->abde"
        assert (layer.partial_output_shape, layer.bias_axes) == ((None, 4, 5), "de")
        if not layer.built:
            layer.build((None, 2, 3))
        layer.set_weights(k.get_weights())
        x = np.ones((1, 2, 3), "float32")
        np.testing.assert_allclose(layer(x).detach().numpy(), np.asarray(k(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("ab,bc", 4), {}, "Invalid einsum equation"),
        ((3, 4), {}, "equation"),
        (("ab,bc->acd", (4, 5)), {}, "output axis 'd'"),
        (("ab,bcx->ac", 4), {}, "weight axis 'x'"),
        (("ab,bc->ac", "x"), {}, "output_shape"),
        (("ab,bc->ac", (4, 5)), {}, "must have 1 entries"),
        (("ab,bc->ac", 0), {}, "output_shape"),
        (("ab,bc->ac", 4), {"bias_axes": "x"}, "Bias dimension 'x'"),
        (("ab,bc->ac", 4), {"bias_axes": ""}, "bias_axes"),
        (("ab,bc->ac", 4), {"lora_rank": 0}, "lora_rank"),
        (("ab,bc->ac", 4), {"activation": "nope"}, "nope"),
    ],
)
def test_invalid_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        EinsumDense(*args, **kwargs)


def test_build_errors():
    with pytest.raises(ValueError, match="shared dimension 'b'"):
        EinsumDense("abc,cd->abd", (7, 5)).build((None, 3, 3))
    with pytest.raises(ValueError, match="kernel axis 'c'"):
        EinsumDense("ab,bc->ac", (None,)).build((None, 3))
    with pytest.raises(ValueError, match="kernel axis 'b'"):
        EinsumDense("ab,bc->ac", 4).build((None, None))


def test_wrong_input_rank_or_size():
    layer = EinsumDense("ab,bc->ac", 4)
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(np.ones((2, 3, 3), "float32"))
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="axis 1"):
        layer(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="min_ndim=2"):
        EinsumDense("...b,bc->...c", 4)(np.ones((3,), "float32"))
