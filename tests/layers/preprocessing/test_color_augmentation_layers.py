"""Colour layers (RandomGrayscale, RandomHue, RandomSaturation, RandomColorDegeneration,
RandomColorJitter, RandomSharpness, RandomInvert, RandomPosterization, Solarization,
AutoContrast, Equalization) and the colour-space ops."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.ops import image as image_ops

# Arguments that make every random draw fixed, so both libraries must agree exactly.
FIXED = [
    ("RandomGrayscale", dict(factor=1.0)),
    ("RandomGrayscale", dict(factor=0.0)),
    ("RandomHue", dict(factor=(1.0, 1.0))),  # a shift of +/- half a turn: the same either way
    ("RandomHue", dict(factor=(0.0, 0.0), value_range=(0, 1))),
    ("RandomSaturation", dict(factor=(0.3, 0.3))),
    ("RandomSaturation", dict(factor=(0.8, 0.8), value_range=(0, 1))),
    ("RandomColorDegeneration", dict(factor=(0.4, 0.4), value_range=(20, 200))),
    ("RandomSharpness", dict(factor=(0.2, 0.2))),
    ("RandomSharpness", dict(factor=(0.9, 0.9), value_range=(20, 200))),
    ("RandomInvert", dict(factor=(1.0, 1.0))),
    ("RandomInvert", dict(factor=(0.0, 0.0))),
    ("RandomPosterization", dict(factor=(3, 3))),
    ("RandomPosterization", dict(factor=(5, 5), value_range=(0, 1))),
    ("Solarization", dict()),
    ("Solarization", dict(addition_factor=(0.0, 0.0), threshold_factor=(0.0, 0.0), value_range=(0, 1))),
    ("AutoContrast", dict()),
    ("AutoContrast", dict(value_range=(0, 1))),
    ("Equalization", dict()),
    ("Equalization", dict(bins=16, value_range=(0, 1))),
    ("RandomColorJitter", dict(brightness_factor=(0.1, 0.1), contrast_factor=(-0.3, 0.3),
                               saturation_factor=(0.6, 0.6), hue_factor=(1.0, 1.0))),
]


def _images(rng, kwargs, data_format="channels_last"):
    x = (rng.random((3, 6, 7, 3)) * 255).astype("float32")
    if tuple(kwargs.get("value_range", (0, 255))) == (0, 1):
        x = x / 255.0
    return x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)


@pytest.mark.oracle
@pytest.mark.parametrize("name, kwargs", FIXED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FIXED)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_fixed_draws_match_oracle(oracle, rng, name, kwargs, data_format):
    if data_format == "channels_first" and name == "RandomColorJitter":
        data_format = "channels_last"  # Keras does not pass data_format on to the jitter's sublayers
    kwargs = dict(kwargs, data_format=data_format)
    x = _images(rng, kwargs, data_format)
    theirs, ours = getattr(oracle.layers, name)(**kwargs), getattr(layers, name)(**kwargs)
    expected, out = np.asarray(theirs(x, training=True)), ours(x, training=True).numpy()
    scale = 255.0 if tuple(kwargs.get("value_range", (0, 255))) != (0, 1) else 1.0
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6 * scale)
    # Unbatched images (Equalization's histogram covers the whole batch, so call both again).
    single = np.asarray(theirs(x[0], training=True))
    np.testing.assert_allclose(ours(x[0], training=True).numpy(), single, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.oracle
@pytest.mark.parametrize("name, kwargs", FIXED[::3], ids=[n for n, _ in FIXED[::3]])
def test_dtypes_and_inference_match_oracle(oracle, rng, name, kwargs):
    x = (_images(rng, {}) if kwargs.get("value_range") != (0, 1) else _images(rng, {})).astype("uint8")
    kwargs = {k: v for k, v in kwargs.items() if k != "value_range"}
    theirs, ours = getattr(oracle.layers, name)(**kwargs), getattr(layers, name)(**kwargs)
    for training in (True, False):
        expected, out = np.asarray(theirs(x, training=training)), ours(x, training=training).numpy()
        assert str(out.dtype) == str(expected.dtype), (training, out.dtype, expected.dtype)
        np.testing.assert_allclose(out.astype("float64"), expected.astype("float64"), atol=1e-3)


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_colour_space_ops_match_oracle(oracle, rng, data_format):
    x = rng.random((2, 5, 6, 3)).astype("float32")
    x[0, 0, 0], x[0, 0, 1], x[0, 0, 2] = 0.5, 0.0, (1.0, 0.2, 1.0)  # gray, black, a negative hue
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    for name in ("rgb_to_hsv", "hsv_to_rgb", "rgb_to_grayscale"):
        expected = np.asarray(getattr(oracle.ops.image, name)(x, data_format=data_format))
        out = getattr(image_ops, name)(torch.tensor(x), data_format=data_format).numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    ints = (x * 255).astype("uint8")
    expected = np.asarray(oracle.ops.image.rgb_to_grayscale(ints, data_format=data_format))
    assert np.array_equal(image_ops.rgb_to_grayscale(torch.tensor(ints), data_format=data_format).numpy(), expected)
    hsv = image_ops.rgb_to_hsv(torch.tensor(x), data_format=data_format)
    torch.testing.assert_close(image_ops.hsv_to_rgb(hsv, data_format=data_format), torch.tensor(x), atol=1e-6, rtol=1e-6)


def test_colour_space_op_errors():
    with pytest.raises(ValueError, match="rank"):
        image_ops.rgb_to_hsv(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="float"):
        image_ops.hsv_to_rgb(torch.zeros(2, 2, 3, dtype=torch.int32))
    with pytest.raises(ValueError, match="channel"):
        image_ops.rgb_to_grayscale(torch.zeros(2, 2, 4))
    gray = torch.rand(2, 2, 1)
    assert image_ops.rgb_to_grayscale(gray) is gray


def _gray_per_image(x):
    return np.all(np.isclose(x[..., 0], x[..., 1]) & np.isclose(x[..., 1], x[..., 2]), axis=(1, 2))


def test_random_draw_ranges():
    rng = np.random.default_rng(1)
    x = (rng.random((400, 3, 3, 3)) * 255).astype("float32")
    gray = _gray_per_image(layers.RandomGrayscale(0.3, seed=2)(x).numpy())
    assert 0.2 < gray.mean() < 0.4
    inverted = layers.RandomInvert((0.5, 0.5), seed=2)(x).numpy()
    flipped = np.all(np.isclose(inverted, 255 - x), axis=(1, 2, 3))
    assert 0.4 < flipped.mean() < 0.6 and np.all(flipped | np.all(inverted == x, axis=(1, 2, 3)))
    ones = np.full((400, 1, 1, 1), 255.0, "float32")
    kept = layers.RandomPosterization((2, 5), seed=3)(ones).numpy().ravel()
    # 2, 3 or 4 bits kept (Keras's upper bound is exclusive): 192, 224, 240.
    assert set(np.unique(kept)) == {192.0, 224.0, 240.0}
    zeros = np.zeros((400, 1, 1, 1), "float32")
    added = layers.Solarization(addition_factor=(0.2, 0.4), threshold_factor=(1.0, 1.0), seed=4)(zeros).numpy()
    # Offsets in [0.2, 0.4 * 255] (Keras scales only the upper bound), inverted above the threshold.
    kept_values = (added >= 0.2) & (added <= 0.4 * 255)
    assert np.all(kept_values | ((added >= 255 - 0.4 * 255) & (added <= 255 - 0.2))) and kept_values.mean() > 0.3
    sharp = layers.RandomSharpness((0.5, 0.5), seed=0)(x).numpy()
    np.testing.assert_allclose(sharp, x, atol=1e-4)  # factor 0.5 is the identity


def test_hue_and_saturation_ranges():
    red = np.zeros((300, 1, 1, 3), "float32")
    red[..., 0] = 1.0
    hues = image_ops.rgb_to_hsv(layers.RandomHue(0.2, value_range=(0, 1), seed=0)(red)).numpy()[..., 0].ravel()
    shift = np.minimum(hues, 1 - hues)
    assert shift.max() <= 0.1 + 1e-6 and shift.max() > 0.09 and (hues > 0.5).any() and (hues < 0.5).any()
    colour = np.array([[[[200.0, 100.0, 50.0]]]] * 300, "float32")
    sat = image_ops.rgb_to_hsv(layers.RandomSaturation((0.5, 0.5))(colour)).numpy()[..., 1]
    np.testing.assert_allclose(sat, 0.75, rtol=1e-5)  # u / (1 - u) = 1 keeps the saturation
    degenerated = layers.RandomColorDegeneration((1.0, 1.0))(colour).numpy()
    assert _gray_per_image(degenerated).all()


def test_training_false_is_identity_for_random_layers():
    # 16 images: layers that augment each image with probability 1/2 (RandomInvert's default) leave
    # the whole batch unchanged with probability 2**-16, not 1/4.
    x = (np.random.default_rng(0).random((16, 4, 4, 3)) * 255).astype("float32")
    for layer in (
        layers.RandomGrayscale(1.0), layers.RandomHue(0.5), layers.RandomSaturation(0.5),
        layers.RandomColorDegeneration(0.5), layers.RandomSharpness(0.5), layers.RandomInvert(),
        layers.RandomPosterization(3), layers.Solarization(0.5, 0.5), layers.Equalization(),
        layers.RandomColorJitter(brightness_factor=0.2, hue_factor=0.2),
    ):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
        assert not np.array_equal(layer(x).numpy(), x), type(layer).__name__  # called directly: augments
    assert not np.array_equal(layers.AutoContrast()(x, training=False).numpy(), x)  # deterministic, always on


def test_equalization_flattens_histogram_and_keeps_constant_channels():
    x = np.random.default_rng(0).normal(128, 10, (1, 32, 32, 1)).clip(0, 255).astype("float32")
    out = layers.Equalization()(x).numpy()
    assert out.min() == 0 and out.max() == 255 and out.std() > 2 * x.std()
    constant = np.full((2, 3, 3, 1), 7.0, "float32")
    np.testing.assert_array_equal(layers.Equalization()(constant).numpy(), constant)


@pytest.mark.parametrize("name", ["RandomHue", "Solarization", "Equalization", "RandomColorJitter"])
def test_models_and_symbolic(name):
    make = {
        "RandomHue": lambda: layers.RandomHue(0.3, seed=1),
        "Solarization": lambda: layers.Solarization(0.2, 0.5, seed=1),
        "Equalization": lambda: layers.Equalization(bins=64),
        "RandomColorJitter": lambda: layers.RandomColorJitter(contrast_factor=0.2, saturation_factor=0.4, seed=1),
    }[name]
    inputs = lamina.Input((None, 5, 3))
    outputs = make()(inputs)
    assert tuple(outputs.shape) == (None, None, 5, 3)
    model = lamina.Model(inputs, outputs)
    x = (np.random.default_rng(0).random((2, 4, 5, 3)) * 255).astype("float32")
    np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), x)  # inference: pass-through
    assert tuple(lamina.Sequential([make()])(x).shape) == (2, 4, 5, 3)


CONFIG_CASES = [
    ("RandomGrayscale", dict(factor=0.3, seed=2)),
    ("RandomHue", dict(factor=(0.1, 0.4), value_range=[0, 1], seed=2)),
    ("RandomSaturation", dict(factor=0.3, value_range=(255, 0), seed=2)),
    ("RandomColorDegeneration", dict(factor=(0.2, 0.6), seed=2)),
    ("RandomSharpness", dict(factor=0.7, value_range=(0, 1), seed=2)),
    ("RandomInvert", dict(factor=0.4, value_range=(0, 1), seed=2)),
    ("RandomPosterization", dict(factor=4, seed=2)),
    ("Solarization", dict(addition_factor=0.3, threshold_factor=(0.6, 0.2), value_range=(0, 1), seed=2)),
    ("AutoContrast", dict(value_range=(255, 0))),
    ("Equalization", dict(bins=32, value_range=(0, 1), data_format="channels_first")),
    ("RandomColorJitter", dict(value_range=(0, 1), brightness_factor=0.1, contrast_factor=(0.1, 0.3),
                               saturation_factor=0.5, hue_factor=0.2, seed=2)),
]


def _plain(value):
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


@pytest.mark.oracle
@pytest.mark.parametrize("name, kwargs", CONFIG_CASES, ids=[n for n, _ in CONFIG_CASES])
def test_config_matches_oracle(oracle, name, kwargs):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(oracle.layers, name)(**kwargs)
    config, their_config = ours.get_config(), theirs.get_config()
    for key, value in their_config.items():
        if key not in ("name", "dtype"):
            assert _plain(config[key]) == _plain(value), key
    # Lamina adds the seed Keras leaves out of RandomGrayscale's config.
    assert set(config) - {"seed"} == set(their_config) - {"seed"}
    assert getattr(layers, name).from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(theirs))
    skip = {"name"} if "seed" in their_config else {"name", "seed"}
    assert {k: _plain(v) for k, v in restored.get_config().items() if k not in skip} == {
        k: _plain(v) for k, v in config.items() if k not in skip
    }


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomGrayscale(1.5), "factor"),
        (lambda: layers.RandomGrayscale("x"), "factor"),
        (lambda: layers.RandomHue(-0.2), "factor"),
        (lambda: layers.RandomHue((0.1, 0.2, 0.3)), "factor"),
        (lambda: layers.RandomSaturation(1.5), "factor"),
        (lambda: layers.RandomSaturation(0.5, value_range=3), "value_range"),
        (lambda: layers.RandomColorDegeneration(2.0), "factor"),
        (lambda: layers.RandomSharpness(1.2), "factor"),
        (lambda: layers.RandomInvert(1.2), "factor"),
        (lambda: layers.RandomPosterization(9), "factor"),
        (lambda: layers.RandomPosterization(0), "factor"),
        (lambda: layers.Solarization(1.5), "addition_factor"),
        (lambda: layers.Solarization(threshold_factor=(0.1, 0.2, 0.3)), "threshold_factor"),
        (lambda: layers.Solarization(value_range=(0, 1, 2)), "value_range"),
        (lambda: layers.AutoContrast(value_range=5), "value_range"),
        (lambda: layers.Equalization(bins=0), "bins"),
        (lambda: layers.RandomColorJitter(hue_factor=3.0), "factor"),
        (lambda: layers.RandomHue(0.1, seed=1.5), "seed"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_call_errors_name_the_layer():
    with pytest.raises(ValueError, match="random_color_degeneration"):
        layers.RandomColorDegeneration(0.2)(np.zeros((1, 4, 4, 2), "float32"))
    with pytest.raises(ValueError, match="rank"):
        layers.RandomHue(0.2)(np.zeros((4, 4), "float32"))
