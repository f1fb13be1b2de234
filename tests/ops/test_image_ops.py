"""lamina.ops.image: resize and affine_transform against keras.ops.image (JAX backend)."""

import math

import numpy as np
import pytest
import torch

from lamina.ops import image


def _rotation(angle, height, width, scale=1.0, tx=0.0, ty=0.0):
    t = np.float32(angle * math.pi / 180)
    c, s = np.cos(t), np.sin(t)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    a0, a1, b0, b1 = scale * c, -scale * s, scale * s, scale * c
    return np.array([a0, a1, tx + cx - cx * a0 - cy * a1, b0, b1, ty + cy - cx * b0 - cy * b1, 0, 0], "float32")


@pytest.mark.oracle
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_transform_matches_oracle(oracle, rng, interpolation, fill_mode):
    x = rng.random((3, 7, 9, 2)).astype("float32") * 10
    transforms = np.stack(
        [_rotation(30, 7, 9), _rotation(-100, 7, 9, 1.3, 1.5, -2.2), _rotation(0, 7, 9, 0.7, 0.5, 0.5)]
    )
    for data_format in ("channels_last", "channels_first"):
        xx = x if data_format == "channels_last" else np.ascontiguousarray(np.moveaxis(x, -1, 1))
        args = (interpolation, fill_mode, -1.5, data_format)
        expected = np.asarray(oracle.ops.image.affine_transform(xx, transforms, *args))
        out = image.affine_transform(torch.from_numpy(xx), torch.from_numpy(transforms), *args)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    # One image with one transform.
    expected = np.asarray(oracle.ops.image.affine_transform(x[0], transforms[1], interpolation, fill_mode))
    out = image.affine_transform(x[0], transforms[1], interpolation, fill_mode)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_affine_transform_integer_images_match_oracle(oracle, rng):
    x = (rng.random((2, 5, 6, 1)) * 255).astype("uint8")
    transforms = np.stack([_rotation(17, 5, 6), _rotation(-40, 5, 6, 0.8)])
    expected = np.asarray(oracle.ops.image.affine_transform(x, transforms, "bilinear", "reflect"))
    out = image.affine_transform(torch.from_numpy(x), transforms, "bilinear", "reflect")
    assert out.dtype == torch.uint8
    np.testing.assert_array_equal(out.numpy(), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"])
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_matches_oracle(oracle, rng, interpolation, antialias):
    # Upsampling (7 -> 16 non-integer, 9 -> 18 integer), downsampling (7 -> 4, 9 -> 3), and an
    # unchanged axis.
    x = rng.random((2, 7, 9, 3)).astype("float32")
    for size in [(16, 18), (4, 3), (5, 9)]:
        expected = np.asarray(oracle.ops.image.resize(x, size, interpolation=interpolation, antialias=antialias))
        out = image.resize(torch.from_numpy(x), size, interpolation, antialias)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5, err_msg=str(size))


@pytest.mark.oracle
def test_resize_channels_first_and_integer_images_match_oracle(oracle, rng):
    x = np.ascontiguousarray(np.moveaxis(rng.random((2, 5, 9, 3)).astype("float32"), -1, 1))
    for kwargs in ({}, {"pad_to_aspect_ratio": True, "fill_value": 2.0}, {"crop_to_aspect_ratio": True}):
        for data_format, xx in (("channels_first", x), ("channels_last", np.moveaxis(x, 1, -1))):
            expected = np.asarray(oracle.ops.image.resize(xx, (6, 6), data_format=data_format, **kwargs))
            out = image.resize(torch.from_numpy(np.ascontiguousarray(xx)), (6, 6), data_format=data_format, **kwargs)
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    ints = (rng.random((6, 7, 3)) * 255).astype("uint8")
    for interpolation in ("bilinear", "nearest", "bicubic"):
        expected = np.asarray(oracle.ops.image.resize(ints, (9, 4), interpolation=interpolation))
        out = image.resize(torch.from_numpy(ints), (9, 4), interpolation)
        assert out.dtype == torch.uint8
        # Rounding ties (x.5 in one library, x.49998 in the other) may differ by one.
        np.testing.assert_allclose(out.numpy().astype(int), expected.astype(int), atol=1)


def test_resize_and_affine_transform_errors():
    x = torch.zeros(2, 4, 4, 1)
    with pytest.raises(ValueError, match="interpolation"):
        image.resize(x, (2, 2), interpolation="area2")
    with pytest.raises(ValueError, match="fill_mode"):
        image.resize(x, (2, 2), fill_mode="reflect")
    with pytest.raises(ValueError, match="Only one of"):
        image.resize(x, (2, 2), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="rank"):
        image.resize(torch.zeros(4, 4), (2, 2))
    with pytest.raises(ValueError, match="fill_mode"):
        image.affine_transform(x, torch.zeros(8), fill_mode="tile")
    with pytest.raises(ValueError, match="transform"):
        image.affine_transform(x, torch.zeros(6))
