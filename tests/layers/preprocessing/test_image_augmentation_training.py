"""Image preprocessing layers inside a model: augmentation on in fit, off in predict/evaluate."""

import numpy as np

import lamina
from lamina import layers


def _augmenting_model():
    return lamina.Sequential(
        [
            lamina.Input((12, 12, 3)),
            layers.Resizing(10, 10),
            layers.RandomCrop(8, 8, seed=1),
            layers.RandomFlip(seed=2),
            layers.RandomRotation(0.1, seed=3),
            layers.RandomZoom(0.1, seed=4),
            layers.RandomTranslation(0.1, 0.1, seed=5),
            layers.RandomContrast(0.2, value_range=(0, 1), seed=6),
            layers.RandomBrightness(0.1, value_range=(0, 1), seed=7),
            layers.CenterCrop(6, 6),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )


def test_augmentation_runs_in_fit_only():
    rng = np.random.default_rng(0)
    x = rng.random((16, 12, 12, 3)).astype("float32")
    y = rng.integers(0, 2, size=(16,))
    model = _augmenting_model()
    seen = []
    flip = model.layers[2]
    original = flip._transform

    def recording(images, training):
        seen.append(bool(training))
        return original(images, training)

    flip._transform = recording
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert seen == [True] * 4
    seen.clear()
    first = model.predict(x, verbose=0)
    second = model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert seen and not any(seen)
    np.testing.assert_array_equal(first, second)
    # Inference equals the deterministic part: resizes (RandomCrop resizes the centred
    # aspect-ratio window at inference), the centre crop and the dense layer.
    plain = lamina.Sequential(
        [lamina.Input((12, 12, 3)), layers.Resizing(10, 10), layers.Resizing(8, 8), layers.CenterCrop(6, 6),
         layers.Flatten(), layers.Dense(2, activation="softmax")]
    )
    plain.layers[-1].set_weights(model.layers[-1].get_weights())
    np.testing.assert_allclose(first, plain.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(model(x, training=True).detach().numpy(), first)


def test_augmenting_model_symbolic_shapes_with_unknown_batch():
    model = _augmenting_model()
    assert model.output_shape == (None, 2)
    assert [tuple(layer.output.shape) for layer in model.layers[:2]] == [(None, 10, 10, 3), (None, 8, 8, 3)]
