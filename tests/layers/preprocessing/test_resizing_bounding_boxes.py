"""``Resizing`` on dicts of images, bounding boxes, segmentation masks and labels."""

import numpy as np
import pytest

import lamina
from lamina.layers import Resizing

MODES = {"stretch": {}, "pad": {"pad_to_aspect_ratio": True}, "crop": {"crop_to_aspect_ratio": True}}


def _data(batched=True, height=30, width=50):
    rng = np.random.default_rng(0)
    images = rng.random((2, height, width, 3)).astype("float32")
    boxes = np.array(
        [
            [[4.0, 3.0, 20.0, 25.0], [30.0, 10.0, 49.0, 29.0], [-1.0, -1.0, -1.0, -1.0]],
            [[0.0, 0.0, 0.0, 0.0], [10.0, 2.0, 12.0, 28.0], [1.0, 1.0, 48.0, 29.0]],
        ],
        "float32",
    )
    labels = np.array([[1, 2, -1], [-1, 3, 4]])
    masks = rng.integers(0, 3, size=(2, height, width, 1)).astype("int32")
    data = {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}, "segmentation_masks": masks}
    if not batched:
        data = {
            "images": images[0],
            "bounding_boxes": {"boxes": boxes[0], "labels": labels[0]},
            "segmentation_masks": masks[0],
        }
    return data


def _numpy(tree):
    if isinstance(tree, dict):
        return {k: _numpy(v) for k, v in tree.items()}
    return tree.detach().numpy() if hasattr(tree, "detach") else np.asarray(tree)


def _copy(tree):
    return {k: _copy(v) for k, v in tree.items()} if isinstance(tree, dict) else np.array(tree)


@pytest.mark.oracle
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("box_format", ["xyxy", "yxyx", "rel_xyxy", "center_xywh"])
@pytest.mark.parametrize("size", [(40, 40), (20, 60)])
def test_boxes_follow_the_resize_like_keras(oracle, mode, box_format, size):
    data = _data()
    boxes = data["bounding_boxes"]["boxes"]
    keep = ~((boxes == -1).all(-1) | (boxes == 0).all(-1))
    converted = oracle.utils.bounding_boxes.convert_format(boxes, "xyxy", box_format, height=30, width=50)
    # Padding rows stay padding rows in every format.
    data["bounding_boxes"]["boxes"] = np.where(keep[..., None], np.asarray(converted), boxes)
    kwargs = dict(MODES[mode], bounding_box_format=box_format)
    ours = _numpy(Resizing(*size, **kwargs)(_copy(data)))
    theirs = _numpy(oracle.layers.Resizing(*size, **kwargs)(_copy(data)))
    np.testing.assert_allclose(ours["images"], theirs["images"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours["bounding_boxes"]["boxes"], theirs["bounding_boxes"]["boxes"], rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(ours["bounding_boxes"]["labels"], theirs["bounding_boxes"]["labels"])
    np.testing.assert_array_equal(ours["segmentation_masks"], theirs["segmentation_masks"])


@pytest.mark.oracle
@pytest.mark.parametrize("mode", sorted(MODES))
def test_unbatched_dict_like_keras(oracle, mode):
    data = _data(batched=False)
    kwargs = dict(MODES[mode], bounding_box_format="xyxy")
    ours = _numpy(Resizing(24, 36, **kwargs)(_copy(data)))
    theirs = _numpy(oracle.layers.Resizing(24, 36, **kwargs)(_copy(data)))
    assert ours["images"].shape == theirs["images"].shape == (24, 36, 3)
    np.testing.assert_allclose(ours["bounding_boxes"]["boxes"], theirs["bounding_boxes"]["boxes"], rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(ours["bounding_boxes"]["labels"], theirs["bounding_boxes"]["labels"])


def test_pipeline_with_max_num_bounding_boxes():
    data = _data()
    resized = Resizing(64, 64, pad_to_aspect_ratio=True, bounding_box_format="xyxy")(data)
    out = lamina.layers.MaxNumBoundingBoxes(5, bounding_box_format="xyxy")(resized)
    assert tuple(out["images"].shape) == (2, 64, 64, 3)
    assert tuple(out["bounding_boxes"]["boxes"].shape) == (2, 5, 4)
    assert tuple(out["segmentation_masks"].shape) == (2, 64, 64, 1)


def test_boxes_need_a_format():
    with pytest.raises(ValueError, match="didn't specify a bounding box format.*Resizing"):
        Resizing(8, 8)(_data())


def test_plain_images_and_config():
    layer = Resizing(8, 10, crop_to_aspect_ratio=True, bounding_box_format="yxyx")
    assert tuple(layer(np.zeros((3, 16, 16, 3), "float32")).shape) == (3, 8, 10, 3)
    config = layer.get_config()
    assert config["bounding_box_format"] == "yxyx"
    assert Resizing.from_config(config).bounding_box_format == "yxyx"
    assert "bounding_box_format" not in Resizing(8, 8).get_config()
    shapes = layer.compute_output_shape({"images": (None, 16, 16, 3), "segmentation_masks": (None, 16, 16, 1)})
    assert shapes == {"images": (None, 8, 10, 3), "segmentation_masks": (None, 8, 10, 1)}


def test_read_only_arrays_convert_without_warning():
    import warnings

    images = np.zeros((1, 8, 8, 3), "uint8")
    images.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Resizing(4, 4)(images)
    assert tuple(out.shape) == (1, 4, 4, 3)
