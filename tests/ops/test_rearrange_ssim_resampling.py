"""`ops.rearrange`, `ops.image.ssim`, `ops.image.scale_and_translate` and
`ops.image.extract_patches_3d` against Keras 3 (JAX): eager values, and functional graphs that
save and load in both directions."""

import json
import numpy as np
import pytest

import lamina
from lamina import ops

REARRANGE_CASES = [
    ("b h w c -> b c h w", {}),
    ("b h w c -> (b h) w c", {}),
    ("b h w c -> h (b w) c", {}),
    ("b h w c -> b (c h w)", {}),
    ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
    ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 4}),
    ("b (h h1) w c -> b h w c h1", {"h": 3}),
]


@pytest.fixture
def x(rng):
    return rng.random((4, 6, 8, 3)).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("pattern, lengths", REARRANGE_CASES, ids=[c[0] for c in REARRANGE_CASES])
def test_rearrange_matches_keras(oracle, x, pattern, lengths):
    expected = np.asarray(oracle.ops.rearrange(x, pattern, **lengths))
    got = ops.rearrange(x, pattern, **lengths).numpy()
    np.testing.assert_array_equal(got, expected)


def test_rearrange_symbolic_shapes_keep_unknown_dimensions():
    inputs = lamina.Input((6, 8, 3))
    assert tuple(ops.rearrange(inputs, "b h w c -> b c h w").shape) == (None, 3, 6, 8)
    assert tuple(ops.rearrange(inputs, "b (h h1) w c -> b h (w c h1)", h1=2).shape) == (None, 3, 48)


@pytest.mark.parametrize(
    "pattern, lengths, match",
    [
        ("b h w c", {}, "form"),
        ("b h w c -> b h w", {}, "add or drop"),
        ("b h w c -> b h w c d", {}, "add or drop"),
        ("b h h c -> b h c", {}, "more than once"),
        ("b h w -> b h w", {}, "rank 4"),
        ("b (h h1 h2) w c -> b h h1 h2 w c", {}, "all but one"),
        ("b (h h1) w c -> b h h1 w c", {"h1": 4}, "Cannot split"),
        ("b ... c -> b c ...", {}, "ellipsis"),
    ],
)
def test_rearrange_errors_name_the_problem(x, pattern, lengths, match):
    with pytest.raises(ValueError, match=match):
        ops.rearrange(x, pattern, **lengths)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"max_val": 255.0, "filter_size": 7, "filter_sigma": 1.0}, {"k1": 0.05, "k2": 0.1}],
)
def test_ssim_matches_keras(oracle, rng, kwargs):
    scale = kwargs.get("max_val", 1.0)
    a = (rng.random((2, 16, 17, 3)) * scale).astype("float32")
    b = np.clip(a + 0.1 * scale * rng.standard_normal(a.shape), 0, scale).astype("float32")
    np.testing.assert_allclose(ops.image.ssim(a, b, **kwargs).numpy(), oracle.ops.image.ssim(a, b, **kwargs), atol=2e-6)
    np.testing.assert_allclose(ops.image.ssim(a[0], b[0], **kwargs).numpy(), oracle.ops.image.ssim(a[0], b[0], **kwargs), atol=2e-6)
    first = dict(kwargs, data_format="channels_first")
    af, bf = np.moveaxis(a, -1, 1), np.moveaxis(b, -1, 1)
    np.testing.assert_allclose(ops.image.ssim(af, bf, **first).numpy(), oracle.ops.image.ssim(af, bf, **first), atol=2e-6)


def test_ssim_of_an_image_with_itself_is_one_and_errors(rng):
    a = rng.random((12, 12, 3)).astype("float32")
    np.testing.assert_allclose(float(ops.image.ssim(a, a)), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        ops.image.ssim(a, a[:11])
    with pytest.raises(ValueError, match="rank"):
        ops.image.ssim(a[0], a[0])
    with pytest.raises(ValueError, match="filter_size"):
        ops.image.ssim(a[:8, :8], a[:8, :8])


@pytest.mark.oracle
@pytest.mark.parametrize("method", ["linear", "bilinear", "cubic", "bicubic", "lanczos3", "lanczos5"])
@pytest.mark.parametrize("antialias", [True, False])
def test_scale_and_translate_matches_keras(oracle, rng, method, antialias):
    images = rng.random((2, 6, 7, 3)).astype("float32")
    for shape, scale, translation in [((2, 12, 5, 3), [2.0, 0.7], [0.5, -1.0]), ((2, 3, 9, 3), [0.5, 1.3], [0.0, 0.25])]:
        expected = oracle.ops.image.scale_and_translate(images, shape, scale, translation, (1, 2), method, antialias)
        got = ops.image.scale_and_translate(images, shape, scale, translation, (1, 2), method, antialias)
        np.testing.assert_allclose(got.numpy(), np.asarray(expected), atol=1e-6)


def test_scale_and_translate_errors(rng):
    images = rng.random((1, 4, 4, 1)).astype("float32")
    with pytest.raises(ValueError, match="method"):
        ops.image.scale_and_translate(images, (1, 8, 8, 1), [2.0, 2.0], [0.0, 0.0], (1, 2), "nearest")
    with pytest.raises(ValueError, match="output_shape"):
        ops.image.scale_and_translate(images, (8, 8), [2.0, 2.0], [0.0, 0.0], (1, 2), "linear")
    with pytest.raises(ValueError, match="one entry per axis in `spatial_dims`"):
        ops.image.scale_and_translate(images, (1, 8, 8, 1), [2.0], [0.0, 0.0], (1, 2), "linear")


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 3},
        {"size": (2, 3, 2), "strides": (1, 2, 3)},
        {"size": 2, "padding": "same", "strides": 3},
        {"size": 2, "dilation_rate": 2, "strides": 1},
    ],
)
def test_extract_patches_3d_matches_keras(oracle, rng, kwargs):
    volumes = rng.random((2, 7, 8, 9, 2)).astype("float32")
    np.testing.assert_array_equal(
        ops.image.extract_patches_3d(volumes, **kwargs).numpy(), oracle.ops.image.extract_patches_3d(volumes, **kwargs)
    )
    np.testing.assert_array_equal(
        ops.image.extract_patches_3d(volumes[0], **kwargs).numpy(),
        oracle.ops.image.extract_patches_3d(volumes[0], **kwargs),
    )
    first = np.moveaxis(volumes, -1, 1)
    np.testing.assert_array_equal(
        ops.image.extract_patches_3d(first, data_format="channels_first", **kwargs).numpy(),
        oracle.ops.image.extract_patches_3d(first, data_format="channels_first", **kwargs),
    )


def test_extract_patches_3d_errors(rng):
    volumes = rng.random((2, 4, 4, 4, 1)).astype("float32")
    with pytest.raises(TypeError, match="size"):
        ops.image.extract_patches_3d(volumes, (2, 2))
    with pytest.raises(ValueError, match="strides"):
        ops.image.extract_patches_3d(volumes, 2, strides=(1, 1))


def _image_graph(module):
    a = module.Input((16, 16, 3), batch_size=2)
    b = module.Input((16, 16, 3), batch_size=2)
    v = module.Input((4, 6, 6, 2), batch_size=2)
    outputs = [
        module.ops.image.ssim(a, b, filter_size=5),
        module.ops.image.scale_and_translate(a, (2, 8, 8, 3), [0.5, 0.5], [0.0, 1.0], (1, 2), "bicubic"),
        module.ops.image.extract_patches_3d(v, 2),
        module.ops.rearrange(a, "b (h h1) w c -> b h (w c h1)", h1=2),
    ]
    return module.Model([a, b, v], outputs)


@pytest.mark.oracle
def test_graphs_with_the_new_ops_move_between_keras_and_lamina(oracle, rng, tmp_path):
    inputs = [
        rng.random((2, 16, 16, 3)).astype("float32"),
        rng.random((2, 16, 16, 3)).astype("float32"),
        rng.random((2, 4, 6, 6, 2)).astype("float32"),
    ]
    ours = _image_graph(lamina)
    expected = [o.numpy() for o in ours(inputs)]
    ours.save(tmp_path / "lamina.keras")
    theirs = oracle.models.load_model(tmp_path / "lamina.keras")
    for got, want in zip(theirs(inputs), expected):
        np.testing.assert_allclose(np.asarray(got), want, atol=2e-6)

    _image_graph(oracle).save(tmp_path / "keras.keras")
    loaded = lamina.models.load_model(tmp_path / "keras.keras")
    for got, want in zip(loaded(inputs), expected):
        np.testing.assert_allclose(got.numpy(), want, atol=2e-6)
    # Compared as the file stores them: JSON turns the in-memory tuples into lists.
    as_json = lambda c: json.loads(json.dumps(c))  # noqa: E731
    assert as_json(lamina.models.load_model(tmp_path / "lamina.keras").get_config()) == as_json(ours.get_config())
