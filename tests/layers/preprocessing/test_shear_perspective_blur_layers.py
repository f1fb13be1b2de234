"""RandomShear, RandomPerspective and RandomGaussianBlur: the layers' draws fed to Keras's
transforms, draw ranges, training vs inference, configs and errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _twins(cls, *args, **kwargs):
    """Two layers with the same seed: one draws, the other transforms (same stream)."""
    return cls(*args, seed=5, **kwargs), cls(*args, seed=5, **kwargs)


@pytest.mark.oracle
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_shear_matches_oracle_for_the_same_draws(oracle, rng, fill_mode, interpolation, data_format):
    x = (rng.random((4, 9, 11, 3)) * 255).astype("float32")
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    kwargs = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=7.0, data_format=data_format)
    drawer, layer = _twins(layers.RandomShear, (0.1, 0.4), 0.3, **kwargs)
    height, width = (9, 11)
    m = drawer._matrices(4, height, width, drawer.seed_generator.generator("cpu"), "cpu")
    shear = m[:, [1, 3]].numpy()
    theirs = oracle.layers.RandomShear(0.1, 0.3, **kwargs)
    expected = theirs.transform_images(x, {"shear_factor": shear, "input_shape": x.shape}, training=True)
    np.testing.assert_allclose(layer(x, training=True).numpy(), np.asarray(expected), rtol=1e-5, atol=1e-3)


def test_shear_draw_ranges_and_signs():
    layer = layers.RandomShear((0.1, 0.4), 0.3)
    m = layer._matrices(4000, 9, 11, torch.Generator().manual_seed(0), "cpu").numpy()
    sx, sy = m[:, 1], m[:, 3]
    assert 0.1 <= np.abs(sx).min() < 0.11 and 0.39 < np.abs(sx).max() <= 0.4
    assert 0.45 < (sx < 0).mean() < 0.55  # both factors change sign together, half the time
    assert -0.3 <= sy.min() < -0.29 and 0.29 < sy.max() <= 0.3
    np.testing.assert_array_equal(m[:, [0, 4]], 1.0)
    np.testing.assert_array_equal(m[:, [2, 5, 6, 7]], 0.0)


def test_shear_moves_pixels_by_the_factor():
    x = np.arange(20, dtype="float32").reshape(1, 4, 5, 1)
    layer = layers.RandomShear(0.0, 0.0, interpolation="nearest")
    np.testing.assert_array_equal(layer(x, training=True).numpy(), x)
    layer._matrices = lambda batch, h, w, g, d: torch.tensor([[1.0, 1.0, 0, 0, 1.0, 0, 0, 0]])
    out = layer(x, training=True).numpy()[0, :, :, 0]
    # Output (row, col) reads input (row, col + row) with reflected borders.
    assert out[0].tolist() == x[0, 0, :, 0].tolist()
    assert out[1, :4].tolist() == x[0, 1, 1:, 0].tolist()


@pytest.mark.oracle
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_perspective_matches_oracle_for_the_same_draws(oracle, rng, interpolation, data_format):
    x = (rng.random((4, 10, 12, 3)) * 255).astype("float32")
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    kwargs = dict(scale=0.6, interpolation=interpolation, fill_value=3.0, data_format=data_format)
    drawer, layer = _twins(layers.RandomPerspective, 0.7, **kwargs)
    apply, start, end = drawer._draw(torch.from_numpy(x))
    assert apply.any() and not apply.all()
    theirs = oracle.layers.RandomPerspective(0.7, **kwargs)
    transformation = {
        "apply_perspective": apply.numpy(),
        "start_points": start.numpy(),
        "end_points": end.numpy(),
        "input_shape": x.shape,
    }
    expected = np.asarray(theirs.transform_images(x, transformation, training=True))
    np.testing.assert_allclose(layer(x, training=True).numpy(), expected, rtol=1e-5, atol=2e-3)


def test_perspective_draw_ranges_and_unbatched():
    layer = layers.RandomPerspective((0.2, 0.6), scale=0.4)
    x = torch.zeros(3000, 5, 7, 1)
    apply, start, end = layer._draw(x)
    assert 0.35 < apply.float().mean() < 0.45  # mean probability 0.4
    np.testing.assert_array_equal(start[0].numpy(), [[0, 0], [6, 0], [0, 4], [6, 4]])
    ratio = (end - start)[:, 1:] / start[:, 1:].clamp(min=1)
    assert ratio.min() >= -0.2 and ratio.max() <= 0.2 and ratio.abs().max() > 0.19
    np.testing.assert_array_equal(end[:, 0].numpy(), 0.0)  # the top-left corner stays, as in Keras
    image = np.random.default_rng(0).random((6, 7, 2)).astype("float32")
    assert layers.RandomPerspective(seed=1)(image).shape == (6, 7, 2)


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kernel_size", [3, (5, 3)])
def test_gaussian_blur_matches_oracle_for_the_same_draws(oracle, rng, data_format, kernel_size):
    x = (rng.random((6, 9, 11, 3)) * 300 - 20).astype("float32")
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    kwargs = dict(kernel_size=kernel_size, sigma=(0.2, 2.0), data_format=data_format)
    drawer, layer = _twins(layers.RandomGaussianBlur, 0.6, **kwargs)
    apply, sigma = drawer._draw(torch.from_numpy(x))
    theirs = oracle.layers.RandomGaussianBlur(0.6, **kwargs)
    transformation = {"should_apply_blur": apply.numpy(), "blur_factor": sigma.numpy()}
    expected = np.asarray(theirs.transform_images(x, transformation, training=True))
    out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)
    assert out.min() >= 0 and out.max() <= 255


def test_gaussian_blur_draws_and_inference():
    layer = layers.RandomGaussianBlur((0.2, 0.4), sigma=(0.5, 0.9), seed=0)
    apply, sigma = layer._draw(torch.zeros(4000, 3, 3, 1))
    assert 0.27 < apply.float().mean() < 0.33
    assert sigma.shape == (2,) and ((sigma >= 0.5) & (sigma <= 0.9 + 1e-5)).all()
    x = (np.random.default_rng(0).random((2, 6, 6, 3)) * 400 - 50).astype("float32")
    assert torch.equal(layer(x, training=False), torch.from_numpy(x))  # no clipping at inference
    full = layers.RandomGaussianBlur((1.0, 1.0), value_range=(-100, 500), seed=2)(x, training=True)
    assert not np.allclose(full.numpy(), x)


@pytest.mark.parametrize("name", ["RandomShear", "RandomPerspective", "RandomGaussianBlur"])
def test_inference_identity_seed_and_symbolic_shapes(name):
    x = (np.random.default_rng(1).random((3, 8, 8, 2)) * 255).astype("float32")
    args = (0.3,) if name == "RandomShear" else ((1.0, 1.0),)  # always applied
    layer = getattr(layers, name)(*args, seed=11)
    assert torch.equal(layer(x, training=False), torch.from_numpy(x))
    assert layer(x.astype("uint8"), training=False).dtype == torch.float32
    a = getattr(layers, name)(*args, seed=11)(x, training=True)
    assert torch.equal(a, getattr(layers, name)(*args, seed=11)(x, training=True))
    assert not np.allclose(a.numpy(), x)
    assert layer(lamina.Input((None, None, 2))).shape == (None, None, None, 2)
    with pytest.raises(ValueError, match=name.lower().replace("random", "random_")[:6]):
        layer(np.zeros((8, 8), "float32"))
    model = lamina.Sequential([lamina.Input((8, 8, 2)), getattr(layers, name)(*args, seed=1)])
    np.testing.assert_allclose(model.predict(x, verbose=0), x)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("RandomShear", (0.2, (0.1, 0.3)), dict(fill_mode="constant", fill_value=1.0, seed=3)),
        ("RandomShear", (), dict(interpolation="nearest", data_format="channels_first")),
        ("RandomPerspective", ((0.2, 0.5),), dict(scale=0.3, interpolation="nearest", seed=2)),
        ("RandomPerspective", (), dict(fill_value=4.0)),
        ("RandomGaussianBlur", (0.5,), dict(kernel_size=(3, 5), sigma=(0.1, 0.8), value_range=(0, 1), seed=1)),
        ("RandomGaussianBlur", (), dict()),
    ],
)
def test_config_matches_oracle_and_round_trips(oracle, name, args, kwargs):
    ours = getattr(layers, name)(*args, **kwargs)
    theirs = getattr(oracle.layers, name)(*args, **kwargs)
    drop = ("dtype", "name")

    def norm(config):
        return {k: (tuple(v) if isinstance(v, list) else v) for k, v in config.items() if k not in drop}

    assert norm(ours.get_config()) == norm(theirs.get_config())
    assert getattr(layers, name).from_config(ours.get_config()).get_config() == ours.get_config()
    # Keras cannot reload its own RandomShear configs (see ``shear_factor``); Lamina can.
    restored = layers.deserialize(oracle.layers.serialize(theirs))
    assert type(restored) is getattr(layers, name)
    assert norm(restored.get_config()) == norm(ours.get_config())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomShear(1.5), "x_factor"),
        (lambda: layers.RandomShear(-0.1), "x_factor"),
        (lambda: layers.RandomShear(0.1, (-1.2, 0.3)), "y_factor"),
        (lambda: layers.RandomShear((0.1, 0.2, 0.3)), "x_factor"),
        (lambda: layers.RandomShear(0.1, fill_mode="mirror"), "fill_mode"),
        (lambda: layers.RandomShear(0.1, interpolation="bicubic"), "interpolation"),
        (lambda: layers.RandomPerspective(1.5), "factor"),
        (lambda: layers.RandomPerspective(scale=1.2), "scale"),
        (lambda: layers.RandomPerspective(interpolation="area"), "interpolation"),
        (lambda: layers.RandomPerspective(fill_value="x"), "fill_value"),
        (lambda: layers.RandomGaussianBlur(kernel_size=4), "kernel_size"),
        (lambda: layers.RandomGaussianBlur(kernel_size=(3, 5, 7)), "kernel_size"),
        (lambda: layers.RandomGaussianBlur(sigma=1.5), "sigma"),
        (lambda: layers.RandomGaussianBlur(factor=-0.5), "factor"),
        (lambda: layers.RandomGaussianBlur(value_range=(0,)), "value_range"),
        (lambda: layers.RandomShear(0.1, seed="a"), "seed"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
