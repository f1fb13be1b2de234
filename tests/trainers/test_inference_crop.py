"""``predict`` / ``evaluate``: a run of "valid" convolutions and poolings computes only the positions
its last layer reads (bit-identical outputs), and a narrow ``Dense`` multiplies by a transposed
copy of its kernel (equal to float32 rounding, remade when the kernel changes)."""

import numpy as np
import pytest
import torch
from eager_reference import eager_predict as _eager

import lamina
from lamina import layers
from lamina.layers import _inference
from lamina.trainers import inference_path

rng = np.random.default_rng(0)


def _mnist_convnet(units=10):
    model = lamina.Sequential([
        lamina.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(12, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(units, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _images(n=24, shape=(28, 28, 1)):
    return rng.uniform(size=(n,) + shape).astype("float32")




def _record_crops(monkeypatch):
    """The (input shape, cropped shape) of every call that asked ``cropped``."""
    seen = []
    original = _inference.cropped

    def spy(layer, inputs):
        out = original(layer, inputs)
        seen.append((layer.name, tuple(inputs.shape), tuple(out.shape)))
        return out

    monkeypatch.setattr(_inference, "cropped", spy)
    return seen


def test_mnist_convnet_crops_its_input_and_matches_eager_bit_for_bit(monkeypatch):
    model = _mnist_convnet(units=32)  # a wide head: the transposed Dense kernel stays out
    x = _images()
    conv1, pool1, conv2, pool2 = model.layers[:4]
    runs = inference_path._crop_chains(inference_path._linked_pairs(model))
    assert runs == [[conv1, pool1, conv2, pool2]]
    expected = _eager(model, x, batch_size=8)
    seen = _record_crops(monkeypatch)
    np.testing.assert_array_equal(model.predict(x, batch_size=8, verbose=0), expected)
    # The second pooling drops row and column 10 of its 11x11 input: 26x26 of the 28x28 images
    # is all the run reads.
    assert seen[0] == (conv1.name, (8, 28, 28, 1), (8, 26, 26, 1))
    np.testing.assert_array_equal(model.predict_on_batch(x[:8]), expected[:8])
    labels = np.eye(32, dtype="float32")[np.arange(24) % 32]
    loss, _ = model.evaluate(x, labels, batch_size=24, verbose=0)
    expected_loss = -np.mean(np.sum(labels * np.log(expected), axis=-1))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    # Nothing stays marked after the loops.
    assert "_inference_crop" not in conv1.__dict__
    seen.clear()
    with torch.no_grad():
        assert tuple(conv1(x[:2]).shape) == (2, 26, 26, 8)
    assert seen == [(conv1.name, (2, 28, 28, 1), (2, 28, 28, 1))]


@pytest.mark.parametrize(
    "build, shape",
    [
        # channels_first, average pooling, odd sizes
        (lambda: [layers.Conv2D(4, 3, data_format="channels_first"),
                  layers.AveragePooling2D(2, data_format="channels_first"),
                  layers.Conv2D(3, 2, activation="tanh", data_format="channels_first"),
                  layers.MaxPooling2D(3, data_format="channels_first")], (3, 17, 19)),
        # strided and dilated convolutions, overlapping pooling windows
        (lambda: [layers.Conv2D(4, 3, strides=2, activation="relu"),
                  layers.MaxPooling2D(3, strides=2),
                  layers.Conv2D(5, 2, dilation_rate=2, activation="gelu")], (23, 20, 2)),
        (lambda: [layers.Conv1D(4, 3, activation="relu"), layers.MaxPooling1D(2),
                  layers.Conv1D(3, 4), layers.AveragePooling1D(3)], (30, 2)),
        (lambda: [layers.Conv3D(3, 2, activation="relu"), layers.MaxPooling3D(2),
                  layers.Conv3D(2, 2)], (7, 8, 9, 1)),
    ],
)
def test_other_runs_match_eager_bit_for_bit(build, shape, monkeypatch):
    run = build()
    model = lamina.Sequential([lamina.Input(shape)] + run + [layers.Flatten(), layers.Dense(20)])
    model.compile(loss="mse")
    assert inference_path._crop_chains(inference_path._linked_pairs(model)) == [run]
    x = _images(12, shape)
    seen = _record_crops(monkeypatch)
    np.testing.assert_array_equal(model.predict(x, batch_size=6, verbose=0), _eager(model, x, 6))
    assert seen and all(len(s[1]) == len(s[2]) for s in seen)
    assert any(s[1] != s[2] for s in seen)  # each of these runs leaves some input unread


def test_runs_that_must_not_form():
    inputs = lamina.Input((15, 15, 3))
    same = layers.MaxPooling2D(2)(layers.Conv2D(4, 3, padding="same")(inputs))
    shared = layers.Conv2D(4, 3)(inputs)  # read by the pooling and a model output
    a = layers.MaxPooling2D(2)(shared)
    softmax = layers.MaxPooling2D(2)(layers.Conv2D(4, 3, activation="softmax")(inputs))
    same_pool = layers.MaxPooling2D(2, padding="same")(layers.Conv2D(4, 2)(inputs))
    model = lamina.Model(inputs, [same, shared, a, softmax, same_pool])
    assert inference_path._crop_chains(inference_path._linked_pairs(model)) == []
    model.compile(loss="mse")
    x = _images(6, (15, 15, 3))
    for out, want in zip(model.predict(x, verbose=0), _eager(model, x)):
        np.testing.assert_array_equal(out, want)


def test_hooked_layer_breaks_the_run():
    model = _mnist_convnet(units=32)
    model.layers[2].register_forward_hook(lambda module, args, out: None)
    runs = inference_path._crop_chains(inference_path._linked_pairs(model))
    assert runs == [model.layers[:2]]
    x = _images(8)
    np.testing.assert_array_equal(model.predict(x, verbose=0), _eager(model, x))


def test_nested_and_functional_runs():
    inner = lamina.Sequential([lamina.Input((13, 13, 2)), layers.Conv2D(3, 3), layers.MaxPooling2D(2)])
    inputs = lamina.Input((13, 13, 2))
    outputs = layers.Dense(5)(layers.Flatten()(layers.MaxPooling2D(2)(layers.Conv2D(3, 2)(inner(inputs)))))
    model = lamina.Model(inputs, outputs)
    runs = inference_path._crop_chains(inference_path._linked_pairs(model))
    # Two runs: the inner model's output is a model output of its own, read in full.
    assert sorted(len(run) for run in runs) == [2, 2]
    x = _images(8, (13, 13, 2))
    np.testing.assert_array_equal(model.predict(x, verbose=0), _eager(model, x))


def test_layers_called_alone_or_in_training_mode_during_predict_keep_their_outputs(monkeypatch):
    model = _mnist_convnet(units=32)
    conv = model.layers[0]
    x = _images(8)
    with torch.no_grad():
        conv_expected = conv(x).numpy()
        train_expected = model(x[:2], training=True).shape
    seen = {}
    crops = _record_crops(monkeypatch)

    def on_predict_batch_end(batch, logs=None):
        crops.clear()
        with torch.no_grad():
            seen["conv"] = conv(x).numpy()
            seen["train"] = model(x[:2], training=True).shape
        seen["cut"] = [c for c in crops if c[1] != c[2]]

    callback = lamina.callbacks.LambdaCallback(on_predict_batch_end=on_predict_batch_end)
    model.predict(x, batch_size=4, verbose=0, callbacks=[callback])
    np.testing.assert_array_equal(seen["conv"], conv_expected)
    assert seen["train"] == train_expected
    assert crops and seen["cut"] == []  # asked, and no input cut outside the model's predict call


def test_the_cropping_index_is_computed_once_per_shape():
    run = [layers.Conv2D(2, 3), layers.MaxPooling2D(2), layers.Conv2D(2, 3), layers.MaxPooling2D(2)]
    chain = _inference.CropChain(*run)
    # 28 -> 26 -> 13 -> 11 -> 5: the 5 windows read 10 of 11, hence 12 of 13, 24 of 26, 26 of 28.
    assert chain.index((4, 28, 28, 1)) == (slice(None), slice(0, 26), slice(0, 26))
    assert chain.index((4, 30, 29, 1)) == (slice(None), slice(0, 30), slice(0, 26))
    assert chain.index((4, 30, 30, 1)) is None  # every position is read
    assert chain.index((4, 5, 5, 1)) is None  # too small: the layers raise their own error
    assert chain.index((4, 28, 28)) is None  # another rank: the layers raise their own error
    computed = []
    chain._compute_index = lambda shape: computed.append(shape)
    chain.index((4, 28, 28, 1))
    assert computed == [] and len(chain._index) == 5


# --- the transposed kernel of a narrow Dense ------------------------------------------------------


def _head(units=10, inputs=1600):
    model = lamina.Sequential([lamina.Input((inputs,)), layers.Dense(units, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    model.set_weights([rng.normal(0, 0.05, (inputs, units)).astype("float32"),
                       rng.normal(0, 0.1, (units,)).astype("float32")])
    return model


def _spy_transposed(monkeypatch):
    used = []
    original = _inference.transposed_kernel

    def spy(layer, inputs):
        out = original(layer, inputs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(_inference, "transposed_kernel", spy)
    return used


def test_narrow_dense_uses_a_transposed_kernel_and_matches_eager(monkeypatch):
    model = _head()
    x = rng.normal(size=(64, 1600)).astype("float32")
    used = _spy_transposed(monkeypatch)
    out = model.predict(x, batch_size=32, verbose=0)
    assert used == [True, True]
    np.testing.assert_allclose(out, _eager(model, x, 32), rtol=1e-5, atol=1e-6)
    assert "_inference_transposed" not in model.layers[0].__dict__


@pytest.mark.parametrize("change", ["set_weights", "assign", "in_place"])
def test_changed_dense_kernel_is_seen(change):
    model = _head()
    x = rng.normal(size=(32, 1600)).astype("float32")
    before = model.predict(x, verbose=0)
    dense = model.layers[0]
    new = rng.normal(0, 0.05, (1600, 10)).astype("float32")
    if change == "set_weights":
        dense.set_weights([new, dense.get_weights()[1]])
    elif change == "assign":
        dense.kernel.assign(new)
    else:
        with torch.no_grad():
            dense.kernel.value.copy_(torch.from_numpy(new))
    np.testing.assert_allclose(model.predict(x, verbose=0), _eager(model, x), rtol=1e-5, atol=1e-6)
    assert np.abs(model.predict(x, verbose=0) - before).max() > 1e-3


def test_dense_left_alone_when_wide_small_or_tracked(monkeypatch):
    used = _spy_transposed(monkeypatch)
    _head(units=17).predict(rng.normal(size=(32, 1600)).astype("float32"), verbose=0)
    assert used == [False]  # not marked: asked, answered None
    used.clear()
    _head(inputs=32).predict(rng.normal(size=(8, 32)).astype("float32"), verbose=0)
    assert used == [False]
    used.clear()
    model = _head()
    dense = model.layers[-1]
    x = torch.from_numpy(rng.normal(size=(32, 1600)).astype("float32"))
    answers = {}

    def on_predict_batch_end(batch, logs=None):
        used.clear()
        with torch.no_grad():
            dense(x)  # called alone, outside the model's call
        answers["alone"] = list(used)
        used.clear()
        dense(x)  # tracked by autograd
        answers["tracked"] = list(used)

    callback = lamina.callbacks.LambdaCallback(on_predict_batch_end=on_predict_batch_end)
    model.predict(x.numpy(), batch_size=32, verbose=0, callbacks=[callback])
    assert answers == {"alone": [False], "tracked": [False]}


@pytest.mark.oracle
def test_cropped_predict_matches_keras(oracle):
    # 27x27 images: the 2x2 pooling of the 25x25 convolution output drops its last row and
    # column, so the run crops its input to 26x26.
    model = lamina.Sequential([
        lamina.Input((27, 27, 1)), layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(10, activation="softmax"),
    ])
    chain = _inference.CropChain(*model.layers[:2])
    assert chain.index((16, 27, 27, 1)) == (slice(None), slice(0, 26), slice(0, 26))
    kl = oracle.layers
    # Keras's layers one by one with Lamina's weights (a Keras model of them takes longer to
    # build than to run).
    theirs = [kl.Conv2D(8, 3, activation="relu"), kl.MaxPooling2D(2), kl.Flatten(),
              kl.Dense(10, activation="softmax")]
    x = _images(16, (27, 27, 1))
    y = x
    for layer, mine in zip(theirs, model.layers):
        if mine.weights:
            layer.build(tuple(np.shape(y)))
            layer.set_weights(mine.get_weights())
        y = layer(y)
    np.testing.assert_allclose(model.predict(x, batch_size=16, verbose=0), np.asarray(y),
                               rtol=1e-5, atol=1e-6)


# --- a convolution pooled a slice of the batch at a time ------------------------------------------


@pytest.fixture
def one_thread():
    # Only a single-threaded process slices (see `_inference.chunked_pool`).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _spy_chunks(monkeypatch, small=True):
    """The slice counts of each sliced call, recorded; ``small``: thresholds lowered so that small
    test batches are sliced."""
    sizes = []
    original = _inference.conv_pool_in_chunks

    def spy(conv, pool, count, inputs):
        sizes.append(count)
        return original(conv, pool, count, inputs)

    monkeypatch.setattr(_inference, "conv_pool_in_chunks", spy)
    if small:
        monkeypatch.setattr(_inference, "_CHUNKED_BYTES", 500)
        monkeypatch.setattr(_inference, "_CHUNK_BYTES", 1000)
        monkeypatch.setattr(_inference, "_MIN_CHUNK_IMAGES", 4)
    return sizes


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2)], (9, 9, 2)),
        (lambda: [layers.Conv2D(4, 3, padding="same", data_format="channels_first"),
                  layers.AveragePooling2D(2, padding="same", data_format="channels_first")], (2, 9, 9)),
        (lambda: [layers.Conv1D(3, 3, activation="softmax"), layers.MaxPooling1D(3, strides=1)], (20, 2)),
    ],
)
def test_conv_pooled_in_slices_of_the_batch_matches_eager(build, shape, monkeypatch, one_thread):
    model = lamina.Sequential([lamina.Input(shape)] + build() + [layers.Flatten(), layers.Dense(20)])
    model.compile(loss="mse")
    x = _images(16, shape)
    sizes = _spy_chunks(monkeypatch)
    # oneDNN may round differently for another batch size: equal to float32 rounding.
    out = model.predict(x, batch_size=8, verbose=0)
    np.testing.assert_allclose(out, _eager(model, x, 8), rtol=1e-5, atol=1e-6)
    assert sizes and all(n > 1 for n in sizes)
    pool = model.layers[1]
    assert "_inference_pooled" not in pool.__dict__
    assert "_inference_chunk_pool" not in model.layers[0].__dict__


def test_sliced_convnet_with_pooling_called_alone_during_predict(monkeypatch, one_thread):
    model = _mnist_convnet(units=32)
    conv, pool = model.layers[:2]
    x = _images(16)
    expected = _eager(model, x, 8)
    probe = torch.from_numpy(_images(2, (6, 6, 8)))
    with torch.no_grad():
        probe_expected = pool(probe).numpy()
    seen = []

    def on_predict_batch_end(batch, logs=None):
        with torch.no_grad():
            seen.append(pool(probe).numpy())

    sizes = _spy_chunks(monkeypatch)
    callback = lamina.callbacks.LambdaCallback(on_predict_batch_end=on_predict_batch_end)
    out = model.predict(x, batch_size=8, verbose=0, callbacks=[callback])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert sizes and all(n > 1 for n in sizes)
    for out in seen:
        np.testing.assert_array_equal(out, probe_expected)


def test_no_slices_for_small_outputs_or_mixed_dtypes(monkeypatch, one_thread):
    sizes = _spy_chunks(monkeypatch)
    monkeypatch.setattr(_inference, "_CHUNKED_BYTES", 1 << 30)
    model = _mnist_convnet(units=32)
    model.predict(_images(8), verbose=0)
    assert sizes == []
    conv = layers.Conv2D(4, 3)
    conv.build((None, 8, 8, 1))
    assert inference_path._chunkable(conv, layers.MaxPooling2D(2))
    assert not inference_path._chunkable(conv, layers.MaxPooling2D(2, dtype="float16"))


def test_mnist_convnet_sliced_at_full_size_is_bit_identical(monkeypatch, one_thread):
    model = lamina.Sequential([
        lamina.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(20),
    ])
    model.compile(loss="mse")
    x = _images(64)
    sizes = _spy_chunks(monkeypatch, small=False)
    np.testing.assert_array_equal(model.predict(x, batch_size=64, verbose=0), _eager(model, x))
    assert sizes == [2]  # 64 x 24 x 24 x 32 floats (4.7 MB) in 2 slices


def test_no_slices_with_several_threads(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sizes = _spy_chunks(monkeypatch)
        model = _mnist_convnet()
        x = _images(16)
        np.testing.assert_array_equal(model.predict(x, batch_size=16, verbose=0), _eager(model, x))
    finally:
        torch.set_num_threads(threads)
    assert sizes == []
