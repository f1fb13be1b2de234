"""Mixed dtype policies: a layer computes in its compute dtype, variables read as in Keras's autocast
scope (see ``lamina/layers/_autocast.py``), and the outputs have the dtype Keras gives, the dtype the
symbolic call announces, and Keras's numbers at the low precision's tolerance."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

POLICIES = ["mixed_float16", "mixed_bfloat16"]
# Keras (XLA) and torch round low-precision intermediates differently.
TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 1e-1}


def _seq(lib, dtype):
    return [lib.layers.LSTMCell(3, dtype="float32"), lib.layers.GRUCell(2, dtype="float32")]


# name -> (factory(lib, dtype), input shapes)
CASES = {
    "Dense": (lambda lib, d: lib.layers.Dense(4, dtype=d), [(2, 3, 5)]),
    "Dense_regularized": (
        lambda lib, d: lib.layers.Dense(
            4, kernel_regularizer="l2", bias_regularizer="l1", kernel_constraint="max_norm", dtype=d
        ),
        [(2, 5)],
    ),
    "PReLU": (lambda lib, d: lib.layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", dtype=d), [(2, 3, 4)]),
    "EinsumDense": (
        lambda lib, d: lib.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", dtype=d),
        [(2, 3, 5)],
    ),
    "Conv1D": (lambda lib, d: lib.layers.Conv1D(3, 2, dtype=d), [(2, 6, 4)]),
    "SimpleRNN": (lambda lib, d: lib.layers.SimpleRNN(3, return_sequences=True, dtype=d), [(2, 3, 5)]),
    "GRU": (lambda lib, d: lib.layers.GRU(3, dtype=d), [(2, 3, 5)]),
    "LSTM": (lambda lib, d: lib.layers.LSTM(3, return_state=True, dtype=d), [(2, 3, 5)]),
    "RNN_float32_cells": (
        lambda lib, d: lib.layers.RNN(lib.layers.StackedRNNCells(_seq(lib, d)), dtype=d),
        [(2, 3, 5)],
    ),
    "Bidirectional": (lambda lib, d: lib.layers.Bidirectional(lib.layers.LSTM(2, dtype=d), dtype=d), [(2, 3, 5)]),
    "TimeDistributed_float32_dense": (
        lambda lib, d: lib.layers.TimeDistributed(lib.layers.Dense(2, dtype="float32"), dtype=d),
        [(2, 3, 5)],
    ),
    "AdditiveAttention": (lambda lib, d: lib.layers.AdditiveAttention(dtype=d), [(2, 3, 4), (2, 5, 4)]),
    "MultiHeadAttention": (
        lambda lib, d: lib.layers.MultiHeadAttention(2, 3, dtype=d),
        [(2, 3, 4), (2, 5, 4)],
    ),
    "LayerNormalization": (lambda lib, d: lib.layers.LayerNormalization(dtype=d), [(2, 3, 4)]),
    "BatchNormalization": (lambda lib, d: lib.layers.BatchNormalization(dtype=d), [(4, 3)]),
}


def _inputs(shapes):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


def _call(layer, xs):
    if len(xs) == 1:
        return layer(xs[0])
    if type(layer).__name__ == "MultiHeadAttention":
        return layer(xs[0], xs[1])
    return layer(xs)


def _flat(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


# Every case under float16; bfloat16 (the same code path, another dtype) on a few, to stay fast.
BFLOAT16_CASES = ["Dense_regularized", "EinsumDense", "LSTM", "RNN_float32_cells", "TimeDistributed_float32_dense"]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, policy",
    [(n, "mixed_float16") for n in sorted(CASES)] + [(n, "mixed_bfloat16") for n in BFLOAT16_CASES],
)
def test_outputs_match_keras_dtype_spec_and_values(oracle, name, policy):
    factory, shapes = CASES[name]
    xs = _inputs(shapes)
    theirs = factory(oracle, policy)
    expected = _flat(_call(theirs, xs))
    ours = factory(lamina, policy)
    _call(ours, [lamina.KerasTensor((None,) + s[1:]) for s in shapes])
    ours.set_weights(theirs.get_weights())
    got = _flat(_call(ours, xs))
    specs = _flat(_call(factory(lamina, policy), [lamina.KerasTensor((None,) + s[1:]) for s in shapes]))
    assert len(got) == len(expected) == len(specs)
    for g, e, s in zip(got, expected, specs):
        keras_dtype = oracle.backend.standardize_dtype(e.dtype)
        assert lamina.backend.standardize_dtype(g.dtype) == keras_dtype
        assert s.dtype == keras_dtype
        tol = TOLERANCE[policy]
        np.testing.assert_allclose(
            np.asarray(g.float().detach()), np.asarray(e, dtype="float32"), rtol=tol, atol=tol
        )
    # Variables stay float32, and the layer holds them again after the call.
    for w in ours.weights:
        if w.is_floating_point():
            assert w.dtype == torch.float32
    for value in ours.__dict__.values():
        assert not hasattr(value, "_lamina_autocast_source")


@pytest.mark.parametrize("policy", POLICIES)
def test_gradients_reach_the_float32_variables(policy):
    layer = layers.Dense(3, dtype=policy)
    x = torch.randn(4, 5)
    out = layer(x)
    assert out.dtype == getattr(torch, policy.split("_")[1])
    out.float().sum().backward()
    assert layer.kernel.grad is not None and layer.kernel.grad.dtype == torch.float32
    assert isinstance(layer.kernel, lamina.Variable)
    np.testing.assert_allclose(layer.kernel.grad.numpy(), np.tile(x.sum(0, keepdim=True).T, (1, 3)), rtol=1e-2)


@pytest.mark.oracle
def test_float32_layer_inside_a_mixed_model_stays_float32(oracle):
    def build(lib):
        lib.mixed_precision.set_global_policy("mixed_float16")
        try:
            inputs = lib.Input((4,))
            hidden = lib.layers.Dense(8)(inputs)
            outputs = lib.layers.Dense(3, dtype="float32")(hidden)
            return lib.Model(inputs, outputs)
        finally:
            lib.mixed_precision.set_global_policy("float32")

    theirs, ours = build(oracle), build(lamina)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(2).standard_normal((2, 4)).astype("float32")
    expected, got = theirs(x), ours(x)
    assert ours.output.dtype == "float32"
    assert lamina.backend.standardize_dtype(got.dtype) == oracle.backend.standardize_dtype(expected.dtype)
    assert ours.layers[1](x).dtype == torch.float16
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-2, atol=1e-2)


def test_layers_outside_a_mixed_policy_are_untouched():
    # A float32 layer never enters the autocast context: its call reads the variables themselves.
    seen = []

    class Probe(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            seen.append(self.w)
            return x * self.w

    probe = Probe()
    probe(np.ones((2, 3), "float32"))
    assert seen[-1] is probe.w and isinstance(seen[-1], lamina.Variable)
    mixed = Probe(dtype="mixed_float16")
    assert mixed(np.ones((2, 3), "float32")).dtype == torch.float16
    assert seen[-1].dtype == torch.float16 and isinstance(mixed.w, lamina.Variable)


def test_autocast_false_variables_keep_their_dtype():
    seen = []

    class Scaled(layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(2,), initializer="ones", autocast=False)
            self.bias = self.add_weight(shape=(2,), initializer="zeros")

        def call(self, x):
            seen.append((self.scale.dtype, self.bias.dtype))
            return x * self.scale + self.bias

    out = Scaled(dtype="mixed_bfloat16")(np.ones((1, 2), "float32"))
    # As in Keras: the float32 `scale` promotes the product back to float32.
    assert seen == [(torch.float32, torch.bfloat16)] and out.dtype == torch.float32


@pytest.mark.oracle
def test_variables_assigned_inside_a_mixed_call(oracle):
    # SpectralNormalization assigns `vector_u` and the kernel in its training call: the stand-in
    # casts forward `assign` to the variables, and later reads see the new values.
    x = np.random.default_rng(3).standard_normal((4, 3)).astype("float32")
    theirs = oracle.layers.SpectralNormalization(oracle.layers.Dense(5, dtype="mixed_float16"), dtype="mixed_float16")
    theirs.build(x.shape)
    ours = layers.SpectralNormalization(layers.Dense(5, dtype="mixed_float16"), dtype="mixed_float16")
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    expected, got = theirs(x, training=True), ours(x, training=True)
    assert got.dtype == torch.float16 and oracle.backend.standardize_dtype(expected.dtype) == "float16"
    np.testing.assert_allclose(got.float().detach().numpy(), np.asarray(expected, "float32"), rtol=2e-2, atol=2e-2)
    for a, e in zip(ours.get_weights(), theirs.get_weights()):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-2, atol=1e-2)
    assert isinstance(ours.vector_u, lamina.Variable) and isinstance(ours.layer.kernel, lamina.Variable)
