"""RandomTranslation / RandomRotation / RandomZoom: one batched affine warp per call."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

_FIXED = {
    # Factor pairs (a, a) make the draw deterministic, so whole layers compare with the oracle.
    "RandomRotation": lambda **kw: ((0.1, 0.1),),
    "RandomZoom": lambda **kw: ((0.3, 0.3), (-0.2, -0.2)),
    "RandomTranslation": lambda **kw: ((0.2, 0.2), (-0.3, -0.3)),
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(_FIXED))
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_fixed_factor_layers_match_oracle(oracle, rng, name, fill_mode, interpolation):
    x = (rng.random((3, 9, 11, 2)) * 255).astype("float32")
    args = _FIXED[name]()
    kwargs = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=7.0)
    expected = np.asarray(getattr(oracle.layers, name)(*args, **kwargs)(x, training=True))
    out = getattr(layers, name)(*args, **kwargs)(x, training=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(_FIXED))
def test_channels_first_and_unbatched_match_oracle(oracle, rng, name):
    x = rng.random((2, 3, 8, 6)).astype("float32")
    args = _FIXED[name]()
    expected = np.asarray(getattr(oracle.layers, name)(*args, data_format="channels_first")(x, training=True))
    out = getattr(layers, name)(*args, data_format="channels_first")(x, training=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    image = np.ascontiguousarray(np.moveaxis(x[0], 0, -1))
    expected = np.asarray(getattr(oracle.layers, name)(*args)(image, training=True))
    np.testing.assert_allclose(getattr(layers, name)(*args)(image).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_factor_zero_and_inference_are_identity():
    x = np.random.default_rng(0).random((2, 6, 7, 3)).astype("float32")
    for layer in (layers.RandomRotation(0.0), layers.RandomZoom(0.0), layers.RandomTranslation(0.0, 0.0)):
        np.testing.assert_allclose(layer(x, training=True).numpy(), x, atol=1e-5)
    for layer in (layers.RandomRotation(0.4), layers.RandomZoom(0.5), layers.RandomTranslation(0.5, 0.5)):
        assert torch.equal(layer(x, training=False), torch.from_numpy(x))
        assert not np.allclose(layer(x).numpy(), x)  # direct calls augment, as in Keras 3
        out = layer(x.astype("uint8"), training=False)
        assert out.dtype == torch.float32


def test_random_draw_ranges():
    generator = torch.Generator().manual_seed(0)
    rotation = layers.RandomRotation((-0.1, 0.25))
    m = rotation._matrices(4000, 9, 11, generator, "cpu").numpy()
    angles = np.degrees(np.arctan2(m[:, 3], m[:, 0]))
    assert -36.01 < angles.min() < -34 and 88 < angles.max() < 90.01
    assert abs(angles.mean() - 27) < 2
    zoom = layers.RandomZoom((-0.3, 0.2), (0.1, 0.4))
    m = zoom._matrices(4000, 9, 11, generator, "cpu").numpy()
    assert 0.7 <= m[:, 4].min() < 0.72 and 1.18 < m[:, 4].max() <= 1.2
    assert 1.1 <= m[:, 0].min() < 1.12 and 1.38 < m[:, 0].max() <= 1.4
    tied = layers.RandomZoom(0.3)._matrices(100, 9, 11, generator, "cpu").numpy()
    np.testing.assert_array_equal(tied[:, 0], tied[:, 4])  # no width_factor: aspect ratio kept
    translation = layers.RandomTranslation(0.2, (-0.5, 0.0))
    m = translation._matrices(4000, 10, 20, generator, "cpu").numpy()
    dy, dx = -m[:, 5], -m[:, 2]
    assert -2.0 <= dy.min() < -1.9 and 1.9 < dy.max() <= 2.0
    assert -10.0 <= dx.min() < -9.8 and -0.2 < dx.max() <= 0.0


def test_rotation_by_a_quarter_turn_moves_pixels_exactly():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    out = layers.RandomRotation((0.25, 0.25), interpolation="nearest")(x, training=True)
    # 90 degrees: output (row, col) takes input (col, 3 - row)... i.e. np.rot90 counter-clockwise.
    np.testing.assert_array_equal(out.numpy()[0, :, :, 0], np.rot90(x[0, :, :, 0], k=1))


def test_same_seed_same_augmentation_and_symbolic_shapes():
    x = np.random.default_rng(1).random((3, 8, 8, 2)).astype("float32")
    a = layers.RandomRotation(0.3, seed=11)(x, training=True)
    b = layers.RandomRotation(0.3, seed=11)(x, training=True)
    assert torch.equal(a, b)
    for layer in (layers.RandomRotation(0.1), layers.RandomZoom(0.1), layers.RandomTranslation(0.1, 0.1)):
        assert layer(lamina.Input((None, None, 3))).shape == (None, None, None, 3)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("RandomRotation", (0.2,), dict(fill_mode="constant", fill_value=1.0, seed=3)),
        ("RandomRotation", ([0.3, -0.1],), dict(interpolation="nearest")),
        ("RandomZoom", (0.2,), dict(fill_mode="wrap", seed=1)),
        ("RandomZoom", ((-0.2, 0.1), 0.3), dict(data_format="channels_first")),
        ("RandomTranslation", (0.2, (0.1, 0.3)), dict(fill_mode="nearest", seed=4)),
    ],
)
def test_config_matches_oracle_and_round_trips(oracle, name, args, kwargs):
    ours = getattr(layers, name)(*args, **kwargs)
    theirs = getattr(oracle.layers, name)(*args, **kwargs)
    config, their_config = ours.get_config(), theirs.get_config()
    drop = ("dtype", "name")
    assert {k: v for k, v in config.items() if k not in drop} == {k: v for k, v in their_config.items() if k not in drop}
    assert getattr(layers, name).from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(theirs))
    assert type(restored) is getattr(layers, name)
    assert {k: v for k, v in restored.get_config().items() if k not in drop} == {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in config.items() if k not in drop
    }


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomRotation(1.5), "factor"),
        (lambda: layers.RandomRotation((0.1, 0.2, 0.3)), "factor"),
        (lambda: layers.RandomRotation("big"), "factor"),
        (lambda: layers.RandomZoom(-1.0), "height_factor"),
        (lambda: layers.RandomZoom(0.1, (0.2, 1.5)), "width_factor"),
        (lambda: layers.RandomTranslation(0.1, 2.0), "width_factor"),
        (lambda: layers.RandomTranslation([0.1], 0.1), "height_factor"),
        (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "fill_mode"),
        (lambda: layers.RandomZoom(0.1, interpolation="bicubic"), "interpolation"),
        (lambda: layers.RandomTranslation(0.1, 0.1, fill_value="x"), "fill_value"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unsupported_options_are_also_not_implemented_errors():
    # Keras 3 raises NotImplementedError for these; code catching either keeps working.
    with pytest.raises(NotImplementedError):
        layers.RandomRotation(0.1, fill_mode="mirror")


def test_rotation_matrix_helper_is_keras_formula():
    from lamina.layers.preprocessing.base_image_preprocessing_layer import affine_matrices

    m = affine_matrices(5, 7, angle=torch.tensor([30.0])).numpy()[0]
    t = math.radians(30)
    cx, cy = 3.0, 2.0
    expected = [math.cos(t), -math.sin(t), cx - cx * math.cos(t) + cy * math.sin(t)]
    expected += [math.sin(t), math.cos(t), cy - cx * math.sin(t) - cy * math.cos(t), 0, 0]
    np.testing.assert_allclose(m, expected, rtol=1e-6, atol=1e-6)
