"""The noise layers under ``jit_compile=True``: one graph, no break at the random draw.

Compiled code draws from torch's default stream (a seeded ``torch.Generator`` breaks the graph),
so its samples differ from eager ones; what each layer does with its samples is exact and is
checked here entry by entry, and inference (the identity) is compared with eager execution.
"""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.regularization.alpha_dropout import _SELU_ALPHA, _SELU_SCALE

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 6, 6, 4)).astype("float32")
Y = rng.normal(size=(16, 1)).astype("float32")

LAYERS = {
    "Dropout": lambda: lamina.layers.Dropout(0.3, seed=1),
    "GaussianNoise": lambda: lamina.layers.GaussianNoise(0.5, seed=1),
    "GaussianDropout": lambda: lamina.layers.GaussianDropout(0.3, seed=1),
    "SpatialDropout2D": lambda: lamina.layers.SpatialDropout2D(0.5, seed=1),
    "AlphaDropout": lambda: lamina.layers.AlphaDropout(0.3, seed=1),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_noise_layer_compiles_into_the_one_train_graph(name):
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    model = lamina.Sequential([
        lamina.Input((6, 6, 4)), lamina.layers.Dense(4), LAYERS[name](),
        lamina.layers.GlobalAveragePooling2D(), lamina.layers.Dense(1),
    ])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    model._make_train_function()._trials = 0
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0).history
    assert not model._train_function.failed
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert not torch._dynamo.utils.counters["graph_break"]
    assert np.all(np.isfinite(history["loss"]))


def _compiled_call(layer, x, training):
    torch._dynamo.reset()
    return torch.compile(lambda t: layer(t, training=training), fullgraph=True)(x)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_compiled_inference_equals_eager(name):
    layer = LAYERS[name]()
    x = torch.from_numpy(X)
    np.testing.assert_array_equal(_compiled_call(layer, x, False).numpy(), layer(x, training=False).numpy())


def test_compiled_spatial_dropout_drops_whole_channels():
    x = torch.from_numpy(X) + 10.0  # no zero inputs: a zero output means a dropped entry
    out = _compiled_call(lamina.layers.SpatialDropout2D(0.5, seed=1), x, True)
    ratio = (out / x).reshape(16, 36, 4)
    # One factor per (sample, channel): 0 or 1 / (1 - rate), the same at every position.
    assert torch.equal(ratio, ratio[:, :1, :].expand_as(ratio))
    np.testing.assert_allclose(np.unique(ratio.numpy().round(5)), [0.0, 2.0])


def test_compiled_alpha_dropout_is_the_affine_select():
    rate = 0.3
    x = torch.from_numpy(X)
    out = _compiled_call(lamina.layers.AlphaDropout(rate, seed=1), x, True)
    alpha_p = -_SELU_ALPHA * _SELU_SCALE
    a = ((1.0 - rate) * (1.0 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    kept, dropped = x * a + b, torch.full_like(x, a * alpha_p + b)
    assert torch.all((out == kept) | (out == dropped))
    assert 0.2 < float((out == dropped).float().mean()) < 0.4


def test_compiled_gaussian_noise_adds_scaled_normal_noise():
    x = torch.zeros(64, 64, 32)
    noise = _compiled_call(lamina.layers.GaussianNoise(0.5, seed=1), x, True)
    assert abs(float(noise.mean())) < 0.01
    assert abs(float(noise.std()) - 0.5) < 0.01


def test_compiled_gaussian_dropout_multiplies_by_normal_noise():
    rate = 0.3
    x = torch.ones(64, 64, 32)
    factor = _compiled_call(lamina.layers.GaussianDropout(rate, seed=1), x, True)
    assert abs(float(factor.mean()) - 1.0) < 0.01
    assert abs(float(factor.std()) - math.sqrt(rate / (1 - rate))) < 0.01
