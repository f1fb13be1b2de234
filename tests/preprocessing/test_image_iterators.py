import numpy as np
import pytest

import lamina
from lamina.preprocessing import image


@pytest.fixture
def image_dir(tmp_path):
    """Three classes of small images of different sizes and formats, one in a nested folder."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    layout = {
        "cats": ["a.png", "b.jpg", "c.png", "nested/d.png"],
        "dogs": ["e.png", "f.bmp", "g.png"],
        "owls": ["h.png", "i.png", "notes.txt"],
    }
    for label, names in layout.items():
        for name in names:
            path = root / label / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".txt"):
                path.write_text("not an image")
                continue
            h, w = rng.integers(6, 20, 2)
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    (root / "empty_class").mkdir()
    return root


def _both(keras2, **kwargs):
    return keras2.image.ImageDataGenerator(**kwargs), image.ImageDataGenerator(**kwargs)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "flow",
    [
        dict(target_size=(8, 9), class_mode="categorical"),
        dict(target_size=(10, 7), class_mode="sparse", color_mode="grayscale",
             interpolation="bilinear", keep_aspect_ratio=True),
        dict(target_size=(6, 6), class_mode="binary", classes=["dogs", "owls"], color_mode="rgba"),
        dict(target_size=(5, 4), class_mode="input", subset="validation"),
        dict(target_size=(5, 4), class_mode=None, subset="training", shuffle=False),
    ],
)
def test_flow_from_directory_matches_keras(keras2, image_dir, capsys, flow):
    augment = dict(rotation_range=20, horizontal_flip=True, rescale=1 / 255.0,
                   validation_split=0.34)
    expected_gen, got_gen = _both(keras2, **augment)
    expected_it = expected_gen.flow_from_directory(str(image_dir), batch_size=3, seed=5, **flow)
    keras_message = capsys.readouterr().out
    got_it = got_gen.flow_from_directory(str(image_dir), batch_size=3, seed=5, **flow)
    assert capsys.readouterr().out == keras_message
    assert got_it.filenames == expected_it.filenames
    assert got_it.filepaths == expected_it.filepaths
    np.testing.assert_array_equal(got_it.classes, expected_it.classes)
    assert got_it.class_indices == expected_it.class_indices
    assert got_it.samples == expected_it.samples and len(got_it) == len(expected_it)
    for i in range(len(got_it)):
        got, expected = got_it[i], expected_it[i]
        got = got if isinstance(got, tuple) else (got,)
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
def test_directory_iterator_channels_first_and_save_to_dir(keras2, image_dir, tmp_path):
    out = tmp_path / "augmented"
    out.mkdir()
    expected_gen, got_gen = _both(keras2, data_format="channels_first", zoom_range=0.3)
    kwargs = dict(target_size=(7, 5), batch_size=4, seed=2, save_to_dir=str(out),
                  save_prefix="aug", save_format="png")
    expected = expected_gen.flow_from_directory(str(image_dir), **kwargs)[0]
    got = got_gen.flow_from_directory(str(image_dir), **kwargs)[0]
    assert got[0].shape == (4, 3, 7, 5)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(got[1], expected[1])
    saved = sorted(p.name for p in out.iterdir())
    # Both libraries drew the same random file names, so the second batch overwrote the first.
    assert len(saved) == 4 and all(name.startswith("aug_") for name in saved)


def test_flow_from_directory_trains_a_model(image_dir):
    datagen = image.ImageDataGenerator(rescale=1 / 255.0)
    train = datagen.flow_from_directory(image_dir, target_size=(8, 8), batch_size=4)
    assert isinstance(train, lamina.utils.PyDataset)
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)),
        lamina.layers.Flatten(),
        lamina.layers.Dense(train.num_classes, activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["accuracy"]) == 2
    results = model.evaluate(train, verbose=0)
    assert len(results) == 2


def test_directory_iterator_errors(image_dir):
    datagen = image.ImageDataGenerator()
    with pytest.raises(ValueError, match="color mode"):
        datagen.flow_from_directory(image_dir, color_mode="cmyk")
    with pytest.raises(ValueError, match="class_mode"):
        datagen.flow_from_directory(image_dir, class_mode="multi_output")
    with pytest.raises(ValueError, match="subset"):
        datagen.flow_from_directory(image_dir, subset="test")
    with pytest.raises(ValueError, match="not an existing directory"):
        datagen.flow_from_directory(image_dir / "missing")


def test_iterator_base_class_contract():
    class Numbers(image.Iterator):
        def _get_batches_of_transformed_samples(self, index_array):
            return index_array.copy()

    it = Numbers(n=5, batch_size=2, shuffle=False, seed=None)
    assert len(it) == 3
    assert [next(it).tolist() for _ in range(4)] == [[0, 1], [2, 3], [4], [0, 1]]
    it.reset()
    assert next(it).tolist() == [0, 1]
    assert it[2].tolist() == [4]
    with pytest.raises(ValueError, match="positive integer"):
        Numbers(n=5, batch_size=0, shuffle=False, seed=None)
    with pytest.raises(NotImplementedError, match="_get_batches_of_transformed_samples"):
        image.Iterator(3, 1, False, None)[0]
