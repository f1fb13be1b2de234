"""Inference shortcuts (ReLU in place, batch norm without a copy): same numbers as the training path."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import _inference


@pytest.fixture
def in_place_calls(monkeypatch):
    calls = []

    real = _inference.activate

    def spy(activation, out):
        result = real(activation, out)
        if result is out and activation is lamina.activations.relu:
            calls.append(tuple(out.shape))
        return result

    monkeypatch.setattr(_inference, "activate", spy)
    return calls


CASES = [
    ("Conv2D", (9, 9, 3), dict(filters=5, kernel_size=3)),
    ("Conv2D", (10, 9, 4), dict(filters=6, kernel_size=(3, 2), padding="same", strides=2)),
    ("Conv2D", (12, 12, 4), dict(filters=4, kernel_size=3, dilation_rate=2, groups=2)),
    ("Conv1D", (11, 3), dict(filters=5, kernel_size=3, padding="causal")),
    ("Conv3D", (5, 5, 5, 2), dict(filters=3, kernel_size=2)),
    ("Dense", (7,), dict(units=5)),
    ("Dense", (6, 7), dict(units=5)),
    ("Dense", (6, 7), dict(units=5, use_bias=False)),
]


@pytest.mark.parametrize("cls, shape, kwargs", CASES)
def test_in_place_relu_equals_training_path(cls, shape, kwargs, in_place_calls):
    layer = getattr(lamina.layers, cls)(activation="relu", **kwargs)
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype("float32")
    x[0, 0] = np.nan  # relu keeps NaN: the in-place path must too
    x = torch.from_numpy(x)
    expected = layer(x).detach()  # autograd on: a new tensor for the relu
    assert not in_place_calls
    with torch.no_grad():
        got = layer(x)
    assert len(in_place_calls) == 1
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)
    assert torch.isnan(got).any()
    with torch.inference_mode():
        torch.testing.assert_close(layer(x), expected, rtol=0, atol=0, equal_nan=True)


def test_predict_follows_weight_changes(in_place_calls, tmp_path):
    model = lamina.Sequential([
        lamina.Input((8, 8, 2)),
        lamina.layers.Conv2D(3, 3, activation="relu"),
        lamina.layers.Flatten(),
        lamina.layers.Dense(4, activation="relu"),
        lamina.layers.Dense(2),
    ])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(1).normal(size=(6, 8, 8, 2)).astype("float32")
    y = np.ones((6, 2), "float32")
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    outputs = []
    for change in ("set_weights", "fit", "load_weights"):
        if change == "set_weights":
            model.set_weights([w + 0.5 for w in model.get_weights()])
        elif change == "fit":
            model.fit(x, y, epochs=1, verbose=0)
        else:
            model.load_weights(path)
        expected = model(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
        np.testing.assert_array_equal(model.predict_on_batch(x), expected)
        outputs.append(expected)
    assert not np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[1], outputs[2])
    assert in_place_calls


def test_other_activations_and_training_are_out_of_place(in_place_calls):
    x = torch.ones(2, 5, 5, 1)
    with torch.no_grad():
        lamina.layers.Conv2D(2, 3, activation="tanh")(x)
        lamina.layers.Conv2D(2, 3)(x)
    lamina.layers.Conv2D(2, 3, activation="relu")(x)
    assert not in_place_calls


@pytest.mark.oracle
def test_inference_matches_keras(oracle):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 9, 9, 2)).astype("float32")
    ours = lamina.layers.Conv2D(4, 3, padding="same", activation="relu")
    theirs = oracle.layers.Conv2D(4, 3, padding="same", activation="relu")
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    with torch.no_grad():
        got = ours(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (2, 4, 3, 5, 3)])
def test_batch_norm_inference_without_the_copy_is_bit_identical(shape):
    layer = lamina.layers.BatchNormalization()
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(size=shape).astype("float32"))
    layer.build(x.shape)
    for _ in range(2):  # statistics changed by set_weights are used by the next call
        layer.set_weights([rng.random(3).astype("float32") + 0.5 for _ in range(4)])
        expected = layer(x, training=False)  # autograd on: the contiguous kernel
        with torch.no_grad():
            got = layer(x, training=False)
        torch.testing.assert_close(got, expected.detach(), rtol=0, atol=0)
        assert got.shape == x.shape
