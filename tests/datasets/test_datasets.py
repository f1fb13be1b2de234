"""``lamina.datasets``: the loaders against Keras's, on small files in Keras's formats.

The files are served from 127.0.0.1: both libraries' loaders are pointed at the local server
(their ``get_file`` is wrapped to swap the host and skip the hash of the real files), and every
call is recorded, so the test also checks that Lamina asks for the same URLs, file names, hashes
and cache layout as Keras. Both libraries share one cache folder.
"""

import gzip
import io
import json
import os
import pickle
import tarfile
import urllib.error
import urllib.parse

import numpy as np
import pytest

import lamina
from lamina.datasets import _loading
from lamina.utils import file_utils

_MODULES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing",
            "california_housing")


def _add_tar(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _cifar_batch(rng, n, label_keys):
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"batch_label": b"x"}
    for key, classes in label_keys.items():
        batch[key] = [int(v) for v in rng.integers(0, classes, n)]
    return pickle.dumps(batch, protocol=4)


def _sequences(rng, n, vocab=40):
    seqs = [list(map(int, rng.integers(1, vocab, rng.integers(3, 25)))) for _ in range(n)]
    out = np.empty(n, dtype=object)
    out[:] = seqs
    return out


def _build_files(root):
    rng = np.random.default_rng(0)
    np.savez(root / "mnist.npz", x_train=rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 12, dtype=np.uint8),
             x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 5, dtype=np.uint8))
    for prefix, n in (("train", 9), ("t10k", 4)):
        with gzip.open(root / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x01" + n.to_bytes(4, "big") + rng.integers(0, 10, n, dtype=np.uint8).tobytes())
        with gzip.open(root / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            header = b"\x00\x00\x08\x03" + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28))
            f.write(header + rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes())
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        for i in range(1, 6):
            _add_tar(tar, f"cifar-10-batches-py/data_batch_{i}", _cifar_batch(rng, 4, {b"labels": 10}))
        _add_tar(tar, "cifar-10-batches-py/test_batch", _cifar_batch(rng, 3, {b"labels": 10}))
    with tarfile.open(root / "cifar-100-python.tar.gz", "w:gz") as tar:
        keys = {b"fine_labels": 100, b"coarse_labels": 20}
        _add_tar(tar, "cifar-100-python/train", _cifar_batch(rng, 6, keys))
        _add_tar(tar, "cifar-100-python/test", _cifar_batch(rng, 3, keys))
    np.savez(root / "imdb.npz", x_train=_sequences(rng, 30), y_train=rng.integers(0, 2, 30),
             x_test=_sequences(rng, 20), y_test=rng.integers(0, 2, 20))
    np.savez(root / "reuters.npz", x=_sequences(rng, 40), y=rng.integers(0, 46, 40))
    np.savez(root / "boston_housing.npz", x=rng.normal(size=(37, 13)), y=rng.normal(size=37))
    np.savez(root / "california_housing.npz", x=rng.normal(size=(650, 8)), y=rng.normal(size=650))
    for name in ("imdb_word_index.json", "reuters_word_index.json"):
        (root / name).write_text(json.dumps({"the": 1, "a": 2, name: 3}))


class _LocalGetFile:
    """Wraps a library's ``get_file``: records each request, serves it from the local server."""

    def __init__(self, real, server, cache_dir, log):
        self.real, self.server, self.cache_dir, self.log = real, server, cache_dir, log

    def __call__(self, fname=None, origin=None, file_hash=None, **kwargs):
        self.log.append(dict(fname=fname, origin=origin, file_hash=file_hash, **kwargs))
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        return self.real(fname, self.server.url(name), cache_dir=self.cache_dir, **kwargs)


@pytest.fixture
def served(http_server, tmp_path, monkeypatch):
    _build_files(http_server.root)
    cache = tmp_path / "cache"
    cache.mkdir()
    log = []
    for module in _MODULES:
        monkeypatch.setattr(f"lamina.datasets.{module}.get_file",
                            _LocalGetFile(file_utils.get_file, http_server, str(cache), log))
    return http_server, cache, log


def _patch_keras(monkeypatch, oracle, served):
    import importlib

    server, cache, _ = served
    log = []
    from keras.src.utils import file_utils as keras_file_utils

    for module in _MODULES:
        mod = importlib.import_module(f"keras.src.datasets.{module}")
        monkeypatch.setattr(mod, "get_file", _LocalGetFile(keras_file_utils.get_file, server, str(cache), log))
    return log


def _assert_same(ours, theirs):
    if isinstance(theirs, (tuple, list)) and not isinstance(theirs, np.ndarray):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
        return
    if isinstance(theirs, (dict, str)):
        assert ours == theirs
        return
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if ours.dtype == object:
        assert [list(v) for v in ours] == [list(v) for v in theirs]
    else:
        np.testing.assert_array_equal(ours, theirs)


_CASES = [
    ("mnist", "load_data", {}),
    ("fashion_mnist", "load_data", {}),
    ("cifar100", "load_data", {}),
    ("cifar100", "load_data", {"label_mode": "coarse"}),
    ("imdb", "load_data", {}),
    ("imdb", "load_data", {"num_words": 20, "skip_top": 3, "maxlen": 15, "seed": 7}),
    ("imdb", "load_data", {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 25}),
    ("imdb", "get_word_index", {}),
    ("reuters", "load_data", {}),
    ("reuters", "load_data", {"num_words": 18, "test_split": 0.3, "seed": 3, "maxlen": 20}),
    ("reuters", "load_data", {"start_char": None, "index_from": 0, "oov_char": None, "num_words": 10}),
    ("reuters", "get_word_index", {}),
    ("reuters", "get_label_names", {}),
    ("boston_housing", "load_data", {}),
    ("boston_housing", "load_data", {"test_split": 0.5, "seed": 1}),
    ("california_housing", "load_data", {}),
    ("california_housing", "load_data", {"version": "small", "test_split": 0.1, "seed": 9}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("module, function, kwargs", _CASES)
def test_same_arrays_and_requests_as_keras(oracle, served, monkeypatch, module, function, kwargs):
    keras_log = _patch_keras(monkeypatch, oracle, served)
    ours = getattr(getattr(lamina.datasets, module), function)(**kwargs)
    theirs = getattr(getattr(oracle.datasets, module), function)(**kwargs)
    _assert_same(ours, theirs)
    assert served[2] == keras_log  # same fname, URL, hash, cache_subdir and extraction


@pytest.mark.oracle
def test_cifar10_same_as_keras_batches(oracle, served, monkeypatch):
    # Keras's loader insists on 10,000 images per batch file (180 MB in all): compare with its
    # batch reader and transposition instead, and check the request by letting it fail after.
    keras_log = _patch_keras(monkeypatch, oracle, served)
    (x_train, y_train), (x_test, y_test) = lamina.datasets.cifar10.load_data()
    with pytest.raises(ValueError, match="broadcast"):
        oracle.datasets.cifar10.load_data()
    assert served[2] == keras_log
    from keras.src.datasets.cifar import load_batch

    folder = served[1] / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    parts = [load_batch(str(folder / f"data_batch_{i}")) for i in range(1, 6)]
    np.testing.assert_array_equal(x_train, np.concatenate([x for x, _ in parts]).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate([y for _, y in parts]))
    x, y = load_batch(str(folder / "test_batch"))
    np.testing.assert_array_equal(x_test, x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test[:, 0], y)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8


@pytest.mark.oracle
def test_cifar_channels_first(oracle, served, monkeypatch):
    _patch_keras(monkeypatch, oracle, served)
    monkeypatch.setattr(lamina.backend.config, "_IMAGE_DATA_FORMAT", "channels_first")
    oracle.backend.set_image_data_format("channels_first")
    try:
        (x, _), _ = lamina.datasets.cifar100.load_data()
        assert x.shape == (6, 3, 32, 32)
        np.testing.assert_array_equal(x, oracle.datasets.cifar100.load_data()[0][0])
    finally:
        oracle.backend.set_image_data_format("channels_last")


def test_shapes_and_cache_location(served):
    _, cache, log = served
    (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()
    assert x_train.shape == (12, 28, 28) and x_train.dtype == np.uint8 and y_test.shape == (5,)
    assert os.path.isfile(cache / "datasets" / "mnist.npz")
    (x_train, y_train), _ = lamina.datasets.cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3) and y_train.shape == (20, 1) and y_train.dtype == np.uint8
    assert os.path.isdir(cache / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py")
    lamina.datasets.fashion_mnist.load_data()
    assert os.path.isfile(cache / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz")
    assert log[0]["origin"] == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def test_cached_file_loads_offline(served, monkeypatch):
    lamina.datasets.boston_housing.load_data()
    server, _, _ = served
    server.shutdown()  # nothing answers any more: the cached file must be enough
    (x_train, _), (x_test, _) = lamina.datasets.boston_housing.load_data()
    assert len(x_train) + len(x_test) == 37


def test_offline_error_says_what_to_download_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(file_utils.urllib.request, "urlopen", offline)
    with pytest.raises(OSError) as info:
        lamina.datasets.mnist.load_data()
    message = str(info.value)
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in message
    assert str(tmp_path / "datasets" / "mnist.npz") in message
    with pytest.raises(OSError, match="cifar-10-batches-py-target_archive"):
        lamina.datasets.cifar10.load_data()


def test_bad_arguments():
    with pytest.raises(ValueError, match="label_mode"):
        lamina.datasets.cifar100.load_data(label_mode="medium")
    with pytest.raises(ValueError, match="test_split"):
        lamina.datasets.boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="test_split"):
        lamina.datasets.california_housing.load_data(test_split=-0.1)
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        lamina.datasets.imdb.load_data(foo=1)


def test_imdb_maxlen_too_small(served):
    with pytest.raises(ValueError, match="Increase maxlen"):
        lamina.datasets.imdb.load_data(maxlen=2)


def test_california_bad_version(served):
    with pytest.raises(ValueError, match="version"):
        lamina.datasets.california_housing.load_data(version="medium")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_batch_with_foreign_class_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}, protocol=2))
    from lamina.datasets._cifar import load_batch

    with pytest.raises(pickle.UnpicklingError, match="Refusing to load"):
        load_batch(str(path))


def test_npz_object_array_with_foreign_class_is_refused(tmp_path):
    values = np.empty(1, dtype=object)
    values[0] = _Evil()
    np.savez(tmp_path / "evil.npz", x=values)
    with pytest.raises(pickle.UnpicklingError, match="Refusing to load"):
        _loading.load_npz(str(tmp_path / "evil.npz"))


def test_npz_object_array_of_lists_loads(tmp_path):
    values = np.empty(2, dtype=object)
    values[:] = [[1, 2, 3], [4]]
    np.savez(tmp_path / "ok.npz", x=values, y=np.arange(2))
    loaded = _loading.load_npz(str(tmp_path / "ok.npz"))
    assert [list(v) for v in loaded["x"]] == [[1, 2, 3], [4]]
    np.testing.assert_array_equal(loaded["y"], [0, 1])
