"""``image_dataset_from_directory`` on small generated images.

Keras's own function needs TensorFlow (or grain) to run; its grain path decodes with Pillow and
resizes with ``keras.ops.image.resize``, which the oracle does run: the pixels are compared with
that, the file order and labels with Keras's ``index_directory``.
"""

import numpy as np
import pytest
import torch

PIL = pytest.importorskip("PIL.Image")  # Pillow is in the `test` extra

import lamina
from lamina.utils import image_dataset_from_directory


def _make_images(root, rng):
    # Two shapes only (one tall, one wide): the oracle's resize compiles once per shape.
    sizes = {"cats": [(12, 9), (9, 15), (12, 9)], "dogs": [(9, 15), (12, 9)], "owls": [(12, 9), (9, 15)]}
    for cls, shapes in sizes.items():
        (root / cls).mkdir()
        for i, (h, w) in enumerate(shapes):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            PIL.fromarray(pixels).save(root / cls / f"img{i}.png")
    # Other formats and modes: grayscale png, RGBA png, bmp, gif, and a file to ignore.
    PIL.fromarray(rng.integers(0, 256, (12, 9), dtype=np.uint8), "L").save(root / "cats" / "gray.png")
    PIL.fromarray(rng.integers(0, 256, (9, 15, 4), dtype=np.uint8), "RGBA").save(root / "dogs" / "alpha.png")
    PIL.fromarray(rng.integers(0, 256, (12, 9, 3), dtype=np.uint8)).save(root / "owls" / "pic.bmp")
    PIL.fromarray(rng.integers(0, 256, (9, 15), dtype=np.uint8), "L").save(root / "owls" / "anim.gif")
    (root / "owls" / "notes.txt").write_text("not an image")


@pytest.fixture
def image_dir(tmp_path):
    _make_images(tmp_path, np.random.default_rng(0))
    return tmp_path


def _collect(ds):
    images, labels = [], []
    for x, y in ds.as_numpy_iterator():
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "options",
    [dict(), dict(interpolation="nearest", color_mode="grayscale"),
     dict(interpolation="bicubic", crop_to_aspect_ratio=True, color_mode="rgba"),
     dict(pad_to_aspect_ratio=True, image_size=(5, 11), data_format="channels_first")],
)
def test_pixels_order_and_labels_match_keras(oracle, image_dir, options):
    from keras.src.utils.dataset_utils import index_directory

    size = options.pop("image_size", (8, 6))
    ds = image_dataset_from_directory(str(image_dir), image_size=size, batch_size=4, seed=5, verbose=False, **options)
    paths, labels, class_names = index_directory(str(image_dir), "inferred", formats=(".bmp", ".gif", ".jpeg", ".jpg", ".png"),
                                                 shuffle=True, seed=5, verbose=False)
    assert ds.class_names == class_names == ["cats", "dogs", "owls"]
    assert ds.file_paths == paths
    mode = {"grayscale": "L", "rgba": "RGBA"}.get(options.get("color_mode"), "RGB")
    data_format = options.get("data_format", "channels_last")
    expected = []
    for path in paths:
        with PIL.open(path) as img:
            array = np.asarray(img.convert(mode), dtype="float32")
        array = array[..., None] if array.ndim == 2 else array
        resized = oracle.ops.image.resize(
            array, size, interpolation=options.get("interpolation", "bilinear"),
            crop_to_aspect_ratio=options.get("crop_to_aspect_ratio", False),
            pad_to_aspect_ratio=options.get("pad_to_aspect_ratio", False), data_format="channels_last")
        resized = np.asarray(resized)
        expected.append(resized.transpose(2, 0, 1) if data_format == "channels_first" else resized)
    # One pass over the dataset: the per-epoch shuffle reorders files, so match them by label+pixels.
    images, got_labels = _collect(ds)
    assert images.dtype == np.float32 and got_labels.dtype == np.int32
    assert images.shape == (len(paths),) + expected[0].shape
    assert sorted(got_labels.tolist()) == sorted(np.asarray(labels).tolist())
    for image, label in zip(images, got_labels):
        matches = [i for i, e in enumerate(expected) if np.allclose(image, e, atol=1e-3)]
        assert matches and all(labels[i] == label for i in matches)


def test_unshuffled_order_and_label_modes(image_dir):
    ds = image_dataset_from_directory(str(image_dir), image_size=(4, 4), shuffle=False, batch_size=None,
                                      label_mode="categorical", verbose=False)
    elements = list(ds)
    assert len(elements) == 11 and elements[0][0].shape == (4, 4, 3)
    assert [int(y.argmax()) for _, y in elements] == [0] * 4 + [1] * 3 + [2] * 4
    assert elements[0][1].dtype == torch.float32 and tuple(elements[0][1].shape) == (3,)
    assert elements[0][0].dtype == torch.float32
    assert ds.file_paths[0].endswith("cats/gray.png")  # sorted within each class


def test_binary_and_no_labels_and_label_list(tmp_path):
    rng = np.random.default_rng(1)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            PIL.fromarray(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = image_dataset_from_directory(str(tmp_path), label_mode="binary", image_size=(5, 5), shuffle=False, verbose=False)
    x, y = ds[0]
    assert tuple(y.shape) == (6, 1) and y.dtype == torch.float32 and y[:, 0].tolist() == [0, 0, 0, 1, 1, 1]
    ds = image_dataset_from_directory(str(tmp_path), labels=None, image_size=(5, 5), shuffle=False, verbose=False)
    assert isinstance(ds[0], torch.Tensor) and tuple(ds[0].shape) == (6, 5, 5, 3) and ds.class_names is None
    ds = image_dataset_from_directory(str(tmp_path), labels=[5, 4, 3, 2, 1, 0], image_size=(5, 5), shuffle=False, verbose=False)
    assert ds[0][1].tolist() == [5, 4, 3, 2, 1, 0] and ds.class_names == ["0", "1", "2", "3", "4", "5"]


def test_validation_split_subsets(image_dir):
    kwargs = dict(image_size=(4, 4), validation_split=0.3, seed=7, batch_size=2, verbose=False)
    train, val = image_dataset_from_directory(str(image_dir), subset="both", **kwargs)
    assert len(train.file_paths) == 8 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    assert image_dataset_from_directory(str(image_dir), subset="training", **kwargs).file_paths == train.file_paths
    assert image_dataset_from_directory(str(image_dir), subset="validation", **kwargs).file_paths == val.file_paths
    # Validation data keeps its order; training data is reshuffled every epoch.
    first, second = [b[1].tolist() for b in val], [b[1].tolist() for b in val]
    assert first == second
    epochs = [torch.cat([b[0] for b in train]).sum(dim=(1, 2, 3)).tolist() for _ in range(4)]
    assert any(e != epochs[0] for e in epochs[1:])


def test_fit_on_image_dataset(image_dir):
    ds, val = image_dataset_from_directory(str(image_dir), image_size=(8, 8), batch_size=4, seed=1, verbose=False,
                                           validation_split=0.25, subset="both")
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)), lamina.layers.Rescaling(1 / 255), lamina.layers.Flatten(),
        lamina.layers.Dense(3),
    ])
    model.compile(optimizer="sgd", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    # The Keras examples' pattern: augmentation layers mapped over the batches.
    augment = lamina.Sequential([lamina.layers.RandomFlip("horizontal", seed=1)])
    model.fit(ds.map(lambda x, y: (augment(x, training=True), y)).prefetch(2), epochs=1, verbose=0)
    images, labels = next(iter(ds))
    assert images[0].numpy().astype("uint8").shape == (8, 8, 3) and isinstance(int(labels[0]), int)
    assert model.predict(ds, verbose=0).shape == (9, 3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(labels="folders"), ValueError, "`labels` argument"),
        (dict(labels=[0] * 11, class_names=["a"]), ValueError, "class_names"),
        (dict(label_mode="sparse"), ValueError, "label_mode"),
        (dict(color_mode="cmyk"), ValueError, "color_mode"),
        (dict(image_size=(1, 2, 3)), ValueError, "image_size"),
        (dict(interpolation="area"), ValueError, "TensorFlow-only"),
        (dict(interpolation="cubic"), ValueError, "interpolation"),
        (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), ValueError, "Only one"),
        (dict(validation_split=0.2), ValueError, "subset"),
        (dict(validation_split=0.2, subset="training"), ValueError, "seed"),
        (dict(validation_split=1.5, subset="training", seed=1), ValueError, "between 0 and 1"),
        (dict(subset="test", validation_split=0.2, seed=1), ValueError, "subset"),
        (dict(label_mode="binary"), ValueError, "exactly 2"),
        (dict(format="torch"), ValueError, "format"),
    ],
)
def test_bad_arguments(image_dir, kwargs, error, match):
    with pytest.raises(error, match=match):
        image_dataset_from_directory(str(image_dir), verbose=False, **kwargs)


def test_empty_directory(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No image files found"):
        image_dataset_from_directory(str(tmp_path), verbose=False)
