"""`weights="imagenet"` and weight files: Keras-written legacy HDF5 files load through `get_file`
(served from 127.0.0.1) into the Keras cache and give Keras's predictions; offline errors name
the file and its URL; unsafe or mismatched files are refused."""

import os

import h5py
import numpy as np
import pytest

import lamina
from lamina.applications import resnet


def _keras_legacy_h5(oracle, model, path):
    """Write ``model``'s weights the way Keras's published application files are laid out."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.mark.oracle
def test_imagenet_weights_download_into_cache_and_predict_like_keras(oracle, http_server, keras_home, monkeypatch):
    kwargs = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    theirs = oracle.applications.ResNet50(weights=None, **kwargs)
    rng = np.random.default_rng(1)
    theirs.set_weights([rng.normal(0, 0.05, w.shape).astype("float32") + (1.0 if "variance" in v.path else 0.0)
                        for w, v in zip(theirs.get_weights(), theirs.weights)])
    file_name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    _keras_legacy_h5(oracle, theirs, server_file := http_server.root / file_name)
    monkeypatch.setattr(resnet, "BASE_WEIGHTS_PATH", http_server.url(""))
    # The real md5 belongs to the published file; this one was written here.
    monkeypatch.setitem(resnet.WEIGHTS_HASHES, "resnet50", (None, None))

    ours = lamina.applications.ResNet50(weights="imagenet", **kwargs)

    assert os.path.exists(keras_home / "models" / file_name)
    x = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = theirs.predict(oracle.applications.resnet50.preprocess_input(x.copy()), verbose=0)
    got = ours.predict(lamina.applications.resnet50.preprocess_input(x.copy()), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

    # Offline: the cached file is used, the server is not asked again.
    server_file.unlink()
    again = lamina.applications.ResNet50(weights="imagenet", **kwargs)
    np.testing.assert_allclose(again.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-6)


def test_offline_without_file_names_file_and_url(keras_home, monkeypatch):
    # Port 9 on 127.0.0.1 (discard) has nothing listening: a download cannot happen.
    monkeypatch.setattr(resnet, "BASE_WEIGHTS_PATH", "http://127.0.0.1:9/keras-applications/resnet/")
    with pytest.raises(OSError) as info:
        lamina.applications.ResNet50(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    message = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "http://127.0.0.1:9/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message


@pytest.mark.oracle
def test_weights_path_argument_loads_keras_legacy_file(oracle, tmp_path):
    theirs = oracle.applications.VGG16(weights=None, input_shape=(32, 32, 3), classes=4)
    path = tmp_path / "vgg16_custom.h5"
    _keras_legacy_h5(oracle, theirs, path)
    ours = lamina.applications.VGG16(weights=str(path), input_shape=(32, 32, 3), classes=4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
def test_efficientnet_imagenet_branch_loads_keras_file(oracle, http_server, keras_home, monkeypatch):
    """EfficientNet's "imagenet" build adds a Rescaling layer and Normalization statistics."""
    from lamina.applications import efficientnet

    kwargs = dict(include_top=False, input_shape=(32, 32, 3))
    theirs = oracle.applications.EfficientNetB0(weights=None, **kwargs)
    _keras_legacy_h5(oracle, theirs, http_server.root / "efficientnetb0_notop.h5")
    monkeypatch.setattr(efficientnet, "BASE_WEIGHTS_PATH", http_server.url(""))
    monkeypatch.setitem(efficientnet.WEIGHTS_HASHES, "b0", (None, None))
    ours = lamina.applications.EfficientNetB0(weights="imagenet", **kwargs)
    assert [l.name for l in ours.layers][:4] == ["input_layer", "rescaling", "normalization", "rescaling_1"]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
def test_mobilenet_v3_imagenet_with_top_loads_keras_file(oracle, http_server, keras_home, monkeypatch):
    """MobileNetV3's published files differ from the others: the classifier is a pair of 1x1
    convolutions ("conv_2", "logits") and the with-top file has its own naming scheme."""
    from lamina.applications import mobilenet_v3

    kwargs = dict(include_top=True, input_shape=(32, 32, 3), minimalistic=True)
    theirs = oracle.applications.MobileNetV3Small(weights=None, **kwargs)
    rng = np.random.default_rng(3)
    theirs.set_weights([rng.normal(0, 0.05, w.shape).astype("float32") + (1.0 if "variance" in v.path else 0.0)
                        for w, v in zip(theirs.get_weights(), theirs.weights)])
    file_name = "weights_mobilenet_v3_small_minimalistic_224_1.0_float.h5"
    _keras_legacy_h5(oracle, theirs, http_server.root / file_name)
    monkeypatch.setattr(mobilenet_v3, "BASE_WEIGHT_PATH", http_server.url(""))
    monkeypatch.setitem(mobilenet_v3.WEIGHTS_HASHES, "small_minimalistic_224_1.0_float", (None, None))

    with pytest.warns(UserWarning, match="224"):  # the published weights are for 224x224, as in Keras
        ours = lamina.applications.MobileNetV3Small(weights="imagenet", **kwargs)

    assert os.path.exists(keras_home / "models" / file_name)
    assert ours.output_shape == (None, 1000)
    x = np.random.default_rng(4).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def _tiny_model():
    inp = lamina.Input((4,))
    x = lamina.layers.Dense(3, name="d1")(inp)
    return lamina.Model(inp, lamina.layers.Dense(2, name="d2")(x))


def _legacy_file(path, shapes=((4, 3), (3,), (3, 2), (2,)), link=None):
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"d1", b"d2"]
        for layer, pair in (("d1", shapes[:2]), ("d2", shapes[2:])):
            g = f.create_group(layer)
            g.attrs["weight_names"] = [f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()]
            g.create_dataset(f"{layer}/kernel:0", data=np.ones(pair[0], "float32"))
            g.create_dataset(f"{layer}/bias:0", data=np.zeros(pair[1], "float32"))
        if link == "soft":
            del f["d2/d2/bias:0"]
            f["d2/d2/bias:0"] = h5py.SoftLink("/d1/d1/bias:0")
        elif link == "external":
            del f["d2/d2/bias:0"]
            f["d2/d2/bias:0"] = h5py.ExternalLink("/etc/passwd", "/x")
        elif link == "traversal":
            f["d2"].attrs["weight_names"] = [b"d2/kernel:0", b"../d1/d1/bias:0"]


def test_legacy_h5_loads_and_rejects_unsafe_files(tmp_path):
    model = _tiny_model()
    good = tmp_path / "good.h5"
    _legacy_file(good)
    model.load_weights(str(good))
    np.testing.assert_array_equal(model.get_layer("d1").kernel.numpy(), np.ones((4, 3)))
    for link in ("soft", "external", "traversal"):
        path = tmp_path / f"{link}.h5"
        _legacy_file(path, link=link)
        with pytest.raises(ValueError, match="Not allowed|leaves its layer group"):
            _tiny_model().load_weights(str(path))
    bad_shape = tmp_path / "shape.h5"
    _legacy_file(bad_shape, shapes=((4, 3), (3,), (3, 5), (5,)))
    fresh = _tiny_model()
    before = fresh.get_weights()
    with pytest.raises(ValueError, match=r"Shape mismatch .*'d2'.*\(3, 5\).*\(3, 2\)"):
        fresh.load_weights(str(bad_shape))
    for a, b in zip(fresh.get_weights(), before):  # nothing assigned from a rejected file
        np.testing.assert_array_equal(a, b)
    fresh.load_weights(str(bad_shape), skip_mismatch=True)
    np.testing.assert_array_equal(fresh.get_layer("d1").kernel.numpy(), np.ones((4, 3)))
