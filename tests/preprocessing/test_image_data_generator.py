import warnings

import numpy as np
import pytest

import lamina
from lamina.preprocessing import image

AUGMENT = dict(
    rotation_range=25,
    width_shift_range=0.15,
    height_shift_range=[-2, 0, 3],
    shear_range=10,
    zoom_range=0.2,
    channel_shift_range=15.0,
    horizontal_flip=True,
    vertical_flip=True,
    fill_mode="reflect",
)


def _images(n=10, shape=(12, 10, 3), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n,) + shape) * 255).astype("float32")


def _both(keras2, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras2.image.ImageDataGenerator(**kwargs), image.ImageDataGenerator(**kwargs)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        AUGMENT,
        dict(width_shift_range=3, height_shift_range=0.4, brightness_range=(0.5, 1.5)),
        dict(zoom_range=(0.5, 0.9), rotation_range=90, data_format="channels_first"),
        dict(),
    ],
)
def test_get_random_transform_same_draws_as_keras(keras2, kwargs):
    expected_gen, got_gen = _both(keras2, **kwargs)
    shape = (3, 12, 10) if kwargs.get("data_format") == "channels_first" else (12, 10, 3)
    for seed in range(5):
        expected = expected_gen.get_random_transform(shape, seed=seed)
        got = got_gen.get_random_transform(shape, seed=seed)
        assert got.keys() == expected.keys()
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flow_batches_match_keras(keras2, data_format):
    x = _images()
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = np.arange(10) % 3
    weights = np.linspace(0.1, 1.0, 10)
    kwargs = dict(AUGMENT, rescale=1 / 255.0, samplewise_center=True, data_format=data_format,
                  brightness_range=(0.7, 1.2) if data_format == "channels_last" else None)
    expected_gen, got_gen = _both(keras2, **kwargs)
    flow = dict(batch_size=4, seed=3, shuffle=True, sample_weight=weights)
    expected_it = expected_gen.flow(x, y, **flow)
    got_it = got_gen.flow(x, y, **flow)
    assert len(got_it) == len(expected_it) == 3
    for epoch in range(2):
        for i in range(len(got_it)):
            got, expected = got_it[i], expected_it[i]
            assert len(got) == len(expected) == 3
            for a, b in zip(got, expected):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)
        # The reshuffle draws from the global NumPy state: give both the same.
        np.random.seed(epoch)
        got_it.on_epoch_end()
        np.random.seed(epoch)
        expected_it.on_epoch_end()


@pytest.mark.oracle
def test_flow_next_extra_inputs_and_subsets_match_keras(keras2):
    x = _images(n=12)
    extra = np.arange(12.0)[:, None]
    y = np.arange(12) % 2
    expected_gen, got_gen = _both(keras2, rotation_range=10, validation_split=0.25)
    for subset in ("training", "validation"):
        expected_it = expected_gen.flow((x, extra), y, batch_size=5, seed=1, subset=subset)
        got_it = got_gen.flow((x, extra), y, batch_size=5, seed=1, subset=subset)
        assert got_it.n == expected_it.n
        for _ in range(4):  # The endless iteration wraps around and reshuffles.
            (got_x, got_extra), got_y = next(got_it)
            (exp_x, exp_extra), exp_y = next(expected_it)
            np.testing.assert_allclose(got_x, exp_x, rtol=1e-6, atol=1e-4)
            np.testing.assert_array_equal(got_extra, exp_extra)
            np.testing.assert_array_equal(got_y, exp_y)
    only_x = got_gen.flow(x, batch_size=5, shuffle=False)[0]
    assert isinstance(only_x, np.ndarray) and only_x.shape == (5, 12, 10, 3)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(featurewise_center=True, featurewise_std_normalization=True, rescale=0.5),
        dict(zca_whitening=True, zca_epsilon=1e-3),
        dict(samplewise_center=True, samplewise_std_normalization=True),
    ],
)
def test_fit_and_standardize_match_keras(keras2, kwargs):
    x = _images(n=6, shape=(5, 4, 3))
    expected_gen, got_gen = _both(keras2, **kwargs)
    expected_gen.fit(x)
    got_gen.fit(x)
    for attr in ("mean", "std", "zca_whitening_matrix"):
        if getattr(expected_gen, attr) is None:
            assert getattr(got_gen, attr) is None
        else:
            np.testing.assert_allclose(getattr(got_gen, attr), getattr(expected_gen, attr),
                                       rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        got_gen.standardize(x[:2].copy()), expected_gen.standardize(x[:2].copy()),
        rtol=1e-4, atol=1e-4,
    )
    # Fitting on augmented copies draws the same transformations.
    expected_gen, got_gen = _both(keras2, featurewise_center=True, rotation_range=30)
    expected_gen.fit(x, augment=True, rounds=2, seed=4)
    got_gen.fit(x, augment=True, rounds=2, seed=4)
    np.testing.assert_allclose(got_gen.mean, expected_gen.mean, rtol=1e-5)


@pytest.mark.oracle
def test_random_transform_and_apply_transform_match_keras(keras2):
    x = _images(n=1)[0]
    expected_gen, got_gen = _both(keras2, **AUGMENT)
    np.testing.assert_allclose(
        got_gen.random_transform(x, seed=11), expected_gen.random_transform(x, seed=11),
        rtol=1e-6, atol=1e-4,
    )
    params = {"theta": 30, "flip_horizontal": True, "channel_shift_intensity": 5.0}
    np.testing.assert_allclose(
        got_gen.apply_transform(x, params), expected_gen.apply_transform(x, params),
        rtol=1e-6, atol=1e-4,
    )


def test_flow_trains_a_model():
    x = _images(n=16, shape=(8, 8, 3))
    y = np.arange(16) % 2
    datagen = image.ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True,
                                       validation_split=0.25)
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)),
        lamina.layers.Flatten(),
        lamina.layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(
        datagen.flow(x, y, batch_size=4, subset="training"),
        validation_data=datagen.flow(x, y, batch_size=4, subset="validation"),
        epochs=2,
        verbose=0,
    )
    assert len(history.history["val_loss"]) == 2
    assert model.predict(datagen.flow(x, batch_size=8, shuffle=False), verbose=0).shape == (16, 2)


def test_generator_argument_errors_and_warnings():
    with pytest.raises(ValueError, match="data_format"):
        image.ImageDataGenerator(data_format="channels_middle")
    with pytest.raises(ValueError, match="validation_split"):
        image.ImageDataGenerator(validation_split=1.5)
    with pytest.raises(ValueError, match="zoom_range"):
        image.ImageDataGenerator(zoom_range=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="brightness_range"):
        image.ImageDataGenerator(brightness_range=0.5)
    with pytest.raises(ValueError, match="fill_mode"):
        image.ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation_order"):
        image.ImageDataGenerator(interpolation_order=3)
    with pytest.warns(UserWarning) as record:
        gen = image.ImageDataGenerator(zca_whitening=True, featurewise_std_normalization=True)
    messages = [str(w.message) for w in record]
    assert any("overrides setting of `featurewise_center`" in m for m in messages)
    assert any("overrides setting of `featurewise_std_normalization`" in m for m in messages)
    assert gen.featurewise_center and not gen.featurewise_std_normalization
    with pytest.warns(UserWarning, match="hasn't been fit"):
        gen.standardize(np.ones((2, 2, 3), "float32"))
    with pytest.raises(ValueError, match="rank 4"):
        image.ImageDataGenerator().fit(np.zeros((2, 3, 3)))
    datagen = image.ImageDataGenerator(validation_split=0.5)
    with pytest.raises(ValueError, match="same length"):
        datagen.flow(np.zeros((4, 2, 2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="rank 4"):
        datagen.flow(np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match="different number of classes"):
        datagen.flow(np.zeros((4, 2, 2, 3)), np.array([0, 0, 1, 1]), subset="training")
    with pytest.raises(ValueError, match="Invalid subset"):
        datagen.flow(np.zeros((4, 2, 2, 3)), subset="test")
    with pytest.warns(UserWarning, match="channels"):
        datagen.flow(np.zeros((4, 2, 2, 5)))
    with pytest.raises(ValueError, match="has length 1"):
        datagen.flow(np.zeros((4, 2, 2, 3)), batch_size=4)[1]


def test_keras2_documentation_examples_run():
    x_train = np.random.default_rng(0).random((64, 8, 8, 3)).astype("float32")
    y_train = lamina.utils.to_categorical(np.arange(64) % 4, 4)
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)),
        lamina.layers.Flatten(),
        lamina.layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    datagen = image.ImageDataGenerator(
        featurewise_center=True, featurewise_std_normalization=True, rotation_range=20,
        width_shift_range=0.2, height_shift_range=0.2, horizontal_flip=True,
        validation_split=0.2,
    )
    datagen.fit(x_train)
    model.fit(datagen.flow(x_train, y_train, batch_size=32, subset="training"),
              validation_data=datagen.flow(x_train, y_train, batch_size=8, subset="validation"),
              steps_per_epoch=len(x_train) / 32, epochs=2, verbose=0)
    # The "manual" loop: the iterator is endless, the loop breaks by itself.
    batches = 0
    for x_batch, y_batch in datagen.flow(x_train, y_train, batch_size=32):
        model.fit(x_batch, y_batch, verbose=0)
        batches += 1
        if batches >= len(x_train) / 32:
            break
    # Images and masks transformed together by sharing the seed.
    image_generator = image.ImageDataGenerator(rotation_range=90, zoom_range=0.2).flow(
        x_train, seed=1, batch_size=16)
    mask_generator = image.ImageDataGenerator(rotation_range=90, zoom_range=0.2).flow(
        x_train[..., :1], seed=1, batch_size=16)
    first_images, first_masks = next(zip(image_generator, mask_generator))
    np.testing.assert_allclose(first_images[..., :1], first_masks, rtol=1e-6, atol=1e-5)
    segmenter = lamina.Sequential(
        [lamina.Input((8, 8, 3)), lamina.layers.Conv2D(1, 3, padding="same")]
    )
    segmenter.compile(optimizer="sgd", loss="mse")
    segmenter.fit(zip(image_generator, mask_generator), steps_per_epoch=3, epochs=1, verbose=0)
