"""``lamina.utils.bounding_boxes`` against ``keras.utils.bounding_boxes`` on random boxes."""

import itertools

import numpy as np
import pytest
import torch

import lamina
from lamina.utils import bounding_boxes as bb

FORMATS = [
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
]
HEIGHT, WIDTH = 48, 64


def _xyxy(rng, shape):
    """Random valid xyxy boxes inside a HEIGHT x WIDTH image (some overlapping)."""
    x = np.sort(rng.uniform(0, WIDTH, size=shape + (2,)), axis=-1)
    y = np.sort(rng.uniform(0, HEIGHT, size=shape + (2,)), axis=-1)
    return np.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], axis=-1).astype("float32")


def _boxes_in(fmt, rng, shape, oracle):
    # A writable copy (arrays from JAX are read-only).
    return np.array(
        oracle.utils.bounding_boxes.convert_format(_xyxy(rng, shape), "xyxy", fmt, height=HEIGHT, width=WIDTH)
    )


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(7,), (3, 5)])
def test_convert_format_every_pair_matches_keras(oracle, rng, shape):
    for source, target in itertools.product(FORMATS, FORMATS):
        boxes = _boxes_in(source, rng, shape, oracle)
        expected = oracle.utils.bounding_boxes.convert_format(boxes, source, target, height=HEIGHT, width=WIDTH)
        got = bb.convert_format(boxes, source, target, height=HEIGHT, width=WIDTH)
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
        np.testing.assert_allclose(
            _np(got), np.asarray(expected), rtol=1e-6, atol=1e-6, err_msg=f"{source}->{target}"
        )


@pytest.mark.oracle
def test_convert_format_dict_dtype_and_case_match_keras(oracle, rng):
    boxes = _xyxy(rng, (4,))
    data = {"boxes": boxes, "labels": np.arange(4)}
    out = bb.convert_format(data, "XYXY", "Center_XYWH")
    assert out is data  # Keras converts the dict in place
    expected = oracle.utils.bounding_boxes.convert_format({"boxes": boxes}, "xyxy", "center_xywh")
    np.testing.assert_allclose(_np(out["boxes"]), np.asarray(expected["boxes"]), rtol=1e-6)
    # The dtype argument is honoured; relative to relative asks for the image size too (Keras).
    rel = bb.convert_format(boxes / 100, "rel_xyxy", "rel_xywh", height=1, width=1, dtype="float64")
    assert rel.dtype == torch.float64
    expected = oracle.utils.bounding_boxes.convert_format(boxes / 100, "rel_xyxy", "rel_xywh", height=1, width=1)
    np.testing.assert_allclose(_np(rel), np.asarray(expected), rtol=1e-6)


def test_convert_format_errors_name_the_problem():
    with pytest.raises(ValueError, match="last dimension of 4"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "yxyx")
    with pytest.raises(ValueError, match="Supported formats"):
        bb.convert_format(np.zeros((2, 4)), "xyxy", "corners")
    with pytest.raises(ValueError, match="`height` and `width`"):
        bb.convert_format(np.zeros((2, 4)), "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="`height` and `width`"):
        bb.convert_format(np.zeros((2, 4)), "rel_xyxy", "rel_yxyx")


@pytest.mark.oracle
@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size_matches_keras(oracle, rng, fmt):
    boxes = rng.uniform(-30, 90, size=(2, 6, 4)).astype("float32")
    if fmt == "rel_xyxy":
        boxes = boxes / 60.0
    labels = rng.integers(0, 5, size=(2, 6)).astype("int32")
    data = {"boxes": boxes, "labels": labels}
    kwargs = dict(height=HEIGHT, width=WIDTH) if fmt == "xyxy" else {}
    expected = oracle.utils.bounding_boxes.clip_to_image_size(dict(data), bounding_box_format=fmt, **kwargs)
    got = bb.clip_to_image_size(data, bounding_box_format=fmt, **kwargs)
    np.testing.assert_allclose(_np(got["boxes"]), np.asarray(expected["boxes"]), rtol=1e-6)
    np.testing.assert_array_equal(_np(got["labels"]), np.asarray(expected["labels"]))
    assert (_np(got["labels"]) == -1).any()
    assert got is not data and data["boxes"] is boxes


def test_clip_to_image_size_errors():
    with pytest.raises(ValueError, match="`height` and `width`"):
        bb.clip_to_image_size({"boxes": np.zeros((1, 4))})
    with pytest.raises(NotImplementedError, match="xyxy"):
        bb.clip_to_image_size({"boxes": np.zeros((1, 4))}, 10, 10, bounding_box_format="xywh")


@pytest.mark.oracle
def test_affine_transform_matches_keras(oracle, rng):
    boxes = _xyxy(rng, (3, 5))
    params = {
        "angle": rng.uniform(-40, 40, size=3).astype("float32"),
        "translate_x": rng.uniform(-0.2, 0.2, size=3).astype("float32"),
        "translate_y": rng.uniform(-0.2, 0.2, size=3).astype("float32"),
        "scale": rng.uniform(0.7, 1.3, size=3).astype("float32"),
        "shear_x": rng.uniform(-15, 15, size=3).astype("float32"),
        "shear_y": rng.uniform(-15, 15, size=3).astype("float32"),
    }
    for center in (None, 0.3):
        expected = oracle.utils.bounding_boxes.affine_transform(
            boxes, **params, height=HEIGHT, width=WIDTH, center_x=center, center_y=center
        )
        got = bb.affine_transform(boxes, **params, height=HEIGHT, width=WIDTH, center_x=center, center_y=center)
        np.testing.assert_allclose(_np(got), np.asarray(expected), rtol=1e-4, atol=1e-3)
    # One image's boxes with scalar parameters: the same as a batch of one.
    single = {k: float(v[0]) for k, v in params.items()}
    one = bb.affine_transform(boxes[0], **single, height=HEIGHT, width=WIDTH)
    batch = bb.affine_transform(boxes[:1], **{k: v[:1] for k, v in params.items()}, height=HEIGHT, width=WIDTH)
    np.testing.assert_allclose(_np(one), _np(batch)[0], rtol=1e-6)
    with pytest.raises(NotImplementedError):
        bb.affine_transform(boxes, **params, height=HEIGHT, width=WIDTH, bounding_box_format="yxyx")


def test_affine_transform_identity_keeps_boxes(rng):
    boxes = _xyxy(rng, (2, 4))
    zeros = np.zeros(2, "float32")
    out = bb.affine_transform(boxes, zeros, zeros, zeros, np.ones(2, "float32"), zeros, zeros, HEIGHT, WIDTH)
    np.testing.assert_allclose(_np(out), boxes, rtol=1e-5, atol=1e-4)


@pytest.mark.oracle
def test_crop_and_pad_match_keras(oracle, rng):
    boxes = _xyxy(rng, (2, 6))
    for top, left, height, width in [(5, 7, 20, 30), (0, 0, None, None), (-4, 3, 100, 10)]:
        np.testing.assert_allclose(
            _np(bb.crop(boxes, top, left, height, width)),
            np.asarray(oracle.utils.bounding_boxes.crop(boxes, top, left, height, width)),
            rtol=1e-6,
        )
        np.testing.assert_allclose(
            _np(bb.pad(boxes, top, left)), np.asarray(oracle.utils.bounding_boxes.pad(boxes, top, left)), rtol=1e-6
        )
    with pytest.raises(NotImplementedError):
        bb.crop(boxes, 0, 0, 1, 1, bounding_box_format="xywh")
    with pytest.raises(NotImplementedError):
        bb.pad(boxes, 0, 0, bounding_box_format="xywh")


@pytest.mark.oracle
@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
def test_encode_and_decode_deltas_match_keras(oracle, rng, encoding):
    anchors = _xyxy(rng, (6,))
    image_shape = (HEIGHT, WIDTH, 3)
    for anchor_format, box_format in [("xyxy", "xyxy"), ("xywh", "rel_yxyx"), ("center_yxhw", "rel_center_xywh")]:
        anchors_f = _boxes_in(anchor_format, rng, (6,), oracle)
        boxes = _boxes_in(box_format, rng, (2, 6), oracle)
        for variance in (None, [0.1, 0.1, 0.2, 0.2]):
            kwargs = dict(variance=variance, image_shape=image_shape)
            expected = oracle.utils.bounding_boxes.encode_box_to_deltas(
                anchors_f, boxes, anchor_format, box_format, encoding_format=encoding, **kwargs
            )
            got = bb.encode_box_to_deltas(
                anchors_f, boxes, anchor_format, box_format, encoding_format=encoding, **kwargs
            )
            np.testing.assert_allclose(_np(got), np.asarray(expected), rtol=1e-5, atol=1e-5)
            decoded = bb.decode_deltas_to_boxes(
                anchors_f, got, anchor_format, box_format, encoded_format=encoding, **kwargs
            )
            expected_decoded = oracle.utils.bounding_boxes.decode_deltas_to_boxes(
                anchors_f, np.asarray(expected), anchor_format, box_format, encoded_format=encoding, **kwargs
            )
            np.testing.assert_allclose(_np(decoded), np.asarray(expected_decoded), rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(_np(decoded), boxes, rtol=1e-4, atol=1e-4)
    # Per-level dicts decode level by level.
    levels = {"p3": anchors, "p4": anchors[:3]}
    deltas = {"p3": np.zeros((6, 4), "float32"), "p4": np.zeros((3, 4), "float32")}
    out = bb.decode_deltas_to_boxes(levels, deltas, "xyxy", "xyxy", encoded_format=encoding)
    np.testing.assert_allclose(_np(out["p4"]), anchors[:3], rtol=1e-5)


def test_deltas_argument_errors(rng):
    anchors = _xyxy(rng, (2,))
    with pytest.raises(ValueError, match="variance"):
        bb.encode_box_to_deltas(anchors, anchors, "xyxy", "xyxy", variance=[1, 1, 1])
    with pytest.raises(ValueError, match="encoding_format"):
        bb.encode_box_to_deltas(anchors, anchors, "xyxy", "xyxy", encoding_format="xyxy")
    with pytest.raises(ValueError, match="encoded_format"):
        bb.decode_deltas_to_boxes(anchors, anchors, "xyxy", "xyxy", encoded_format="xyxy")


@pytest.mark.oracle
@pytest.mark.parametrize("fmt", FORMATS)
def test_compute_iou_every_format_and_rank_matches_keras(oracle, rng, fmt):
    image_shape = (HEIGHT, WIDTH, 3)
    for shape1, shape2 in [((5,), (4,)), ((2, 5), (2, 4)), ((2, 5), (4,)), ((5,), (2, 4))]:
        boxes1 = _boxes_in(fmt, rng, shape1, oracle)
        boxes2 = _boxes_in(fmt, rng, shape2, oracle)
        expected = oracle.utils.bounding_boxes.compute_iou(boxes1, boxes2, fmt, image_shape=image_shape)
        got = bb.compute_iou(boxes1, boxes2, fmt, image_shape=image_shape)
        assert tuple(got.shape) == tuple(np.shape(expected))
        np.testing.assert_allclose(_np(got), np.asarray(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_compute_iou_masking_matches_keras(oracle, rng):
    boxes1 = _xyxy(rng, (2, 5))
    boxes2 = _xyxy(rng, (2, 4))
    boxes1[0, 1] = -1.0
    boxes2[1, 3] = -1.0
    expected = oracle.utils.bounding_boxes.compute_iou(boxes1, boxes2, "xyxy", use_masking=True, mask_val=-7)
    got = bb.compute_iou(boxes1, boxes2, "xyxy", use_masking=True, mask_val=-7)
    np.testing.assert_allclose(_np(got), np.asarray(expected), rtol=1e-5, atol=1e-6)
    assert (_np(got) == -7).sum() == 4 + 5


def test_compute_iou_errors_and_identity(rng):
    boxes = _xyxy(rng, (3,))
    np.testing.assert_allclose(np.diag(_np(bb.compute_iou(boxes, boxes, "xyxy"))), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="boxes1"):
        bb.compute_iou(boxes[0], boxes, "xyxy")
    with pytest.raises(ValueError, match="image_shape"):
        bb.compute_iou(boxes, boxes, "rel_xyxy")


@pytest.mark.oracle
@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw"])
def test_compute_ciou_matches_keras(oracle, rng, fmt):
    for shape in [(6,), (2, 6)]:
        boxes1 = _boxes_in(fmt, rng, shape, oracle)
        boxes2 = _boxes_in(fmt, rng, shape, oracle)
        expected = oracle.utils.bounding_boxes.compute_ciou(boxes1, boxes2, fmt)
        got = bb.compute_ciou(boxes1, boxes2, fmt)
        np.testing.assert_allclose(_np(got), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_compute_ciou_relative_formats_need_the_image_shape(rng):
    boxes = _xyxy(rng, (3,))
    rel = _np(bb.convert_format(boxes, "xyxy", "rel_xyxy", height=HEIGHT, width=WIDTH))
    with pytest.raises(ValueError, match="image_shape"):
        bb.compute_ciou(rel, rel, "rel_xyxy")
    # With the image shape (which Keras refuses for relative formats) it equals the absolute CIoU.
    np.testing.assert_allclose(
        _np(bb.compute_ciou(rel, rel[::-1].copy(), "rel_xyxy", image_shape=(HEIGHT, WIDTH, 3))),
        _np(bb.compute_ciou(boxes, boxes[::-1].copy(), "xyxy")),
        rtol=1e-5,
    )


def test_public_names_match_keras_module():
    assert sorted(bb.__all__) == [
        "affine_transform",
        "clip_to_image_size",
        "compute_ciou",
        "compute_iou",
        "convert_format",
        "crop",
        "decode_deltas_to_boxes",
        "encode_box_to_deltas",
        "pad",
    ]
    assert lamina.utils.bounding_boxes is bb
