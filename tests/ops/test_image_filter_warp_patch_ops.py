"""gaussian_blur, sobel_edges, map_coordinates, perspective_transform, elastic_transform,
pad_images, crop_images and extract_patches against keras.ops.image."""

import numpy as np
import pytest
import torch

from lamina.ops import image as ops_image


def _close(ours, theirs, atol=1e-5):
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-5, atol=atol)


@pytest.fixture
def images(rng):
    return rng.random((2, 9, 11, 3)).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kernel_size, sigma", [((3, 3), (1.0, 1.0)), ((5, 3), (1.5, 0.7)), ((1, 7), (0.3, 2.0))])
def test_gaussian_blur_matches_oracle(oracle, images, data_format, kernel_size, sigma):
    expected = oracle.ops.image.gaussian_blur(images, kernel_size, sigma, data_format=data_format)
    _close(ops_image.gaussian_blur(images, kernel_size, sigma, data_format=data_format), expected)
    expected = oracle.ops.image.gaussian_blur(images[0], kernel_size, sigma, data_format=data_format)
    _close(ops_image.gaussian_blur(images[0], kernel_size, sigma, data_format=data_format), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_sobel_edges_matches_oracle(oracle, images, data_format):
    expected = oracle.ops.image.sobel_edges(images, data_format=data_format)
    _close(ops_image.sobel_edges(images, data_format=data_format), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("order", [0, 1])
def test_map_coordinates_matches_oracle(oracle, rng, fill_mode, order):
    inputs = rng.random((5, 6, 4)).astype("float32")
    coordinates = rng.uniform(-3, 8, (3, 7, 8)).astype("float32")
    expected = oracle.ops.image.map_coordinates(inputs, coordinates, order, fill_mode, 0.5)
    _close(ops_image.map_coordinates(inputs, coordinates, order, fill_mode, 0.5), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_perspective_transform_matches_oracle(oracle, rng, images, interpolation, data_format):
    start = np.array([[0, 0], [10, 0], [0, 8], [10, 8]], "float32")
    end = start + rng.uniform(-2, 2, (2, 4, 2)).astype("float32")
    start = np.repeat(start[None], 2, axis=0)
    kwargs = dict(interpolation=interpolation, fill_value=0.3, data_format=data_format)
    expected = oracle.ops.image.perspective_transform(images, start, end, **kwargs)
    _close(ops_image.perspective_transform(images, start, end, **kwargs), expected, atol=1e-4)
    expected = oracle.ops.image.perspective_transform(images[0], start[0], end[0], **kwargs)
    _close(ops_image.perspective_transform(images[0], start[0], end[0], **kwargs), expected, atol=1e-4)


def test_perspective_transform_identity_and_errors(images):
    corners = np.array([[0, 0], [10, 0], [0, 8], [10, 8]], "float32")
    np.testing.assert_allclose(ops_image.perspective_transform(images, corners, corners).numpy(), images, atol=1e-5)
    with pytest.raises(ValueError, match="start_points"):
        ops_image.perspective_transform(images, corners[:3], corners[:3])
    with pytest.raises(ValueError, match="same shape"):
        ops_image.perspective_transform(images, corners, np.repeat(corners[None], 2, 0))
    with pytest.raises(ValueError, match="interpolation"):
        ops_image.perspective_transform(images, corners, corners, interpolation="bicubic")


def test_elastic_transform_is_seeded_and_bounded(images):
    a = ops_image.elastic_transform(images, alpha=5.0, sigma=2.0, seed=3)
    b = ops_image.elastic_transform(images, alpha=5.0, sigma=2.0, seed=3)
    assert a.shape == images.shape and torch.equal(a, b)
    assert not torch.allclose(a, torch.from_numpy(images))
    # Bilinear samples with reflected borders stay within the input's range.
    assert a.min() >= images.min() - 1e-6 and a.max() <= images.max() + 1e-6
    still = ops_image.elastic_transform(images, alpha=0.0, sigma=2.0, seed=3)
    np.testing.assert_allclose(still.numpy(), images, atol=1e-6)
    cf = np.moveaxis(images, -1, 1)
    cf = ops_image.elastic_transform(cf, alpha=5.0, sigma=2.0, seed=3, data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(cf.numpy(), 1, -1), a.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="fill_mode"):
        ops_image.elastic_transform(images, fill_mode="edge")


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(top_padding=2, left_padding=3, target_height=20, target_width=30),
        dict(top_padding=0, bottom_padding=1, right_padding=2, target_width=15),
    ],
)
def test_pad_images_matches_oracle(oracle, images, kwargs):
    _close(ops_image.pad_images(images, **kwargs), oracle.ops.image.pad_images(images, **kwargs))
    _close(ops_image.pad_images(images[0], **kwargs), oracle.ops.image.pad_images(images[0], **kwargs))
    cf = dict(top_padding=1, left_padding=2, target_height=14, target_width=6, data_format="channels_first")
    _close(ops_image.pad_images(images, **cf), oracle.ops.image.pad_images(images, **cf))


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(top_cropping=2, left_cropping=3, target_height=5, target_width=6),
        dict(top_cropping=2, bottom_cropping=1, left_cropping=1, right_cropping=2),
    ],
)
def test_crop_images_matches_oracle(oracle, images, kwargs):
    _close(ops_image.crop_images(images, **kwargs), oracle.ops.image.crop_images(images, **kwargs))
    _close(ops_image.crop_images(images[0], **kwargs), oracle.ops.image.crop_images(images[0], **kwargs))


def test_pad_and_crop_errors(images):
    with pytest.raises(ValueError, match="exactly two"):
        ops_image.pad_images(images, 1, 1, 1, 1, target_height=20, target_width=20)
    with pytest.raises(ValueError, match="bottom_padding must be >= 0"):
        ops_image.pad_images(images, top_padding=5, left_padding=0, target_height=10, target_width=11)
    with pytest.raises(ValueError, match="exactly two"):
        ops_image.crop_images(images, top_cropping=1, target_height=3)
    with pytest.raises(ValueError, match="rank"):
        ops_image.crop_images(images[0, 0], 1, 1, target_height=2, target_width=2)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(size=3),
        dict(size=(3, 2), strides=(2, 1)),
        dict(size=(3, 3), strides=1, dilation_rate=2),
        dict(size=(4, 3), strides=(3, 2), padding="same"),
        dict(size=3, padding="same", data_format="channels_first"),
    ],
)
def test_extract_patches_matches_oracle(oracle, rng, kwargs):
    x = rng.random((2, 13, 12, 3)).astype("float32")
    _close(ops_image.extract_patches(x, **kwargs), oracle.ops.image.extract_patches(x, **kwargs))
    _close(ops_image.extract_patches(x[0], **kwargs), oracle.ops.image.extract_patches(x[0], **kwargs))


@pytest.mark.oracle
def test_extract_patches_3d_matches_oracle(oracle, rng):
    x = rng.random((2, 6, 7, 8, 2)).astype("float32")
    for kwargs in (dict(size=(2, 3, 2)), dict(size=(3, 3, 3), strides=2, padding="same")):
        _close(ops_image.extract_patches(x, **kwargs), oracle.ops.image.extract_patches(x, **kwargs))


def test_extract_patches_errors():
    x = np.zeros((2, 8, 8, 3), "float32")
    with pytest.raises(TypeError, match="size"):
        ops_image.extract_patches(x, "3")
    with pytest.raises(ValueError, match="length 2 or 3"):
        ops_image.extract_patches(x, (1, 2, 3, 4))
    with pytest.raises(ValueError, match="padding"):
        ops_image.extract_patches(x, 2, padding="full")
