"""ResNet, VGG, MobileNetV2, EfficientNet, DenseNet, InceptionV3, Xception against the oracle:
same layer names, weight paths and shapes (weights=None), same outputs with the same weights."""

import time

import numpy as np
import pytest

import lamina
from app_oracle import assert_same_outputs, assert_same_structure, build_both

# (module, builder, kwargs): reduced input sizes keep the builds fast; include_top variants at
# a small size with few classes check the head.
STRUCTURE_CASES = [
    pytest.param("resnet", "ResNet50", dict(include_top=False, input_shape=(32, 32, 3)), marks=pytest.mark.heavy),
    ("resnet", "ResNet101", dict(include_top=False, input_shape=(32, 32, 3))),
    pytest.param("resnet", "ResNet152", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    ("resnet_v2", "ResNet50V2", dict(input_shape=(32, 32, 3), classes=10)),
    ("resnet_v2", "ResNet101V2", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
    pytest.param("resnet_v2", "ResNet152V2", dict(include_top=False, input_shape=(32, 32, 3), pooling="max"), marks=pytest.mark.heavy),
    pytest.param("vgg16", "VGG16", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    ("vgg19", "VGG19", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
    pytest.param("mobilenet_v2", "MobileNetV2", dict(input_shape=(32, 32, 3), alpha=0.35, classes=10), marks=pytest.mark.heavy),
    ("mobilenet_v2", "MobileNetV2", dict(input_shape=(32, 32, 3), alpha=1.4, include_top=False)),
    pytest.param("densenet", "DenseNet121", dict(input_shape=(32, 32, 3), classes=10), marks=pytest.mark.heavy),
    pytest.param("densenet", "DenseNet169", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"), marks=pytest.mark.heavy),
    pytest.param("densenet", "DenseNet201", dict(include_top=False, input_shape=(32, 32, 3)), marks=pytest.mark.heavy),
    pytest.param("inception_v3", "InceptionV3", dict(input_shape=(75, 75, 3), classes=10), marks=pytest.mark.heavy),
    pytest.param("xception", "Xception", dict(include_top=False, input_shape=(71, 71, 3), pooling="max"), marks=pytest.mark.heavy),
] + [pytest.param("efficientnet", f"EfficientNetB{i}", dict(include_top=i % 2 == 0, input_shape=(32, 32, 3), classes=10),
                  marks=[pytest.mark.heavy] if i != 1 else [])
     for i in range(8)]


@pytest.mark.oracle
@pytest.mark.parametrize("module,fn,kwargs", STRUCTURE_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_same_layers_and_weights_as_keras(oracle, module, fn, kwargs):
    ours, theirs, _ = build_both(oracle, module, fn, **kwargs)
    assert_same_structure(ours, theirs)
    assert ours.name == theirs.name
    assert tuple(ours.output_shape) == tuple(theirs.output_shape)


OUTPUT_CASES = [
    ("resnet", "ResNet50", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"), (2, 32, 32, 3)),
    ("resnet_v2", "ResNet50V2", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3)),
    ("vgg16", "VGG16", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3)),
    ("mobilenet_v2", "MobileNetV2", dict(input_shape=(33, 33, 3), alpha=0.5, classes=10), (2, 33, 33, 3)),
    ("efficientnet", "EfficientNetB0", dict(input_shape=(32, 32, 3), classes=10), (2, 32, 32, 3)),
    ("densenet", "DenseNet121", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"), (2, 32, 32, 3)),
    ("inception_v3", "InceptionV3", dict(include_top=False, input_shape=(75, 75, 3)), (1, 75, 75, 3)),
    ("xception", "Xception", dict(input_shape=(71, 71, 3), classes=10), (1, 71, 71, 3)),
]


@pytest.mark.oracle
@pytest.mark.parametrize("module,fn,kwargs,shape", OUTPUT_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_same_outputs_as_keras(oracle, module, fn, kwargs, shape):
    ours, theirs, _ = build_both(oracle, module, fn, **kwargs)
    assert_same_structure(ours, theirs)
    assert_same_outputs(ours, theirs, shape)


def test_module_paths_match_keras():
    apps = lamina.applications
    assert apps.resnet50.ResNet50 is apps.ResNet50 is apps.resnet.ResNet50
    for module in ("resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "mobilenet_v2", "densenet",
                   "efficientnet", "inception_v3", "xception"):
        assert callable(getattr(apps, module).preprocess_input)
        assert callable(getattr(apps, module).decode_predictions)


def test_build_time_is_reasonable():
    start = time.perf_counter()
    lamina.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert time.perf_counter() - start < 60


def test_argument_errors():
    apps = lamina.applications
    with pytest.raises(ValueError, match="`weights` argument"):
        apps.ResNet50(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        apps.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        apps.ResNet50(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="alpha must be one of"):
        apps.MobileNetV2(weights="imagenet", alpha=0.6)
    with pytest.raises(ValueError, match="`pooling`"):
        apps.ResNet50(weights=None, include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        apps.ResNet50(weights="imagenet", classifier_activation="relu")


def test_input_tensor_and_pooling():
    inp = lamina.Input((48, 48, 3))
    x = lamina.layers.Rescaling(1 / 255.0)(inp)
    model = lamina.applications.ResNet50V2(weights=None, include_top=False, input_tensor=x, pooling="avg")
    assert model.inputs[0] is inp
    assert tuple(model.output_shape) == (None, 2048)
    out = model.predict(np.random.rand(2, 48, 48, 3).astype("float32"), verbose=0)
    assert out.shape == (2, 2048)
