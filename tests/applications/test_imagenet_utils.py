"""`imagenet_utils`: preprocessing modes, decoding, input-shape rules, against the oracle."""

import numpy as np
import pytest
import torch

import lamina
from lamina.applications import imagenet_utils


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank", [3, 4])
def test_preprocess_input_matches_keras(oracle, mode, data_format, rank):
    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    x = np.random.default_rng(0).uniform(0, 255, shape[4 - rank:]).astype("float32")
    expected = oracle.applications.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    got = imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)
    got_tensor = imagenet_utils.preprocess_input(torch.from_numpy(x.copy()), data_format=data_format, mode=mode)
    np.testing.assert_allclose(np.asarray(got_tensor), expected, rtol=1e-6, atol=1e-5)


def test_preprocess_input_integers_and_errors():
    x = np.full((1, 2, 2, 3), 255, dtype="uint8")
    out = lamina.applications.resnet_v2.preprocess_input(x)
    assert out.dtype == np.float32 and np.allclose(out, 1.0)
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(x, mode="bgr")
    with pytest.raises(ValueError, match="data_format"):
        imagenet_utils.preprocess_input(x, data_format="nhwc")


def test_decode_predictions(monkeypatch):
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)})
    preds = np.zeros((2, 1000), "float32")
    preds[0, [3, 7, 9]] = [0.2, 0.5, 0.3]
    preds[1, 999] = 1.0
    result = lamina.applications.vgg16.decode_predictions(preds, top=2)
    assert [r[:2] for r in result[0]] == [("n00000007", "class_7"), ("n00000009", "class_9")]
    assert result[1][0][:2] == ("n00000999", "class_999")
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


@pytest.mark.oracle
@pytest.mark.parametrize("args", [
    dict(input_shape=None, default_size=224, min_size=32, require_flatten=True),
    dict(input_shape=None, default_size=224, min_size=32, require_flatten=False),
    dict(input_shape=(64, 48, 3), default_size=224, min_size=32, require_flatten=False),
    dict(input_shape=(64, 64, 1), default_size=224, min_size=32, require_flatten=True),
    dict(input_shape=(224, 224, 3), default_size=224, min_size=32, require_flatten=True, weights="imagenet"),
])
def test_obtain_input_shape_matches_keras(oracle, args):
    kwargs = dict(args, data_format="channels_last")
    expected = oracle.src.applications.imagenet_utils.obtain_input_shape(**kwargs)
    assert imagenet_utils.obtain_input_shape(**kwargs) == tuple(expected)


def test_obtain_input_shape_errors():
    with pytest.raises(ValueError, match="at least 75x75"):
        imagenet_utils.obtain_input_shape((60, 80, 3), 299, 75, "channels_last", False)
    with pytest.raises(ValueError, match="should be"):
        imagenet_utils.obtain_input_shape((100, 100, 3), 224, 32, "channels_last", True, weights="imagenet")
    with pytest.raises(ValueError, match="3 channels"):
        imagenet_utils.obtain_input_shape((100, 100, 1), 224, 32, "channels_last", False, weights="imagenet")


FAMILY_MODULES = ["convnext", "densenet", "efficientnet", "efficientnet_v2", "inception_resnet_v2", "inception_v3",
                  "mobilenet", "mobilenet_v2", "mobilenet_v3", "nasnet", "resnet", "resnet50", "resnet_v2", "vgg16",
                  "vgg19", "xception"]


@pytest.mark.oracle
def test_every_family_preprocesses_and_decodes_like_keras(oracle, monkeypatch):
    """Each family module's `preprocess_input` uses Keras's mode for that family."""
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)})
    preds = np.random.default_rng(1).uniform(size=(1, 1000)).astype("float32")
    for module in FAMILY_MODULES:
        ours, theirs = getattr(lamina.applications, module), getattr(oracle.applications, module)
        expected = np.asarray(theirs.preprocess_input(x.copy()))
        np.testing.assert_allclose(np.asarray(ours.preprocess_input(x.copy())), expected, rtol=1e-6, err_msg=module)
        assert ours.decode_predictions(preds, top=2)[0][0][1] == f"class_{int(preds.argmax())}"
