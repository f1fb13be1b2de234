import numpy as np
import pytest

from lamina.preprocessing import image

PARAMS = [
    dict(theta=33.0),
    dict(tx=2.5, ty=-3.25),
    dict(shear=20.0),
    dict(zx=0.7, zy=1.6),
    dict(theta=-75.0, tx=1.5, ty=4.0, shear=-12.0, zx=1.3, zy=0.8),
    dict(theta=180.0, zx=2.5, zy=2.5),
]


@pytest.mark.oracle
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "reflect", "wrap"])
@pytest.mark.parametrize("order", [0, 1])
def test_apply_affine_transform_matches_keras_scipy(keras2, fill_mode, order):
    rng = np.random.default_rng(0)
    for dtype in ("float32", "uint8", "float64"):
        cases = (((9, 13, 3), (0, 1, 2)), ((1, 7, 5), (1, 2, 0)), ((6, 1, 2), (0, 1, 2)))
        for shape, axes in cases:
            x = (rng.random(shape) * 250).astype(dtype)
            for params in PARAMS:
                kwargs = dict(
                    params, row_axis=axes[0], col_axis=axes[1], channel_axis=axes[2],
                    fill_mode=fill_mode, cval=3.5, order=order,
                )
                expected = keras2.image.apply_affine_transform(x, **kwargs)
                got = image.apply_affine_transform(x, **kwargs)
                assert got.dtype == expected.dtype and got.shape == expected.shape
                np.testing.assert_array_equal(got, expected)


@pytest.mark.oracle
def test_apply_affine_transform_fuzz_matches_keras_scipy(keras2):
    # Random sizes (including 1-pixel axes), dtypes and large transforms that sample far outside
    # the image, where the boundary modes differ most.
    rng = np.random.default_rng(42)
    for _ in range(40):
        h, w = rng.integers(1, 10, 2)
        dtype = rng.choice(["float32", "float64", "uint8", "int16"])
        x = (rng.random((h, w, rng.choice([1, 3]))) * 300 - 20).astype(dtype)
        params = dict(
            theta=rng.uniform(-180, 180), tx=rng.uniform(-15, 15), ty=rng.uniform(-15, 15),
            shear=rng.uniform(-40, 40), zx=rng.uniform(0.3, 3), zy=rng.uniform(0.3, 3),
        )
        for fill_mode in ("constant", "nearest", "reflect", "wrap"):
            for order in (0, 1):
                kwargs = dict(params, row_axis=0, col_axis=1, channel_axis=2,
                              fill_mode=fill_mode, cval=-1.5, order=order)
                np.testing.assert_array_equal(
                    image.apply_affine_transform(x, **kwargs),
                    keras2.image.apply_affine_transform(x, **kwargs),
                )


@pytest.mark.oracle
def test_random_transforms_same_draws_as_keras(keras2):
    x = (np.random.default_rng(1).random((3, 10, 12)) * 255).astype("float32")
    x_last = np.ascontiguousarray(np.moveaxis(x, 0, 2))
    cases = [
        ("random_rotation", (x, 40), {}),
        ("random_shift", (x, 0.2, 0.3), {"fill_mode": "reflect"}),
        ("random_shear", (x, 30), {"fill_mode": "constant", "cval": 1.0}),
        ("random_zoom", (x, (0.6, 1.4)), {"fill_mode": "wrap"}),
        ("random_zoom", (x, (1, 1)), {}),
        ("random_rotation", (x_last, 90), dict(row_axis=0, col_axis=1, channel_axis=2)),
        ("random_channel_shift", (x, 20.0), {}),
        ("random_channel_shift", (x_last, 20.0), {"channel_axis": 2}),
        ("random_brightness", (x_last, (0.5, 1.5)), {}),
        ("random_brightness", (x_last * 3 - 100, (0.2, 0.9)), {"scale": False}),
    ]
    for name, args, kwargs in cases:
        np.random.seed(5)
        expected = getattr(keras2.image, name)(*args, **kwargs)
        np.random.seed(5)
        got = getattr(image, name)(*args, **kwargs)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-4, err_msg=name)


@pytest.mark.oracle
def test_channel_and_brightness_shift_match_keras(keras2):
    x = (np.random.default_rng(2).random((8, 6, 3)) * 255).astype("float32")
    for intensity in (-30.0, 0.0, 100.0):
        np.testing.assert_array_equal(
            image.apply_channel_shift(x, intensity, 2),
            keras2.image.apply_channel_shift(x, intensity, 2),
        )
    for brightness, scale in ((0.3, True), (1.7, False)):
        np.testing.assert_array_equal(
            image.apply_brightness_shift(x, brightness, scale),
            keras2.image.apply_brightness_shift(x, brightness, scale),
        )


def test_identity_transform_returns_input():
    x = np.arange(12.0).reshape(2, 2, 3)
    assert image.apply_affine_transform(x) is x


def test_quarter_turn_is_exact():
    x = np.arange(16.0).reshape(1, 4, 4)
    turned = image.apply_affine_transform(x, theta=90)
    np.testing.assert_allclose(turned[0], np.rot90(x[0], k=1), atol=1e-12)


def test_affine_transform_errors():
    x = np.zeros((3, 4, 4))
    with pytest.raises(ValueError, match="must be distinct"):
        image.apply_affine_transform(x, theta=10, row_axis=1, col_axis=1)
    with pytest.raises(ValueError, match="Invalid axis"):
        image.apply_affine_transform(x, theta=10, row_axis=1, col_axis=3)
    with pytest.raises(ValueError, match="multi-channel 2D images"):
        image.apply_affine_transform(np.zeros((4, 4)), theta=10, channel_axis=2, row_axis=0,
                                     col_axis=1)
    with pytest.raises(ValueError, match="channel_axis` must be 0 or 2"):
        image.apply_affine_transform(x, theta=10, row_axis=0, col_axis=2, channel_axis=1)
    with pytest.raises(ValueError, match="fill_mode"):
        image.apply_affine_transform(x, theta=10, fill_mode="mirror")
    with pytest.raises(ValueError, match="order"):
        image.apply_affine_transform(x, theta=10, order=3)
    with pytest.raises(ValueError, match="zoom_range"):
        image.random_zoom(x, (0.5, 1.0, 2.0))
    with pytest.raises(ValueError, match="brightness_range"):
        image.random_brightness(x, (0.5,))
