"""Every layer, forward and backward, in the input variants users feed: no crash, finite values;
and gradients equal to the oracle's for the layers with weights.

A torch kernel that crashes the process (torch 2.13's CPU group_norm backward did, on a
channels_last input that does not require grad) must never take a user's process down, so the
sweep runs in a child process and reports the case it died in.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_layer_forward_and_backward_without_crash():
    worker = os.path.join(_TESTS, "layers", "layer_sweep_worker.py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_TESTS, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, worker], capture_output=True, text=True, env=env, timeout=900
    )
    started = [line for line in proc.stdout.splitlines() if line.startswith("START")]
    last = started[-1] if started else "(none)"
    assert proc.returncode == 0, (
        f"sweep died with code {proc.returncode} in case {last!r}\n{proc.stderr[-3000:]}"
    )
    assert proc.stdout.strip().splitlines()[-1].startswith("DONE")
    assert int(proc.stdout.strip().split()[-1]) > 500


# (factory(module), input shape with batch, training flag)
GRADIENT_CASES = {
    "Dense": (lambda m: m.layers.Dense(3, activation="tanh"), (2, 4), False),
    "EinsumDense": (lambda m: m.layers.EinsumDense("abc,cd->abd", (3, 2), bias_axes="d"), (2, 3, 4), False),
    "Conv1D": (lambda m: m.layers.Conv1D(3, 3, padding="causal", dilation_rate=2), (2, 7, 2), False),
    "Conv2D": (lambda m: m.layers.Conv2D(3, 3, strides=2, padding="same"), (1, 6, 6, 2), False),
    "Conv2DTranspose": (lambda m: m.layers.Conv2DTranspose(2, 3, strides=2), (1, 4, 4, 3), False),
    "DepthwiseConv2D": (lambda m: m.layers.DepthwiseConv2D(3, depth_multiplier=2), (1, 5, 5, 2), False),
    "SeparableConv2D": (lambda m: m.layers.SeparableConv2D(2, 3), (1, 5, 5, 2), False),
    "SimpleRNN": (lambda m: m.layers.SimpleRNN(3, return_sequences=True), (2, 5, 2), False),
    "LSTM": (lambda m: m.layers.LSTM(3), (2, 5, 2), False),
    "GRU": (lambda m: m.layers.GRU(3, return_sequences=True), (2, 5, 2), False),
    "BatchNormalization": (lambda m: m.layers.BatchNormalization(), (4, 3, 3, 2), True),
    "LayerNormalization": (lambda m: m.layers.LayerNormalization(), (2, 3, 4), False),
    "GroupNormalization": (lambda m: m.layers.GroupNormalization(2), (1, 4, 4, 4), False),
    "RMSNormalization": (lambda m: m.layers.RMSNormalization(), (2, 3, 4), False),
    "UnitNormalization": (lambda m: m.layers.UnitNormalization(), (2, 3, 4), False),
    "PReLU": (lambda m: m.layers.PReLU(alpha_initializer="random_uniform"), (2, 3, 4), False),
    "Conv3D": (lambda m: m.layers.Conv3D(2, 2), (1, 3, 3, 3, 2), False),
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_gradients_match_oracle(oracle, name, layout):
    import jax

    factory, shape, training = GRADIENT_CASES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    kwargs = {"training": True} if training else {}
    theirs = factory(oracle)
    out = theirs(x, **kwargs)
    weighting = rng.standard_normal(tuple(out.shape)).astype("float32")
    ours = factory(lamina)
    ours.build(shape)
    ours.set_weights(theirs.get_weights())

    def loss(trainable, inputs):
        y, _ = theirs.stateless_call(trainable, [v.value for v in theirs.non_trainable_variables], inputs, **kwargs)
        return (y * weighting).sum()

    want_w, want_x = jax.grad(loss, argnums=(0, 1))([v.value for v in theirs.trainable_variables], x)

    tx = torch.tensor(x)
    if layout == "channels_last" and tx.dim() >= 3:
        tx = tx.movedim(-1, 1).contiguous().movedim(1, -1)
    for needs_input_grad in (True, False):
        ours.zero_grad()
        leaf = tx.detach().clone() if layout == "contiguous" else tx.detach()
        leaf.requires_grad_(needs_input_grad)
        loss_value = (ours(leaf, **kwargs) * torch.tensor(weighting)).sum()
        if not loss_value.requires_grad:
            continue  # no weights and no input gradient: nothing to compare
        loss_value.backward()
        if needs_input_grad:
            np.testing.assert_allclose(leaf.grad.numpy(), np.asarray(want_x), rtol=1e-4, atol=1e-5)
        assert len(ours.trainable_weights) == len(want_w)
        for v, w in zip(ours.trainable_weights, want_w):
            np.testing.assert_allclose(v.grad.numpy(), np.asarray(w), rtol=1e-4, atol=1e-5, err_msg=v.path)
