"""RandomErasing, MixUp and CutMix: the layers' draws fed to Keras's transforms, draw
statistics, labels, training vs inference, configs and errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _twins(cls, *args, **kwargs):
    """Two layers with the same seed: one draws, the other transforms (same stream)."""
    return cls(*args, seed=5, **kwargs), cls(*args, seed=5, **kwargs)


def _images(rng, data_format="channels_last", shape=(6, 9, 11, 3)):
    x = (rng.random(shape) * 255).astype("float32")
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if data_format == "channels_first" else x


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_box_masks_match_oracle(oracle, rng, data_format):
    from lamina.layers.preprocessing._mixing import box_masks

    x0, y0 = rng.uniform(-1, 6, 5).astype("float32"), rng.uniform(-1, 5, 5).astype("float32")
    x1, y1 = x0 + rng.uniform(0, 6, 5).astype("float32"), y0 + rng.uniform(0, 5, 5).astype("float32")
    theirs = oracle.layers.RandomErasing(data_format=data_format)
    shape = (5, 9, 11, 2) if data_format == "channels_last" else (5, 2, 9, 11)
    expected = np.asarray(theirs._generate_batch_mask(shape, (x0, x1, y0, y1)))
    ours = box_masks(*(torch.from_numpy(v) for v in (x0, x1, y0, y1)), 9, 11, data_format)
    np.testing.assert_array_equal(ours.expand(shape).numpy(), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("fill_value", [None, 30.0, [10.0, 300.0, -5.0]])
def test_erasing_matches_oracle_for_the_same_draws(oracle, rng, data_format, fill_value):
    x = _images(rng, data_format)
    kwargs = dict(scale=(0.1, 0.5), fill_value=fill_value, value_range=(0, 255), data_format=data_format)
    drawer, layer = _twins(layers.RandomErasing, 0.7, **kwargs)
    apply, masks, fill = drawer._draw(torch.from_numpy(x))
    assert apply.any() and not apply.all()
    shape_masks = masks.expand(x.shape).numpy()
    theirs = oracle.layers.RandomErasing(0.7, **kwargs)
    transformation = {
        "apply_erasing": apply.numpy(),
        "batch_masks": shape_masks,
        "fill_value": np.broadcast_to(fill.numpy(), x.shape),
    }
    expected = np.asarray(theirs.transform_images(x, transformation, training=True))
    out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    erased = shape_masks & apply.numpy()[:, None, None, None]
    assert (out[erased] >= 0).all() and (out[erased] <= 255).all()
    np.testing.assert_array_equal(out[~erased], x[~erased])


def test_erasing_box_sizes_follow_scale():
    layer = layers.RandomErasing((1.0, 1.0), scale=(0.04, 0.25), fill_value=0.0, seed=1)
    x = torch.ones(2000, 20, 40, 1)
    apply, masks, _ = layer._draw(x)
    assert apply.all()
    rows = masks.any(dim=2).sum(dim=1).squeeze(-1).float()
    cols = masks.any(dim=1).sum(dim=1).squeeze(-1).float()
    # Sides are sqrt(s) of the image's with s in [0.04, 0.25]: 4..10 rows, 8..20 columns (+1 cell
    # when a box straddles pixel centres).
    assert rows.min() >= 3 and rows.max() <= 11 and cols.min() >= 7 and cols.max() <= 21
    assert (rows.float().mean() - 7.2).abs() < 0.6


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_mix_up_matches_oracle_for_the_same_draws(oracle, rng, data_format):
    x = _images(rng, data_format)
    labels = np.eye(6, 4, dtype="float32")[rng.integers(0, 4, 6)]
    drawer, layer = _twins(layers.MixUp, 0.4, data_format=data_format)
    permutation, weight = drawer._draw(torch.from_numpy(x))
    theirs = oracle.layers.MixUp(0.4, data_format=data_format)
    transformation = {"mix_weight": weight.numpy(), "permutation_order": permutation.numpy()}
    out = layer({"images": x, "labels": labels}, training=True)
    np.testing.assert_allclose(
        out["images"].numpy(), np.asarray(theirs.transform_images(x, transformation)), rtol=1e-5, atol=1e-4
    )
    np.testing.assert_allclose(
        out["labels"].numpy(), np.asarray(theirs.transform_labels(labels, transformation)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(out["labels"].numpy().sum(-1), 1.0, rtol=1e-5)


def test_mix_up_weights_are_beta_distributed():
    layer = layers.MixUp(alpha=0.5, seed=2)
    permutation, weight = layer._draw(torch.zeros(20000, 1, 1, 1))
    assert sorted(permutation.tolist()) == list(range(20000))
    w = weight.double()
    assert w.min() >= 0 and w.max() <= 1
    assert abs(w.mean() - 0.5) < 0.01 and abs(w.var() - 0.125) < 0.005  # Beta(a, a): var 1 / (8a + 4)


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cut_mix_matches_oracle_for_the_same_draws(oracle, rng, data_format):
    x = _images(rng, data_format)
    labels = np.eye(6, 4, dtype="float32")[rng.integers(0, 4, 6)]
    drawer, layer = _twins(layers.CutMix, (0.3, 0.8), data_format=data_format)
    permutation, masks, weight = drawer._draw(torch.from_numpy(x))
    theirs = oracle.layers.CutMix((0.3, 0.8), data_format=data_format)
    transformation = {
        "permutation_order": permutation.numpy(),
        "batch_masks": masks.expand(x.shape).numpy(),
        "mix_weight": weight.numpy(),
    }
    out = layer({"images": x, "labels": labels}, training=True)
    np.testing.assert_array_equal(out["images"].numpy(), np.asarray(theirs.transform_images(x, transformation)))
    np.testing.assert_allclose(
        out["labels"].numpy(), np.asarray(theirs.transform_labels(labels, transformation)), rtol=1e-5, atol=1e-6
    )


def test_cut_mix_label_weights_match_pasted_area():
    layer = layers.CutMix(seed=3)
    permutation, masks, weight = layer._draw(torch.zeros(500, 40, 50, 1))
    pasted = masks.float().mean(dim=(1, 2, 3))
    # Continuous box area vs the count of covered pixel centres: equal up to the box's rim.
    assert ((1 - weight) - pasted).abs().max() < 0.1
    assert weight.min() >= 0 and weight.max() <= 1


def test_unbatched_and_plain_images():
    x = np.random.default_rng(0).random((8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(layers.CutMix(seed=1)(x, training=True).numpy(), x)  # needs a batch
    np.testing.assert_allclose(layers.MixUp(seed=1)(x, training=True).numpy(), x, rtol=1e-6)  # mixes with itself
    batch = np.random.default_rng(1).random((4, 8, 8, 3)).astype("float32")
    out = layers.MixUp(seed=1)(batch)
    assert isinstance(out, torch.Tensor) and not np.allclose(out.numpy(), batch)
    integer_labels = layers.MixUp(seed=1)({"images": batch, "labels": np.eye(4, dtype="int64")})["labels"]
    assert integer_labels.dtype == torch.float32
    with pytest.raises(ValueError, match="images"):
        layers.CutMix()({"labels": np.eye(4)})


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RandomErasing((1.0, 1.0), seed=4),
        lambda: layers.MixUp(seed=4),
        lambda: layers.CutMix(seed=4),
    ],
)
def test_inference_identity_seed_and_symbolic_shapes(make):
    x = (np.random.default_rng(1).random((3, 8, 8, 2)) * 255).astype("float32")
    layer = make()
    assert torch.equal(layer(x, training=False), torch.from_numpy(x))
    assert layer(x.astype("uint8"), training=False).dtype == torch.float32
    a = make()(x, training=True)
    assert torch.equal(a, make()(x, training=True))
    assert not np.allclose(a.numpy(), x)
    assert layer(lamina.Input((None, None, 2))).shape == (None, None, None, 2)
    with pytest.raises(ValueError, match="rank"):
        layer(np.zeros((8, 8), "float32"))
    model = lamina.Sequential([lamina.Input((8, 8, 2)), make()])
    np.testing.assert_allclose(model.predict(x, verbose=0), x)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("RandomErasing", (0.5,), dict(scale=(0.1, 0.3), fill_value=2.0, value_range=(0, 1), seed=3)),
        ("RandomErasing", (), dict(fill_value=[1.0, 2.0, 3.0], data_format="channels_first")),
        ("RandomErasing", (), dict()),
        ("MixUp", (0.4,), dict(seed=2)),
        ("MixUp", (), dict(data_format="channels_first")),
        ("CutMix", ((0.2, 0.6),), dict(seed=1)),
        ("CutMix", (), dict()),
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
    restored = layers.deserialize(oracle.layers.serialize(theirs))
    assert type(restored) is getattr(layers, name)
    assert norm(restored.get_config()) == norm(ours.get_config())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomErasing(1.5), "factor"),
        (lambda: layers.RandomErasing(scale=(0.1, 0.2, 0.3)), "scale"),
        (lambda: layers.RandomErasing(scale=-0.5), "scale"),
        (lambda: layers.RandomErasing(fill_value=[1.0, 2.0]), "fill_value"),
        (lambda: layers.RandomErasing(fill_value="black"), "fill_value"),
        (lambda: layers.RandomErasing(value_range=5), "value_range"),
        (lambda: layers.MixUp(alpha=0.0), "alpha"),
        (lambda: layers.MixUp(alpha="a"), "alpha"),
        (lambda: layers.CutMix(factor=2.0), "factor"),
        (lambda: layers.CutMix(factor=(0.1, 0.2, 0.3)), "factor"),
        (lambda: layers.CutMix(seed=1.5), "seed"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
