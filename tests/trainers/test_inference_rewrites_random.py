"""``predict`` / ``evaluate`` of randomly assembled conv nets equal the plain eager call.

The inference-only rewrites (BatchNormalization folding, ReLU after pooling, cropping of "valid"
runs, batch slices of a conv + pooling pair, ReLU taken over by the layer before, the narrow
Dense's transposed kernel) each have their own tests; here they meet in combinations nobody wrote
by hand: strides, paddings, odd map sizes, residual Adds, layers with two readers, last batches
smaller than the others. Slicing thresholds are lowered so that these small batches are sliced too.
"""

import numpy as np
import pytest
import torch
from eager_reference import eager_predict as _eager

import lamina
from lamina import layers
from lamina.layers import _inference


def _block(rng, x, residual_ok):
    """One random stage on ``x``: conv (+BN) (+ReLU), maybe a pooling, maybe a residual Add."""
    filters = int(x.shape[-1]) if residual_ok and rng.random() < 0.4 else int(rng.choice([4, 6]))
    padding = "same" if filters == int(x.shape[-1]) else str(rng.choice(["valid", "same"]))
    activation = str(rng.choice(["relu", "linear", "tanh"]))
    y = layers.Conv2D(filters, int(rng.choice([1, 3])), padding=padding, activation=activation,
                      use_bias=bool(rng.random() < 0.5))(x)
    if rng.random() < 0.6:
        y = layers.BatchNormalization()(y)
    if rng.random() < 0.6:
        y = layers.ReLU()(y) if rng.random() < 0.5 else layers.Activation("relu")(y)
    if filters == int(x.shape[-1]) and padding == "same" and rng.random() < 0.7:
        y = layers.Add()([x, y])
        if rng.random() < 0.7:
            y = layers.ReLU()(y)
    if min(y.shape[1:3]) >= 4 and rng.random() < 0.7:
        pool = layers.MaxPooling2D if rng.random() < 0.7 else layers.AveragePooling2D
        y = pool(int(rng.choice([2, 3])), padding=str(rng.choice(["valid", "same"])))(y)
    return y


def _random_model(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.choice([15, 17, 20, 23]))
    inputs = lamina.Input((size, size, int(rng.choice([1, 3]))))
    x = inputs
    for _ in range(int(rng.integers(2, 4))):
        x = _block(rng, x, residual_ok=True)
    if rng.random() < 0.5:
        x = layers.Flatten()(x)
        x = layers.Dropout(0.3)(x)
    else:
        x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(int(rng.choice([3, 10])), activation="softmax")(x)
    model = lamina.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    # Trained moving statistics, so that folded BatchNormalizations change the numbers.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(size=c).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=c).astype("float32"))
            layer.gamma.assign(rng.normal(1.0, 0.3, size=c).astype("float32"))
    return model, rng




@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    # One thread: convolution outputs are pooled in slices of the batch; two: they are not.
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("seed", range(8))
def test_predict_and_evaluate_equal_the_eager_call(seed, threads, monkeypatch):
    monkeypatch.setattr(_inference, "_CHUNKED_BYTES", 2000)
    monkeypatch.setattr(_inference, "_CHUNK_BYTES", 3000)
    monkeypatch.setattr(_inference, "_MIN_CHUNK_IMAGES", 4)
    monkeypatch.setattr(_inference, "_MIN_INPUT_SIZE", 1)
    model, rng = _random_model(seed)
    x = rng.normal(size=(21,) + tuple(model.input_shape[1:])).astype("float32")
    y = np.eye(model.output_shape[-1], dtype="float32")[rng.integers(0, model.output_shape[-1], 21)]
    expected = _eager(model, x, 8)
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    loss, accuracy = model.evaluate(x, y, batch_size=8, verbose=0)
    eager_loss = lamina.losses.categorical_crossentropy(y, expected).numpy().mean()
    np.testing.assert_allclose(loss, eager_loss, rtol=1e-5, atol=1e-6)
    assert accuracy == pytest.approx((expected.argmax(-1) == y.argmax(-1)).mean())
    # And the eager call afterwards is unchanged: nothing is left switched on.
    np.testing.assert_array_equal(_eager(model, x, 8), expected)


def test_every_rewrite_fires_in_these_models(monkeypatch):
    # What the test above covers: each rewrite changes some layer call of these models.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(_inference, "_CHUNKED_BYTES", 2000)
    monkeypatch.setattr(_inference, "_CHUNK_BYTES", 3000)
    monkeypatch.setattr(_inference, "_MIN_CHUNK_IMAGES", 4)
    monkeypatch.setattr(_inference, "_MIN_INPUT_SIZE", 1)
    fired = dict.fromkeys(
        ["folded_weights", "relu_deferred", "cropped", "chunked_pool", "takes_relu", "transposed_kernel"], 0
    )
    acted = {
        "cropped": lambda args, out: out is not args[1],
        "relu_deferred": lambda args, out: out,
        "takes_relu": lambda args, out: out,
    }

    def spy(name, original):
        def ask(*args):
            out = original(*args)
            fired[name] += bool(acted.get(name, lambda a, o: o is not None)(args, out))
            return out

        return ask

    for name in fired:
        monkeypatch.setattr(_inference, name, spy(name, getattr(_inference, name)))
    try:
        for seed in range(8):
            model, rng = _random_model(seed)
            model.predict(rng.normal(size=(21,) + tuple(model.input_shape[1:])).astype("float32"),
                          batch_size=8, verbose=0)
    finally:
        torch.set_num_threads(before)
    assert all(fired.values()), fired
