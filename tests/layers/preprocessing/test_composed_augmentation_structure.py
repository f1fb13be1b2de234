"""RandAugment, AugMix and RandomColorJitter are built from sublayers as in Keras: the same sublayer
attributes, seed generators and variable paths, with every draw taken from the owner's stream."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

COMPOSED = {
    "RandAugment": dict(seed=1),
    "AugMix": dict(seed=1),
    "AugMix_no_colour_ops": dict(seed=1, all_ops=False),
    "RandomColorJitter": dict(brightness_factor=0.2, contrast_factor=0.3, saturation_factor=0.4, hue_factor=0.2, seed=1),
    "RandomColorJitter_two": dict(contrast_factor=0.3, hue_factor=0.2),
}


def _make(lib, name):
    return getattr(lib.layers, name.split("_")[0])(**COMPOSED[name])


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_structure_matches_keras(oracle, name):
    theirs, ours = _make(oracle, name), _make(lamina, name)
    theirs.build((2, 8, 8, 3))
    ours.build((2, 8, 8, 3))
    assert [type(s).__name__ for s in ours._layers] == [type(s).__name__ for s in theirs._layers]
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    generators = [g for sub in ours._flatten_layers() for g in sub._seed_generators]
    assert len(generators) == len(ours.variables)
    for attribute in ("random_brightness", "random_contrast", "random_hue", "equalization"):
        mine, keras_one = getattr(ours, attribute, None), getattr(theirs, attribute, None)
        assert (mine is None) == (keras_one is None)
        if mine is not None:
            assert type(mine).__name__ == type(keras_one).__name__


def test_sublayers_draw_from_the_owner_stream():
    x = torch.full((512, 2, 2, 3), 0.5)
    jitter = layers.RandomColorJitter(
        value_range=(0, 1), brightness_factor=(-0.2, 0.2), saturation_factor=(0.2, 0.2), seed=3
    )
    # Each draw advances the owner's counter; the sublayers' own generators stay where they are.
    jitter.random_brightness._generator(x)
    jitter.random_saturation._generator(x)
    assert int(jitter.seed_generator.state[1]) == 2
    assert int(jitter.random_brightness.seed_generator.state[1]) == 0
    assert int(jitter.random_saturation.seed_generator.state[1]) == 0
    # Brightness offsets are uniform on [-0.2, 0.2] (mean 0, variance 0.04 / 3), and two
    # consecutive draws are independent: built with one seed, separate streams would repeat.
    first = (jitter.random_brightness._transform(x, True) - x)[:, 0, 0, 0]
    second = (jitter.random_brightness._transform(x, True) - x)[:, 0, 0, 0]
    for delta in (first, second):
        assert abs(float(delta.mean())) < 0.03 and abs(float(delta.var()) - 0.04 / 3) < 0.003
    assert abs(float(torch.corrcoef(torch.stack([first, second]))[0, 1])) < 0.15
    # A fresh layer with the same seed repeats the whole sequence.
    again = layers.RandomColorJitter(
        value_range=(0, 1), brightness_factor=(-0.2, 0.2), saturation_factor=(0.2, 0.2), seed=3
    )
    again.seed_generator.state.assign(np.array([3, 2], "uint32"))
    torch.testing.assert_close((again.random_brightness._transform(x, True) - x)[:, 0, 0, 0], first)


def test_rand_augment_sublayers_share_the_stream():
    layer = layers.RandAugment(seed=5)
    stream = layer.seed_generator
    for name in layer.AUGMENT_LAYERS:
        sub = getattr(layer, name)
        if hasattr(sub, "seed_generator"):
            before = int(stream.state[1])
            sub._generator(torch.zeros(1))
            assert sub.seed_generator is not stream and int(stream.state[1]) == before + 1
            assert int(sub.seed_generator.state[1]) == 0
    x = np.random.default_rng(0).random((4, 8, 8, 3)).astype("float32") * 255
    # Seeded layers repeat themselves exactly.
    torch.testing.assert_close(
        layers.RandAugment(seed=5)(x, training=True), layers.RandAugment(seed=5)(x, training=True)
    )
