"""Applications in `.keras` and `.weights.h5` files, both ways with Keras: a file Lamina writes
loads in Lamina and in Keras, a file Keras writes loads in Lamina, with the same predictions.
The application-private layers (ConvNeXt's LayerScale / StochasticDepth, Inception-ResNet's
CustomScaleLayer) are written under Keras's module and registered names."""

import json
import zipfile

import numpy as np
import pytest

import lamina
from lamina.applications import convnext, inception_resnet_v2


def _random_weights(model, seed=0):
    """Random weights (positive BN variances) set on ``model``; returned for the other side."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.1, w.shape).astype("float32") + (1.0 if "variance" in v.path else 0.0)
               for w, v in zip(model.get_weights(), model.weights)]
    model.set_weights(weights)
    return weights


def _layer_entries(path, class_names):
    """The serialized layers of the given classes in a `.keras` file (graph links left out)."""
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    return [{k: v for k, v in layer.items() if k != "inbound_nodes"}
            for layer in config["config"]["layers"] if layer["class_name"] in class_names]


def _comparable(config):
    # Keras numbers a shared dtype policy by id() ("shared_object_id"): meaningless across files.
    dtype = {k: v for k, v in config["dtype"].items() if k != "shared_object_id"}
    return {**config, "dtype": dtype}


def _round_trip_both_ways(oracle, ours, theirs, x, tmp_path, private_classes):
    """``ours`` and ``theirs`` (same architecture) get the same weights, then each side's `.keras`
    file is loaded by both libraries; every model predicts like ``theirs``."""
    ours.set_weights(_random_weights(theirs))
    expected = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)

    ours.save(ours_file := tmp_path / "ours.keras")
    theirs.save(theirs_file := tmp_path / "theirs.keras")
    ours_entries, theirs_entries = (_layer_entries(f, private_classes) for f in (ours_file, theirs_file))
    assert ours_entries and len(ours_entries) == len(theirs_entries)
    for a, b in zip(ours_entries, theirs_entries):
        assert (a["module"], a["class_name"], a["registered_name"]) == (b["module"], b["class_name"],
                                                                        b["registered_name"])
        assert _comparable(a["config"]) == _comparable(b["config"])

    for loaded in (lamina.models.load_model(ours_file), oracle.models.load_model(ours_file),
                   lamina.models.load_model(theirs_file)):
        np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), expected, rtol=1e-4, atol=1e-5)
    return lamina.models.load_model(theirs_file)


@pytest.mark.oracle
def test_convnext_layer_scale_and_stochastic_depth_cross_keras_files(oracle, tmp_path):
    """The family's own builder at a tiny size, with stochastic depth on (the public variants
    build it with rate 0, so only LayerScale would be written)."""
    from keras.src.applications import convnext as keras_convnext

    kwargs = dict(depths=[1, 1, 1, 1], projection_dims=[8, 16, 24, 32], drop_path_rate=0.2,
                  input_shape=(32, 32, 3), classes=3, weights=None, name="convnext_mini")
    ours = convnext.ConvNeXt(**kwargs)
    theirs = keras_convnext.ConvNeXt(**kwargs)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    loaded = _round_trip_both_ways(oracle, ours, theirs, x, tmp_path, {"LayerScale", "StochasticDepth"})
    block = "convnext_mini_stage_1_block_0"
    assert isinstance(loaded.get_layer(f"{block}_layer_scale"), convnext.LayerScale)
    depth = loaded.get_layer(f"{block}_stochastic_depth")
    assert isinstance(depth, convnext.StochasticDepth)
    assert depth.drop_path_rate == pytest.approx(ours.get_layer(f"{block}_stochastic_depth").drop_path_rate)


def _inception_resnet_blocks(k, blocks):
    """Two Inception-ResNet blocks of the application module ``blocks`` on a small feature map."""
    inp = k.Input((5, 5, 16))
    x = blocks.inception_resnet_block(inp, scale=0.17, block_type="block35", block_idx=1)
    x = blocks.inception_resnet_block(x, scale=1.0, block_type="block8", block_idx=2, activation=None)
    return k.Model(inp, k.layers.GlobalAveragePooling2D()(x))


@pytest.mark.oracle
def test_inception_resnet_custom_scale_layer_crosses_keras_files(oracle, tmp_path):
    from keras.src.applications import inception_resnet_v2 as keras_irv2

    ours = _inception_resnet_blocks(lamina, inception_resnet_v2)
    theirs = _inception_resnet_blocks(oracle, keras_irv2)
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 16)).astype("float32")
    loaded = _round_trip_both_ways(oracle, ours, theirs, x, tmp_path, {"CustomScaleLayer"})
    scales = [layer for layer in loaded.layers if isinstance(layer, inception_resnet_v2.CustomScaleLayer)]
    assert [layer.scale for layer in scales] == [0.17, 1.0]


@pytest.mark.oracle
@pytest.mark.heavy
@pytest.mark.parametrize("fn,size,scale,private", [("ConvNeXtTiny", 32, 255.0, "LayerScale"),
                                                   ("InceptionResNetV2", 75, 1.0, "CustomScaleLayer")])
def test_smallest_family_member_keras_file_both_ways(oracle, tmp_path, fn, size, scale, private):
    kwargs = dict(weights=None, input_shape=(size, size, 3), classes=4)
    ours = getattr(lamina.applications, fn)(**kwargs)
    theirs = getattr(oracle.applications, fn)(**kwargs)
    x = (np.random.default_rng(3).uniform(0, 1, (1, size, size, 3)) * scale).astype("float32")
    _round_trip_both_ways(oracle, ours, theirs, x, tmp_path, {private})


@pytest.fixture(scope="module")
def nasnet_pair(keras_oracle):
    """NASNetMobile built once by each library (32x32, 10 classes), with the same weights."""
    keras_oracle.backend.clear_session(free_memory=False)
    kwargs = dict(weights=None, input_shape=(32, 32, 3), classes=10)
    theirs = keras_oracle.applications.NASNetMobile(**kwargs)
    ours = lamina.applications.NASNetMobile(**kwargs)
    ours.set_weights(_random_weights(theirs, seed=5))
    x = np.random.default_rng(6).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    return ours, theirs, x


@pytest.mark.oracle
@pytest.mark.heavy
def test_nasnet_mobile_weight_paths_and_weights_files_both_ways(nasnet_pair, tmp_path):
    ours, theirs, x = nasnet_pair
    # Keras builds the cells inside name scopes; the paths include them on both sides.
    assert [v.path for v in ours.weights] == [v.path for v in theirs.weights]
    assert ours.weights[5].path == "reduction_A_block_stem_1/reduction_conv_1_stem_1/kernel"
    expected = np.asarray(theirs.predict(x, verbose=0))

    theirs.save_weights(theirs_file := tmp_path / "theirs.weights.h5")
    fresh = lamina.applications.NASNetMobile(weights=None, input_shape=(32, 32, 3), classes=10)
    fresh.load_weights(theirs_file)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)

    ours.save_weights(ours_file := tmp_path / "ours.weights.h5")
    before = theirs.get_weights()
    theirs.set_weights([np.zeros_like(w) for w in before])
    theirs.load_weights(ours_file)
    for a, b in zip(theirs.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
@pytest.mark.heavy
def test_nasnet_mobile_keras_file_both_ways(keras_oracle, nasnet_pair, tmp_path):
    ours, theirs, x = nasnet_pair
    expected = np.asarray(theirs.predict(x, verbose=0))
    ours.save(ours_file := tmp_path / "ours.keras")
    theirs.save(theirs_file := tmp_path / "theirs.keras")
    for loaded in (lamina.models.load_model(ours_file), keras_oracle.models.load_model(ours_file),
                   lamina.models.load_model(theirs_file)):
        np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), expected, rtol=1e-4, atol=1e-5)
