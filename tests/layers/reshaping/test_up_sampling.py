"""UpSampling1D / UpSampling2D (all interpolations) / UpSampling3D."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.pooling import MaxPooling1D, MaxPooling2D, MaxPooling3D
from lamina.layers.reshaping.up_sampling1d import UpSampling1D
from lamina.layers.reshaping.up_sampling2d import UpSampling2D
from lamina.layers.reshaping.up_sampling3d import UpSampling3D


def test_seed_upsampling2d_example():
    # Seed 000, run as written: nearest upsampling repeats the columns of integer images.
    input_shape = (2, 2, 1, 3)
    x = np.arange(np.prod(input_shape)).reshape(input_shape)
    y = UpSampling2D(size=(1, 2))(x)
    expected = [
        [[[0, 1, 2], [0, 1, 2]], [[3, 4, 5], [3, 4, 5]]],
        [[[6, 7, 8], [6, 7, 8]], [[9, 10, 11], [9, 10, 11]]],
    ]
    np.testing.assert_array_equal(y.numpy(), expected)
    assert not y.is_floating_point()


@pytest.mark.oracle
def test_upsampling2d_matches_oracle(oracle, rng):
    # Each resize compiles in the oracle: one case per mode; formats are cross-checked below.
    cases = [
        ("nearest", (2, 3), "channels_first"),
        ("bilinear", (2, 3), "channels_last"),
        ("bicubic", (3, 2), "channels_first"),
        ("lanczos3", (1, 2), "channels_last"),
        ("lanczos5", (2, 1), "channels_first"),
    ]
    x = rng.standard_normal((2, 3, 5, 2)).astype("float32")
    for interpolation, size, data_format in cases:
        kwargs = dict(size=size, data_format=data_format, interpolation=interpolation)
        expected = np.asarray(oracle.layers.UpSampling2D(**kwargs)(x))
        out = UpSampling2D(**kwargs)(x)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=2e-6, err_msg=str(kwargs))
    # Integer images are interpolated then rounded, keeping their dtype.
    ints = np.arange(12).reshape(1, 2, 2, 3)
    expected = np.asarray(oracle.layers.UpSampling2D(interpolation="bicubic")(ints))
    out = UpSampling2D(interpolation="bicubic")(ints)
    assert not out.is_floating_point()
    np.testing.assert_array_equal(out.numpy(), expected)


@pytest.mark.parametrize(
    "interpolation", ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"]
)
def test_upsampling2d_channels_first_equals_channels_last(rng, interpolation):
    x = rng.standard_normal((2, 3, 4, 2)).astype("float32")
    last = UpSampling2D((3, 2), interpolation=interpolation)(x)
    first = UpSampling2D((3, 2), "channels_first", interpolation)(np.moveaxis(x, -1, 1))
    np.testing.assert_allclose(first.movedim(1, -1).numpy(), last.numpy(), rtol=1e-5, atol=1e-6)
    # Interpolating kernels reproduce constant images exactly (weights renormalised at borders).
    ones = UpSampling2D((3, 2), interpolation=interpolation)(np.ones((1, 3, 4, 1), "float32"))
    np.testing.assert_allclose(ones.numpy(), 1.0, rtol=1e-6)


@pytest.mark.oracle
def test_upsampling1d_3d_match_oracle(oracle, rng):
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    for size in (1, 3):
        expected = np.asarray(oracle.layers.UpSampling1D(size)(x))
        np.testing.assert_array_equal(UpSampling1D(size)(x).numpy(), expected)
    x = rng.standard_normal((2, 3, 2, 1, 2)).astype("float32")
    for size, data_format in (((2, 1, 3), "channels_last"), (2, "channels_first")):
        expected = np.asarray(oracle.layers.UpSampling3D(size, data_format=data_format)(x))
        out = UpSampling3D(size, data_format=data_format)(x)
        np.testing.assert_array_equal(out.numpy(), expected)


@pytest.mark.oracle
def test_upsampling_symbolic_shapes_and_configs_match_oracle(oracle):
    cases = [
        ("UpSampling1D", dict(size=3), (None, 2)),
        ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), (None, 4, 3)),
        ("UpSampling2D", dict(data_format="channels_first"), (3, None, 5)),
        ("UpSampling3D", dict(size=(1, 2, 3)), (2, None, 4, 1)),
    ]
    classes = {cls.__name__: cls for cls in (UpSampling1D, UpSampling2D, UpSampling3D)}
    for name, kwargs, shape in cases:
        ref = getattr(oracle.layers, name)(**kwargs, name="up")
        layer = classes[name](**kwargs, name="up")
        assert layer(lamina.Input(shape)).shape == ref(oracle.Input(shape)).shape
        config = layer.get_config()
        assert config == ref.get_config()
        assert classes[name].from_config(config).get_config() == config
        rebuilt = layers.deserialize(oracle.layers.serialize(ref))
        assert type(rebuilt) is classes[name] and rebuilt.size == layer.size


def test_area_interpolation_is_repetition_for_integer_factors(rng):
    x = rng.standard_normal((1, 3, 2, 2)).astype("float32")
    area = UpSampling2D((2, 3), interpolation="AREA")
    assert area.interpolation == "area"
    np.testing.assert_array_equal(area(x).numpy(), UpSampling2D((2, 3))(x).numpy())


def test_bilinear_known_values_and_gradient():
    x = torch.tensor([[[[0.0], [1.0]], [[3.0], [7.0]]]], requires_grad=True)
    out = UpSampling2D(interpolation="bilinear")(x)
    expected = [
        [0.0, 0.25, 0.75, 1.0],
        [0.75, 1.1875, 2.0625, 2.5],
        [2.25, 3.0625, 4.6875, 5.5],
        [3.0, 4.0, 6.0, 7.0],
    ]
    np.testing.assert_allclose(out[0, :, :, 0].detach().numpy(), expected)
    out.sum().backward()
    # Every interpolation row sums to one, so each input receives its share of the 16 outputs.
    assert x.grad.sum().item() == pytest.approx(16.0)


@pytest.mark.parametrize(
    "pool, up, shape",
    [
        (MaxPooling1D(3), UpSampling1D(3), (2, 6, 4)),
        (MaxPooling2D((2, 3)), UpSampling2D((2, 3)), (2, 4, 6, 3)),
        (
            MaxPooling2D(2, data_format="channels_first"),
            UpSampling2D(2, data_format="channels_first"),
            (2, 3, 4, 6),
        ),
        (MaxPooling3D((1, 2, 2)), UpSampling3D((1, 2, 2)), (2, 3, 4, 2, 1)),
    ],
)
def test_upsampling_is_the_shape_inverse_of_max_pooling(pool, up, shape):
    # Seed 000: "the inverse of MaxPooling?D is UpSampling?D".
    x = np.random.default_rng(2).standard_normal(shape).astype("float32")
    restored = up(pool(x))
    assert restored.shape == x.shape
    # Each cell is replaced by the maximum of its pooling window.
    assert bool((restored.numpy() >= x).all())
    symbolic = up(pool(lamina.Input(shape[1:])))
    assert symbolic.shape == (None,) + shape[1:]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: UpSampling1D(0), "size"),
        (lambda: UpSampling1D(1.5), "size"),
        (lambda: UpSampling1D((2,)), "size"),
        (lambda: UpSampling2D((2, 0)), "size"),
        (lambda: UpSampling2D((2, 2, 2)), "size"),
        (lambda: UpSampling2D(interpolation="trilinear"), r"interpolation.*'nearest'.*trilinear"),
        (lambda: UpSampling2D(interpolation=None), "interpolation"),
        (lambda: UpSampling2D(data_format="NHWC"), "data_format"),
        (lambda: UpSampling3D((2, 2)), "size"),
    ],
)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_rank():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        UpSampling1D()(np.zeros((1, 2, 2, 2), "float32"))
    with pytest.raises(ValueError, match="expected ndim=5, found ndim=4"):
        UpSampling3D()(np.zeros((1, 2, 2, 2), "float32"))
