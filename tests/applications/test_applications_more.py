"""MobileNet, MobileNetV3, InceptionResNetV2 and ConvNeXt against the oracle."""

import h5py
import numpy as np
import pytest

import lamina
from app_oracle import assert_same_outputs, assert_same_structure, build_both

STRUCTURE_CASES = [
    ("mobilenet", "MobileNet", dict(input_shape=(32, 32, 3), alpha=0.5, depth_multiplier=2, classes=10)),
    ("mobilenet", "MobileNet", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
    pytest.param("mobilenet_v3", "MobileNetV3Small", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    ("mobilenet_v3", "MobileNetV3Small", dict(input_shape=(32, 32, 3), include_top=False, minimalistic=True)),
    ("mobilenet_v3", "MobileNetV3Large", dict(input_shape=(32, 32, 3), alpha=0.75, classes=10)),
    ("mobilenet_v3", "MobileNetV3Large", dict(input_shape=(32, 32, 3), include_top=False, alpha=1.25,
                                              include_preprocessing=False, pooling="max")),
    pytest.param("inception_resnet_v2", "InceptionResNetV2", dict(include_top=False, input_shape=(75, 75, 3)), marks=pytest.mark.heavy),
    pytest.param("convnext", "ConvNeXtTiny", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    ("convnext", "ConvNeXtSmall", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
    pytest.param("convnext", "ConvNeXtBase", dict(include_top=False, input_shape=(32, 32, 3)), marks=pytest.mark.heavy),
    pytest.param("convnext", "ConvNeXtLarge", dict(include_top=False, input_shape=(32, 32, 3), pooling="max"), marks=pytest.mark.heavy),
    pytest.param("convnext", "ConvNeXtXLarge", dict(include_top=False, input_shape=(32, 32, 3)), marks=pytest.mark.heavy),
]


@pytest.mark.oracle
@pytest.mark.parametrize("module,fn,kwargs", STRUCTURE_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_same_layers_and_weights_as_keras(oracle, module, fn, kwargs):
    ours, theirs, _ = build_both(oracle, module, fn, **kwargs)
    assert_same_structure(ours, theirs)
    assert tuple(ours.output_shape) == tuple(theirs.output_shape)


OUTPUT_CASES = [
    ("mobilenet", "MobileNet", dict(input_shape=(32, 32, 3), alpha=0.25, classes=10), (2, 32, 32, 3), 1.0),
    ("mobilenet_v3", "MobileNetV3Small", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3), 255.0),
    ("mobilenet_v3", "MobileNetV3Large", dict(input_shape=(32, 32, 3), include_top=False, minimalistic=True),
     (2, 32, 32, 3), 255.0),
    ("inception_resnet_v2", "InceptionResNetV2", dict(input_shape=(75, 75, 3), classes=10), (1, 75, 75, 3), 1.0),
    ("convnext", "ConvNeXtTiny", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3), 255.0),
]


@pytest.mark.oracle
@pytest.mark.parametrize("module,fn,kwargs,shape,scale", OUTPUT_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_same_outputs_as_keras(oracle, module, fn, kwargs, shape, scale):
    ours, theirs, _ = build_both(oracle, module, fn, **kwargs)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, shape, scale=scale)


@pytest.mark.oracle
def test_convnext_nested_stages_load_from_keras_legacy_file(oracle, tmp_path):
    """ConvNeXt's stem and downsampling blocks are nested Sequential models in the file."""
    from keras.src.legacy.saving import legacy_h5_format

    theirs = oracle.applications.ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3))
    rng = np.random.default_rng(0)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()])
    path = tmp_path / "convnext_tiny_custom.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    ours = lamina.applications.ConvNeXtTiny(weights=str(path), include_top=False, input_shape=(32, 32, 3))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_variant_argument_errors():
    apps = lamina.applications
    with pytest.raises(ValueError, match="alpha can be one of"):
        apps.MobileNetV3Small(weights="imagenet", alpha=0.5)
    with pytest.raises(ValueError, match="depth multiplier must be 1"):
        apps.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.MobileNetV3Large(weights=None, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="must contain the weights variant"):
        apps.ConvNeXtTiny(weights="imagenet", name="mine", include_top=False, input_shape=(32, 32, 3))


def test_stochastic_depth_drops_whole_samples_only_in_training():
    from lamina.applications.convnext import StochasticDepth

    layer = StochasticDepth(0.5)
    x = np.ones((64, 2, 2, 3), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    out = np.asarray(layer(x, training=True))
    per_sample = out.reshape(64, -1)
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert np.all(per_sample.min(axis=1) == per_sample.max(axis=1))
