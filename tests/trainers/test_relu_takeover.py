"""``predict`` / ``evaluate``: a convolution whose output only a plain ReLU layer reads (directly or
through a BatchNormalization folded into it), or an ``Add`` read only by one, rectifies that output
in place, and the ReLU layer passes it through. The numbers are bit-identical to those of the same loops without the takeover
(NaN included), and to the eager ones where nothing is folded."""

import numpy as np
import pytest
import torch
from eager_reference import eager_predict as _eager

import lamina
from lamina import layers
from lamina.layers import _inference
from lamina.trainers import inference_path

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 10, 10, 3)).astype("float32")
Y = np.eye(4, dtype="float32")[np.arange(16) % 4]




def _count_pass_throughs(monkeypatch):
    """Record the answers the ReLU layers get from ``rectified_already``."""
    answers = []
    original = _inference.rectified_already

    def spy(relu, inputs):
        answers.append(original(relu, inputs))
        return answers[-1]

    monkeypatch.setattr(_inference, "rectified_already", spy)
    return answers


def _without_takeover(monkeypatch, model, x):
    with monkeypatch.context() as m:
        m.setattr(inference_path, "_relu_takeovers", lambda linked, folds: [])
        return model.predict(x, batch_size=8, verbose=0)


def _resnet(lib=lamina):
    # The block of bench/workloads.py, smaller.
    lay = lib.layers

    def conv_bn(x, relu):
        x = lay.BatchNormalization()(lay.Conv2D(6, 3, padding="same", use_bias=False)(x))
        return lay.ReLU()(x) if relu else x

    inputs = lib.Input((10, 10, 3))
    stem = conv_bn(inputs, True)
    x = conv_bn(conv_bn(stem, True), False)
    x = lay.GlobalAveragePooling2D()(lay.ReLU()(lay.Add()([stem, x])))
    return lib.Model(inputs, lay.Dense(4, activation="softmax")(x))


def _randomize(model, seed=1):
    # Statistics and scales away from 0 / 1, so that a wrong fold or a misplaced ReLU shows.
    draw = np.random.default_rng(seed)
    model.set_weights([
        (draw.uniform(0.5, 1.5, w.shape) if "variance" in v.path or "gamma" in v.path
         else draw.normal(0, 0.5, w.shape)).astype("float32")
        for w, v in zip(model.get_weights(), model.weights)
    ])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "conv, relu",
    [
        (lambda f: layers.Conv2D(5, 3, padding="same", data_format=f), layers.ReLU),
        (
            lambda f: layers.Conv2D(5, 3, strides=2, data_format=f),
            lambda: layers.Activation("relu"),
        ),
        (lambda f: layers.Conv2D(6, 3, groups=3, use_bias=False, data_format=f), layers.ReLU),
    ],
)
def test_direct_pairs_match_eager_bit_for_bit_including_nan(monkeypatch, data_format, conv, relu):
    shape = (10, 10, 3) if data_format == "channels_last" else (3, 10, 10)
    model = lamina.Sequential([lamina.Input(shape), conv(data_format), relu(), layers.Flatten()])
    model.compile(loss="mse")
    pairs = inference_path._relu_takeovers(inference_path._linked_pairs(model), [])
    assert pairs == [(model.layers[0], model.layers[1], False)]
    x = X.copy()
    x[2, 1, 1] = np.nan
    x[5, 4, 4] = -np.inf
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2).copy()
    answers = _count_pass_throughs(monkeypatch)
    out = model.predict(x, batch_size=8, verbose=0)
    assert answers == [True, True]  # the ReLU passed both batches through
    expected = _eager(model, x)
    np.testing.assert_array_equal(out.view(np.int32), expected.view(np.int32))
    assert np.isnan(out[2]).any() and not np.isnan(out[0]).any()
    np.testing.assert_array_equal(model.predict_on_batch(x[:8]), expected[:8])
    for layer in model.layers:
        assert not any(k in layer.__dict__ for k in ("_inference_relu", "_inference_rectified"))


@pytest.mark.parametrize("conv", [layers.Conv1D, layers.Conv3D])
def test_other_ranks(monkeypatch, conv):
    shape = (12, 3) if conv is layers.Conv1D else (6, 6, 6, 3)
    model = lamina.Sequential([lamina.Input(shape), conv(4, 3), layers.ReLU(), layers.Flatten()])
    x = rng.normal(size=(8,) + shape).astype("float32")
    answers = _count_pass_throughs(monkeypatch)
    out = model.predict(x, verbose=0)
    assert answers == [True]
    np.testing.assert_array_equal(out, _eager(model, x))


def test_resnet_block_bit_identical_to_the_folded_loop_without_takeover(monkeypatch):
    model = _resnet()
    _randomize(model)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    linked = inference_path._linked_pairs(model)
    takeovers = inference_path._relu_takeovers(linked, [pair for pair in linked if inference_path._foldable(*pair)])
    # The two Conv + BatchNormalization + ReLU triples, and the Add + ReLU pair.
    add = next(layer for layer in model.layers if isinstance(layer, layers.Add))
    assert [(c.name, r.name, after_bn) for c, r, after_bn in takeovers] == [
        (model.layers[1].name, model.layers[3].name, True),
        (model.layers[4].name, model.layers[6].name, True),
        (add.name, model.layers[model.layers.index(add) + 1].name, False),
    ]
    x = np.concatenate([X, X[:4] * 50.0])
    x[1, 2, 3, 0] = np.nan
    without = _without_takeover(monkeypatch, model, x)
    answers = _count_pass_throughs(monkeypatch)
    out = model.predict(x, batch_size=8, verbose=0)
    # Per batch: all three ReLUs pass their inputs through.
    assert answers == [True, True, True] * 3
    np.testing.assert_array_equal(out.view(np.int32), without.view(np.int32))
    assert np.isnan(out[1]).all() and not np.isnan(np.delete(out, 1, axis=0)).any()
    np.testing.assert_allclose(out, _eager(model, x), rtol=1e-5, atol=1e-6)
    evaluated = model.evaluate(X, Y, batch_size=8, verbose=0)
    with monkeypatch.context() as m:
        m.setattr(inference_path, "_relu_takeovers", lambda linked, folds: [])
        assert model.evaluate(X, Y, batch_size=8, verbose=0) == evaluated


@pytest.mark.oracle
def test_resnet_block_matches_keras(oracle):
    model, reference = _resnet(), _resnet(oracle)
    _randomize(model)
    reference.set_weights(model.get_weights())
    np.testing.assert_allclose(
        model.predict(X, batch_size=8, verbose=0),
        reference.predict(X, batch_size=8, verbose=0),
        rtol=1e-5, atol=1e-6,
    )


def test_relu_layers_that_are_not_plain_and_second_readers_are_left_alone(monkeypatch):
    inputs = lamina.Input((10, 10, 3))
    conv = lambda: layers.Conv2D(4, 3)  # noqa: E731
    outputs = [
        layers.ReLU(max_value=6.0)(conv()(inputs)),
        layers.ReLU(negative_slope=0.1)(conv()(inputs)),
        layers.ReLU(threshold=0.5)(conv()(inputs)),
        layers.Activation("sigmoid")(conv()(inputs)),
        layers.ReLU()(layers.Conv2D(4, 3, activation="tanh")(inputs)),  # not a linear conv
        layers.ReLU()(layers.DepthwiseConv2D(3)(inputs)),
    ]
    shared = conv()(inputs)  # read by the ReLU and by the model's outputs
    outputs += [layers.ReLU()(shared), shared]
    # A BatchNormalization over another axis does not fold: its ReLU stays where it is.
    outputs.append(layers.ReLU()(layers.BatchNormalization(axis=1)(conv()(inputs))))
    model = lamina.Model(inputs, outputs)
    _randomize(model)
    linked = inference_path._linked_pairs(model)
    assert inference_path._relu_takeovers(linked, [pair for pair in linked if inference_path._foldable(*pair)]) == []
    answers = _count_pass_throughs(monkeypatch)
    for out, want in zip(model.predict(X, verbose=0), _eager(model, X)):
        np.testing.assert_array_equal(out, want)
    assert not any(answers)


def test_add_then_relu(monkeypatch):
    inputs = lamina.Input((10, 10, 3))
    a, b = layers.Conv2D(4, 3)(inputs), layers.Conv2D(4, 3)(inputs)
    summed = layers.Add()([a, b])
    shared = layers.Add()([a, b])  # read by the ReLU and by the outputs: left alone
    single = layers.Add()([layers.Conv2D(4, 3)(inputs)])  # returns its input: never rectified
    outputs = [
        layers.ReLU()(summed),
        layers.Activation("relu")(shared),
        shared,
        layers.ReLU()(single),
        layers.ReLU()(layers.Subtract()([a, b])),
    ]
    model = lamina.Model(inputs, outputs)
    linked = inference_path._linked_pairs(model)
    takeovers = inference_path._relu_takeovers(linked, [])
    assert [(t.name, r.name) for t, r, _ in takeovers] == [
        (summed._keras_history[0].name, outputs[0]._keras_history[0].name),
        (single._keras_history[0].name, outputs[3]._keras_history[0].name),
    ]
    x = X.copy()
    x[3, 2, 2] = np.nan
    answers = _count_pass_throughs(monkeypatch)
    predicted = model.predict(x, verbose=0)
    # The sum passes through its ReLU; the single-input Add does not rectify its input.
    assert answers.count(True) == 1
    for out, want in zip(predicted, _eager(model, x)):
        np.testing.assert_array_equal(out.view(np.int32), want.view(np.int32))
    assert np.isnan(predicted[0][3]).any()


def test_hooked_layers_form_no_pairs():
    for hooked in (0, 1):
        model = lamina.Sequential([lamina.Input((10, 10, 3)), layers.Conv2D(4, 3), layers.ReLU()])
        model.layers[hooked].register_forward_hook(lambda module, args, out: None)
        linked = inference_path._linked_pairs(model)
        assert inference_path._relu_takeovers(linked, []) == []
    model = lamina.Sequential([
        lamina.Input((10, 10, 3)), layers.Conv2D(4, 3, activity_regularizer="l2"), layers.ReLU(),
    ])
    assert inference_path._relu_takeovers(inference_path._linked_pairs(model), []) == []


def test_layers_called_on_their_own_during_predict_keep_their_outputs():
    model = lamina.Sequential([
        lamina.Input((10, 10, 3)), layers.Conv2D(4, 3), layers.BatchNormalization(),
        layers.ReLU(), layers.Flatten(),
    ])
    _randomize(model)
    conv, bn, relu = model.layers[:3]
    x = torch.from_numpy(X[:4])
    with torch.no_grad():
        expected_conv = conv(x).numpy()
        expected_bn = bn(conv(x), training=False).numpy()
    assert (expected_conv < 0).any()
    seen = {}

    def on_predict_batch_end(batch, logs=None):
        with torch.no_grad():
            seen["conv"] = conv(x).numpy()
            seen["bn"] = bn(conv(x), training=False).numpy()
            seen["relu"] = relu(conv(x)).numpy()

    callback = lamina.callbacks.LambdaCallback(on_predict_batch_end=on_predict_batch_end)
    model.predict(X, batch_size=8, verbose=0, callbacks=[callback])
    np.testing.assert_array_equal(seen["conv"], expected_conv)
    np.testing.assert_array_equal(seen["bn"], expected_bn)
    np.testing.assert_array_equal(seen["relu"], np.maximum(expected_conv, 0))


def test_training_mode_calls_inside_the_loop_keep_the_relu_after_the_batchnorm():
    # Called in training mode under no_grad (from a callback, say): the BatchNormalization
    # normalizes with batch statistics, so the convolution must not rectify before it.
    model = lamina.Sequential([
        lamina.Input((10, 10, 3)), layers.Conv2D(4, 3), layers.BatchNormalization(),
        layers.ReLU(), layers.Flatten(),
    ])
    _randomize(model)
    x = torch.from_numpy(X)
    with torch.no_grad():
        expected = model(x, training=True).numpy()
        with inference_path.folded(model, "predict_step"):
            assert model.layers[0].__dict__["_inference_relu"] == (model.layers[2], True)
            out = model(x, training=True).numpy()
    np.testing.assert_array_equal(out, expected)
    assert "_inference_relu" not in model.layers[0].__dict__


def test_training_and_custom_steps_are_unaffected(monkeypatch):
    model = lamina.Sequential([
        lamina.Input((10, 10, 3)), layers.Conv2D(4, 3), layers.ReLU(), layers.Flatten(),
        layers.Dense(4),
    ])
    model.compile(optimizer="sgd", loss="mse")
    answers = _count_pass_throughs(monkeypatch)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert answers and not any(answers)  # fit's ReLU computed its own output
    np.testing.assert_array_equal(model.predict(X, verbose=0), _eager(model, X))

    class Custom(lamina.Sequential):
        def predict_step(self, data):
            return self(data[0] if isinstance(data, tuple) else data, training=False)

    custom = Custom(model.layers)
    answers.clear()
    np.testing.assert_array_equal(custom.predict(X, verbose=0), _eager(custom, X))
    assert answers and not any(answers)  # a custom predict_step gets no takeover
    assert "_inference_relu" not in model.layers[0].__dict__


def test_a_relu_given_another_tensor_rectifies_it():
    # The hand-over names one tensor: any other input (a cast, a copy) is rectified as usual.
    relu = layers.ReLU()
    t = torch.tensor([-1.0, 2.0])
    relu.__dict__["_inference_rectified"] = t
    np.testing.assert_array_equal(relu(torch.tensor([-1.0, 2.0])).numpy(), [0.0, 2.0])
    assert "_inference_rectified" not in relu.__dict__
