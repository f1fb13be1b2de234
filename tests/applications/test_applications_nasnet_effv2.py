"""NASNet and EfficientNetV2 against the oracle. The largest builds are marked slow."""

import pytest

import lamina
from app_oracle import assert_same_outputs, assert_same_structure, build_both

slow = pytest.mark.heavy

STRUCTURE_CASES = [
    pytest.param("nasnet", "NASNetMobile", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    pytest.param("nasnet", "NASNetLarge", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"), marks=slow),
    pytest.param("efficientnet_v2", "EfficientNetV2B0", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    ("efficientnet_v2", "EfficientNetV2B1", dict(include_top=False, input_shape=(32, 32, 3))),
    pytest.param("efficientnet_v2", "EfficientNetV2B2", dict(include_top=False, input_shape=(32, 32, 3), pooling="max"), marks=slow),
    pytest.param("efficientnet_v2", "EfficientNetV2B3", dict(include_top=False, input_shape=(32, 32, 3), include_preprocessing=False), marks=slow),
    pytest.param("efficientnet_v2", "EfficientNetV2S", dict(include_top=False, input_shape=(32, 32, 3)), marks=slow),
    pytest.param("efficientnet_v2", "EfficientNetV2M", dict(input_shape=(32, 32, 3), classes=10), marks=slow),
    pytest.param("efficientnet_v2", "EfficientNetV2L", dict(include_top=False, input_shape=(32, 32, 3)), marks=slow),
]


@pytest.mark.oracle
@pytest.mark.parametrize("module,fn,kwargs", STRUCTURE_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_same_layers_and_weights_as_keras(oracle, module, fn, kwargs):
    ours, theirs, _ = build_both(oracle, module, fn, **kwargs)
    assert_same_structure(ours, theirs)
    assert tuple(ours.output_shape) == tuple(theirs.output_shape)


OUTPUT_CASES = [
    ("nasnet", "NASNetMobile", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3), 1.0),
    ("efficientnet_v2", "EfficientNetV2B0", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3), 255.0),
    pytest.param("efficientnet_v2", "EfficientNetV2S", dict(input_shape=(32, 32, 3), include_top=False, pooling="avg"),
                 (1, 32, 32, 3), 255.0, marks=pytest.mark.heavy),
]


@pytest.mark.oracle
@pytest.mark.parametrize("module,fn,kwargs,shape,scale", OUTPUT_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_same_outputs_as_keras(oracle, module, fn, kwargs, shape, scale):
    ours, theirs, _ = build_both(oracle, module, fn, **kwargs)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, shape, scale=scale)


def test_nasnet_argument_errors():
    with pytest.raises(ValueError, match="must be static"):
        lamina.applications.NASNetMobile(weights="imagenet", include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="multiple of 24"):
        lamina.applications.nasnet.NASNet(weights=None, penultimate_filters=100, include_top=False,
                                          input_shape=(32, 32, 3))
