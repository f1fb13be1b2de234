"""RandAugment, AugMix, RandomElasticTransform and MaxNumBoundingBoxes."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _images(rng, shape=(3, 12, 10, 3)):
    return (rng.random(shape) * 255).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("ops", [["equalization", "auto_contrast"], ["equalization", "equalization", "auto_contrast"]])
def test_rand_augment_matches_oracle_for_forced_ops(oracle, rng, ops):
    # The deterministic ops of the pool; whole pixel values keep equalization's bins unambiguous.
    x = np.round(_images(rng))
    ours = layers.RandAugment(num_ops=len(ops), seed=1)
    ours._choose = lambda: ops
    theirs = oracle.layers.RandAugment(num_ops=len(ops), seed=1)
    transformation = theirs.get_random_transformation(x, training=True)
    names = list(transformation["transforms"])
    transformation["layer_idxes"] = np.array([names.index(op) for op in ops])
    expected = np.asarray(theirs.transform_images(x, transformation, training=True))
    np.testing.assert_allclose(ours(x, training=True).numpy(), expected, rtol=1e-5, atol=1e-3)


def test_rand_augment_applies_its_chosen_ops_in_order(rng):
    x = _images(rng)
    drawer, layer = layers.RandAugment(num_ops=3, factor=0.6, seed=7), layers.RandAugment(num_ops=3, factor=0.6, seed=7)
    names = drawer._choose()
    expected = torch.from_numpy(x)
    for name in names:
        expected = drawer._augmenters[name]._transform(expected, True)
    torch.testing.assert_close(layer(x, training=True), expected)
    picks = [name for _ in range(300) for name in drawer._choose()]
    assert set(picks) == set(layers.RandAugment.AUGMENT_LAYERS)
    assert layers.RandAugment(num_ops=0)(x, training=True).numpy().tolist() == x.tolist()


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_aug_mix_matches_oracle_for_forced_chains(oracle, rng, data_format):
    x = _images(rng)
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    chains = [["auto_contrast"], ["equalization", "auto_contrast"], []]
    chain_weights, weight = np.array([0.5, 0.3, 0.2], "float32"), np.float32(0.35)
    ours = layers.AugMix(data_format=data_format, seed=1)
    ours._draw = lambda images: (chains, torch.from_numpy(chain_weights), torch.tensor(weight))
    theirs = oracle.layers.AugMix(data_format=data_format, seed=1)
    transformation = {
        "chain_mixing_weights": chain_weights,
        "weight_sample": weight,
        "chain_transforms": [[{"layer_name": n, "transformation": None} for n in chain] for chain in chains],
    }
    expected = np.asarray(theirs.transform_images(x, transformation, training=True))
    np.testing.assert_allclose(ours(x, training=True).numpy(), expected, rtol=1e-5, atol=1e-3)


def test_aug_mix_draws(rng):
    layer = layers.AugMix(num_chains=4, chain_depth=2, alpha=0.5, all_ops=False, seed=3)
    x = torch.from_numpy(_images(rng))
    seen = set()
    for _ in range(200):
        chains, chain_weights, weight = layer._draw(x)
        assert len(chains) == 4 and all(len(c) <= 2 for c in chains)
        seen.update(n for c in chains for n in c)
        assert abs(float(chain_weights.sum()) - 1) < 1e-5 and 0 <= float(weight) <= 1
    assert seen == set(layer._pool) and "random_brightness" not in seen
    out = layers.AugMix(value_range=(0, 255), seed=3)(x, training=True)
    assert out.min() >= 0 and out.max() <= 255 and not torch.allclose(out, x)


def test_elastic_transform_layer(rng):
    x = _images(rng, (4, 32, 30, 3))
    layer = layers.RandomElasticTransform((1.0, 1.0), scale=(0.5, 0.5), seed=2)
    out = layer(x, training=True)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 255
    assert (out - torch.from_numpy(x)).abs().mean(dim=(1, 2, 3)).min() > 1  # every image deformed
    torch.testing.assert_close(out, layers.RandomElasticTransform((1.0, 1.0), scale=(0.5, 0.5), seed=2)(x))
    apply, strength = layers.RandomElasticTransform(0.6, scale=(0.2, 0.4))._draw(torch.zeros(4000, 2, 2, 1))
    assert 0.27 < apply.float().mean() < 0.33 and 0.2 <= strength <= 0.4
    assert torch.equal(layers.RandomElasticTransform(scale=0.0)(x), torch.from_numpy(x))
    cf = layers.RandomElasticTransform((1.0, 1.0), scale=(0.5, 0.5), seed=2, data_format="channels_first")
    out_cf = cf(np.ascontiguousarray(np.moveaxis(x, -1, 1)), training=True)
    np.testing.assert_allclose(np.moveaxis(out_cf.numpy(), 1, -1), out.numpy(), atol=1e-4)


@pytest.mark.oracle
def test_max_num_bounding_boxes_matches_oracle(oracle, rng):
    images = _images(rng, (2, 8, 8, 3))
    for count in (2, 5):
        labels = np.array([[1, 2, 3], [4, 5, 6]], "int32")
        boxes = {"boxes": rng.random((2, 3, 4)).astype("float32"), "labels": labels}
        kwargs = dict(fill_value=-2, bounding_box_format="xyxy")
        expected = oracle.layers.MaxNumBoundingBoxes(count, **kwargs)({"images": images, "bounding_boxes": boxes})
        out = layers.MaxNumBoundingBoxes(count, **kwargs)({"images": images, "bounding_boxes": boxes})
        for key in ("boxes", "labels"):
            expected_values = np.asarray(expected["bounding_boxes"][key])
            np.testing.assert_array_equal(out["bounding_boxes"][key].numpy(), expected_values)
        assert out["bounding_boxes"]["labels"].dtype == torch.int32
        np.testing.assert_array_equal(out["images"].numpy(), images)
    layer = layers.MaxNumBoundingBoxes(3)
    np.testing.assert_array_equal(layer(images).numpy(), images)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layer({"images": images, "bounding_boxes": boxes})
    boxes_shape = {"boxes": (None, 7, 4), "labels": (None, 7)}
    shapes = layer.compute_output_shape({"images": (None, 8, 8, 3), "bounding_boxes": boxes_shape})
    assert shapes["bounding_boxes"] == {"boxes": (None, 3, 4), "labels": (None, 3)}


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RandAugment(seed=4),
        lambda: layers.AugMix(seed=4),
        lambda: layers.RandomElasticTransform((1.0, 1.0), seed=4),
    ],
)
def test_inference_identity_seed_and_symbolic_shapes(make):
    x = (np.random.default_rng(1).random((3, 16, 16, 3)) * 255).astype("float32")
    layer = make()
    assert torch.equal(layer(x, training=False), torch.from_numpy(x))
    assert layer(x.astype("uint8"), training=False).dtype == torch.float32
    a = make()(x, training=True)
    torch.testing.assert_close(a, make()(x, training=True))
    assert a.shape == x.shape and not np.allclose(a.numpy(), x)
    assert layer(x[0]).shape == x[0].shape
    assert layer(lamina.Input((None, None, 3))).shape == (None, None, None, 3)
    model = lamina.Sequential([lamina.Input((16, 16, 3)), make()])
    np.testing.assert_allclose(model.predict(x, verbose=0), x)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("RandAugment", (), dict()),
        ("RandAugment", ((0, 1), 3, (0.2, 0.7)), dict(interpolation="nearest", seed=2)),
        ("AugMix", (), dict()),
        ("AugMix", ((0, 1), 2, 4, 0.5, 0.7, False), dict(interpolation="nearest", seed=3)),
        ("RandomElasticTransform", (), dict()),
        (
            "RandomElasticTransform",
            ((0.2, 0.5), 0.3),
            dict(fill_mode="constant", fill_value=2.0, value_range=(0, 1), seed=1),
        ),
        ("MaxNumBoundingBoxes", (4,), dict(bounding_box_format="xyxy")),
        ("MaxNumBoundingBoxes", (3,), dict()),
    ],
)
def test_config_matches_oracle_and_round_trips(oracle, name, args, kwargs):
    ours = getattr(layers, name)(*args, **kwargs)
    theirs = getattr(oracle.layers, name)(*args, **kwargs)
    drop = ("dtype", "name", "fill_value") if name == "MaxNumBoundingBoxes" else ("dtype", "name")

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
        (lambda: layers.RandAugment(num_ops=-1), "num_ops"),
        (lambda: layers.RandAugment(factor=1.5), "factor"),
        (lambda: layers.RandAugment(interpolation="bicubic"), "interpolation"),
        (lambda: layers.RandAugment(value_range=(1,)), "value_range"),
        (lambda: layers.AugMix(num_chains=0), "num_chains"),
        (lambda: layers.AugMix(chain_depth=1.5), "chain_depth"),
        (lambda: layers.AugMix(alpha=0), "alpha"),
        (lambda: layers.AugMix(factor=(0.1, 0.2, 0.3)), "factor"),
        (lambda: layers.RandomElasticTransform(scale=2.0), "scale"),
        (lambda: layers.RandomElasticTransform(fill_mode="edge"), "fill_mode"),
        (lambda: layers.RandomElasticTransform(interpolation="area"), "interpolation"),
        (lambda: layers.RandomElasticTransform(fill_value=None), "fill_value"),
        (lambda: layers.MaxNumBoundingBoxes(0), "max_number"),
        (lambda: layers.MaxNumBoundingBoxes(2.5), "max_number"),
        (lambda: layers.MaxNumBoundingBoxes(2, fill_value="x"), "fill_value"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
