"""`lamina.visualization`: drawn arrays compared with Keras's, galleries rendered with Agg."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lamina  # noqa: E402
from lamina.visualization import _deps  # noqa: E402


def _images(rng, n=2, h=48, w=40, dtype="uint8"):
    return rng.integers(0, 256, (n, h, w, 3)).astype(dtype)


def _boxes():
    return {
        "boxes": np.array(
            [[[4, 6, 30, 40], [10, 2, 20, 12], [0, 0, 5, 5]], [[1, 1, 38, 46], [5, 30, 25, 45], [0, 0, 0, 0]]],
            "float32",
        ),
        "labels": np.array([[0, 1, -1], [2, 1, -1]]),
        "confidences": np.array([[0.9, 0.25, 0.0], [0.5, 0.75, 0.0]], "float32"),
    }


@pytest.mark.oracle
@pytest.mark.parametrize(
    "fmt, kwargs",
    [
        ("xyxy", {}),
        ("xyxy", {"class_mapping": {0: "cat", 1: "dog", 2: "eel"}, "color": (255, 0, 0)}),
        ("xywh", {"class_mapping": {1: "dog"}, "line_thickness": 3, "text_thickness": 2, "font_scale": 0.5}),
        ("rel_xyxy", {"line_thickness": 1}),
    ],
)
def test_draw_bounding_boxes_matches_keras(oracle, rng, fmt, kwargs):
    images = _images(rng)
    boxes = _boxes()
    if fmt == "rel_xyxy":
        boxes["boxes"] = boxes["boxes"] / np.array([40, 48, 40, 48], "float32")
    expected = oracle.visualization.draw_bounding_boxes(images.copy(), dict(boxes), fmt, **kwargs)
    got = lamina.visualization.draw_bounding_boxes(images.copy(), dict(boxes), fmt, **kwargs)
    assert got.dtype == np.uint8 and got.shape == images.shape
    np.testing.assert_array_equal(got, expected)
    assert (got != images).any()


@pytest.mark.oracle
def test_draw_bounding_boxes_float_images_match_keras(oracle, rng):
    for scale in (1 / 255.0, 1.5):  # [0, 1] images are scaled; larger ones are clipped
        images = _images(rng).astype("float32") * scale
        expected = oracle.visualization.draw_bounding_boxes(images.copy(), _boxes(), "xyxy")
        got = lamina.visualization.draw_bounding_boxes(images.copy(), _boxes(), "xyxy")
        np.testing.assert_array_equal(got, expected)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_classes": 4, "alpha": 0.5},
        {"num_classes": 3, "color_mapping": {0: (255, 0, 0), 1: (0, 255, 0), 2: (0, 0, 255)}},
        {"num_classes": 4, "ignore_index": 2},
        {"num_classes": 4, "blend": False},
    ],
)
def test_draw_segmentation_masks_matches_keras(oracle, rng, kwargs):
    images = _images(rng, h=16, w=12)
    masks = rng.integers(0, 4, (2, 16, 12, 1)).astype("int32")
    expected = np.asarray(oracle.visualization.draw_segmentation_masks(images, masks, **kwargs))
    got = lamina.visualization.draw_segmentation_masks(images, masks, **kwargs)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.oracle
def test_draw_segmentation_masks_channels_first_matches_keras(oracle, rng):
    images = _images(rng, h=8, w=6).transpose(0, 3, 1, 2)
    masks = rng.integers(0, 3, (2, 1, 8, 6)).astype("int32")
    expected = np.asarray(
        oracle.visualization.draw_segmentation_masks(images, masks, num_classes=3, data_format="channels_first")
    )
    got = lamina.visualization.draw_segmentation_masks(images, masks, num_classes=3, data_format="channels_first")
    np.testing.assert_array_equal(got, expected)


def test_draw_errors(rng):
    images = _images(rng)
    with pytest.raises(ValueError, match="batched 4D"):
        lamina.visualization.draw_bounding_boxes(images[0], _boxes(), "xyxy")
    with pytest.raises(TypeError, match="should be a dict"):
        lamina.visualization.draw_bounding_boxes(images, [1, 2], "xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        lamina.visualization.draw_bounding_boxes(images, {"boxes": _boxes()["boxes"]}, "xyxy")
    with pytest.raises(TypeError, match="integer dtype"):
        lamina.visualization.draw_segmentation_masks(images, np.zeros((2, 48, 40, 1), "float32"))


def test_missing_libraries_name_the_install(monkeypatch, rng):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.split(".")[0] in ("cv2", "matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install opencv-python-headless"):
        lamina.visualization.draw_bounding_boxes(_images(rng), _boxes(), "xyxy")
    with pytest.raises(ImportError, match="pip install matplotlib"):
        lamina.visualization.plot_image_gallery(_images(rng))
    with pytest.raises(ImportError, match="pip install matplotlib"):
        _deps.require_pyplot("plot_bounding_box_gallery")


def test_plot_image_gallery_renders(tmp_path, rng):
    images = _images(rng, n=6, h=8, w=8)
    path = tmp_path / "gallery.png"
    lamina.visualization.plot_image_gallery(
        images, y_true=np.array([0, 1, 0, 1, 0, 1]), y_pred=np.array([0, 0, 1, 1, 0, 1]),
        label_map={0: "a", 1: "b"}, rows=2, cols=3, path=path,
    )
    assert path.read_bytes().startswith(b"\x89PNG")
    assert plt.get_fignums() == []

    lamina.visualization.plot_image_gallery(images / 255.0, value_range=(0, 1), rows=2, cols=2, show=False)
    fig = plt.gcf()
    axes = fig.get_axes()
    assert len(axes) == 4
    np.testing.assert_array_equal(axes[0].get_images()[0].get_array(), (images[0] / 255.0 * 255).astype("uint8"))
    plt.close(fig)

    with pytest.raises(ValueError, match="label_map"):
        lamina.visualization.plot_image_gallery(images, y_true=np.zeros(6))
    with pytest.raises(ValueError, match="either `path`"):
        lamina.visualization.plot_image_gallery(images, path=path, show=True)


def test_plot_bounding_box_gallery_renders(rng):
    images = _images(rng)
    lamina.visualization.plot_bounding_box_gallery(
        images, "xyxy", y_true=_boxes(), y_pred=_boxes(), class_mapping={0: "cat", 1: "dog"},
        legend=True, rows=1, cols=2, show=False,
    )
    fig = plt.gcf()
    drawn = lamina.visualization.draw_bounding_boxes(
        lamina.visualization.draw_bounding_boxes(images, _boxes(), "xyxy", class_mapping={0: "cat", 1: "dog"},
                                                 color=(0, 188, 212), text_thickness=None),
        _boxes(), "xyxy", class_mapping={0: "cat", 1: "dog"}, color=(255, 235, 59), text_thickness=None,
    )
    np.testing.assert_array_equal(fig.get_axes()[1].get_images()[0].get_array(), drawn[1])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Ground Truth", "Prediction"]
    plt.close(fig)
    with pytest.raises(ValueError, match="Only pass `legend` OR `legend_handles`"):
        lamina.visualization.plot_bounding_box_gallery(images, "xyxy", legend=True, legend_handles=[1], show=False)


def test_plot_segmentation_mask_gallery_renders(rng):
    images = _images(rng, h=8, w=8)
    masks = rng.integers(0, 3, (2, 8, 8, 1))
    lamina.visualization.plot_segmentation_mask_gallery(images, 3, y_true=masks, y_pred=masks, show=False)
    fig = plt.gcf()
    axes = fig.get_axes()
    assert len(axes) == 6  # two rows: image, true, predicted
    expected = lamina.visualization.draw_segmentation_masks(images, masks.astype("int32"), num_classes=3)
    np.testing.assert_array_equal(axes[4].get_images()[0].get_array(), expected[1])
    plt.close(fig)
