"""``predict`` / ``evaluate``: a ReLU convolution read only by a max pooling leaves its ReLU to the
pooling layer (``relu(max(...)) == max(relu(...))``); the numbers equal the eager ones."""

import numpy as np
import pytest
import torch
from eager_reference import eager_predict as _eager

import lamina
from lamina import layers
from lamina.layers import _inference
from lamina.trainers import inference_path

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 12, 12, 3)).astype("float32")

def _deferred_pairs(model):
    return [pair for pair in inference_path._linked_pairs(model) if inference_path._deferrable(*pair)]


def _convnet(data_format="channels_last", pool=layers.MaxPooling2D):
    shape = (12, 12, 3) if data_format == "channels_last" else (3, 12, 12)
    model = lamina.Sequential([
        lamina.Input(shape),
        layers.Conv2D(6, 3, activation="relu", data_format=data_format),
        pool(2, data_format=data_format),
        layers.Conv2D(4, 3, activation="relu", data_format=data_format),
        pool(2, data_format=data_format),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy")
    return model




@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_deferred_relu_matches_eager_including_nan(data_format):
    model = _convnet(data_format)
    assert len(_deferred_pairs(model)) == 2
    x = X.copy()
    x[3, 4, 5] = np.nan  # NaN through the deferred ReLU and the pools
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2).copy()
    out = model.predict(x, batch_size=8, verbose=0)
    expected = _eager(model, x)
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out[3]).all() and not np.isnan(np.delete(out, 3, axis=0)).any()
    np.testing.assert_array_equal(model.predict_on_batch(x[:8]), expected[:8])
    model.evaluate(x[4:], np.eye(3, dtype="float32")[np.arange(12) % 3], verbose=0)
    # Nothing stays marked after the loops: a later eager call applies the ReLU in the conv.
    conv = model.layers[0]
    assert "_inference_relu_deferred" not in conv.__dict__
    with torch.no_grad():
        plain = X if data_format == "channels_last" else np.ascontiguousarray(X.transpose(0, 3, 1, 2))
        assert (conv(plain).numpy() >= 0).all()


def test_deferred_relu_in_a_functional_graph_and_intermediate_values():
    inputs = lamina.Input((12, 12, 3))
    conv = layers.Conv2D(5, 3, activation="relu")
    pooled = layers.MaxPooling2D(2)(conv(inputs))
    model = lamina.Model(inputs, layers.Flatten()(pooled))
    assert _deferred_pairs(model) == [(conv, model.layers[2])]
    np.testing.assert_array_equal(model.predict(X, verbose=0), _eager(model, X))
    assert (model.predict(X, verbose=0) >= 0).all()


def test_pairs_that_must_not_defer():
    inputs = lamina.Input((12, 12, 3))
    shared_out = layers.Conv2D(4, 3, activation="relu")(inputs)  # read by the pool and the output
    a = layers.MaxPooling2D(2)(shared_out)
    b = layers.AveragePooling2D(2)(layers.Conv2D(4, 3, activation="relu")(inputs))
    c = layers.MaxPooling2D(2)(layers.Conv2D(4, 3, activation="sigmoid")(inputs))
    d = layers.MaxPooling2D(2)(layers.Conv2D(4, 3)(inputs))
    model = lamina.Model(inputs, [shared_out, a, b, c, d])
    assert _deferred_pairs(model) == []
    model.compile(loss="mse")
    with torch.no_grad():
        expected = [t.numpy() for t in model(X, training=False)]
    for out, want in zip(model.predict(X, verbose=0), expected):
        np.testing.assert_array_equal(out, want)


def test_training_and_custom_steps_keep_the_relu_in_the_conv(monkeypatch):
    answers = []
    original = _inference.relu_deferred

    def spy(layer):
        answers.append(original(layer))
        return answers[-1]

    monkeypatch.setattr(_inference, "relu_deferred", spy)
    model = _convnet()
    y = np.eye(3, dtype="float32")[np.arange(16) % 3]
    model.fit(X, y, batch_size=8, epochs=1, verbose=0)
    assert answers and not any(answers)  # during fit the convolutions apply their own ReLU
    np.testing.assert_array_equal(model.predict(X, verbose=0), _eager(model, X))
    assert any(answers)  # predict defers

    class Custom(lamina.Sequential):
        def predict_step(self, data):
            return self(data[0] if isinstance(data, tuple) else data, training=False)

    custom = Custom(_convnet().layers)
    answers.clear()
    np.testing.assert_allclose(custom.predict(X, verbose=0), _eager(custom, X))
    assert answers and not any(answers)  # a custom predict_step defers nothing
