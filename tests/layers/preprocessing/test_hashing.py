"""Hashing, HashedCrossing and the hash functions, against Keras's documented outputs and the
published test vectors of FarmHash Fingerprint64 and SipHash-2-4 (Keras's layers need TensorFlow)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.preprocessing._hash_functions import fingerprint64, siphash64

LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]
WIRE = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]


def test_fingerprint64_published_vectors_all_lengths():
    fp = lambda b: int(fingerprint64([bytes(b)])[0])  # noqa: E731
    mask = (1 << 64) - 1
    assert fp(b"test") == 8581389452482819506
    assert fp(b"test" * 8) == -4196240717365766262 & mask
    assert fp(b"test" * 64) == 3500507768004279527
    assert fp(b"") == 11160318154034397263
    assert fp(b"F7479877-4690-4A44-AFC9-8FE987EA512F:some_other_id") == 6862335115798125349
    # Guava's cross-check against the C++ reference: every length from 0 to 3200 bytes.
    buf, n, h = bytearray(3200), 0, 0
    for i in range(800):
        for k in range(4):
            length = i if k == 0 else (i * i % n, i * i * i % n, n)[k - 1]
            h ^= fp(buf[:length])
            h ^= h >> 41
            h = (h * 949921979) & mask
            buf[n] = ord("a") + (h & 0xFFFFF) % 26
            n += 1
        x0, x1, x2, x3 = buf[n - 1], buf[n - 2], buf[n - 3], buf[n // 2]
        buf[((x0 << 16) + (x1 << 8) + x2) % n] ^= x3
        buf[((x1 << 16) + (x2 << 8) + x3) % n] ^= i % 256
    assert h == 0x7A1D67C50EC7E167


def test_siphash_reference_vectors():
    key = [0x0706050403020100, 0x0F0E0D0C0B0A0908]
    assert int(siphash64([b""], key)[0]) == 0x726FDB47DD0E0E31
    assert int(siphash64([bytes(range(15))], key)[0]) == 0xA129CA6149BE45E5
    # Vectorized groups give the same answer as one string at a time.
    strings = [bytes(range(n)) for n in range(70)]
    batch = siphash64(strings, key)
    assert all(int(batch[i]) == int(siphash64([s], key)[0]) for i, s in enumerate(strings))


@pytest.mark.parametrize(
    "kwargs, data, expected",
    [
        ({}, LETTERS, [[1], [0], [1], [1], [2]]),
        ({"mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [[1], [1], [0], [2], [2]]),
        ({"salt": [133, 137]}, LETTERS, [[1], [2], [1], [0], [2]]),
        ({"salt": 133}, LETTERS, [[0], [0], [2], [1], [0]]),
    ],
)
def test_documented_examples(kwargs, data, expected):
    out = layers.Hashing(num_bins=3, **kwargs)(data)
    assert out.dtype == torch.int64
    assert out.tolist() == expected


def test_keras_test_vectors_strings_ints_and_masks():
    assert layers.Hashing(2)(np.asarray(WIRE)).tolist() == [[0], [0], [1], [0], [0]]
    assert layers.Hashing(2)(["omar", "stringer", "marlo", "wire", "skywalker"]).tolist() == [0, 0, 1, 0, 0]
    assert layers.Hashing(3, mask_value="")(np.asarray(WIRE)).tolist() == [[1], [1], [2], [1], [1]]
    assert layers.Hashing(3, mask_value="omar")(np.asarray(WIRE)).tolist() == [[0], [1], [2], [1], [1]]
    assert layers.Hashing(2, salt=[133, 137])(WIRE).tolist() == [[0], [1], [0], [1], [0]]
    assert layers.Hashing(2, salt=[211, 137])(WIRE).tolist() == [[1], [0], [1], [0], [1]]
    assert layers.Hashing(3)(np.asarray([[0], [1], [2], [3], [4]])).tolist() == [[1], [0], [1], [0], [2]]
    assert layers.Hashing(3, salt=[133, 137])(np.arange(5)[:, None]).tolist() == [[1], [1], [2], [0], [1]]
    assert layers.Hashing(3)(torch.arange(5)).tolist() == [1, 0, 1, 0, 2]
    assert layers.Hashing(3)((0, 1, 2, 3, 4)).tolist() == [1, 0, 1, 0, 2]
    assert layers.Hashing(1)(LETTERS).tolist() == [[0]] * 5
    assert layers.Hashing(2)([[[1], [2]], [[2], [3]], [[3], [4]]]).tolist() == [[[1], [1]], [[1], [1]], [[1], [1]]]
    # Bytes and str hash alike; floats hash as their truncated integers.
    assert layers.Hashing(7)([b"omar"]).tolist() == layers.Hashing(7)(["omar"]).tolist()
    assert layers.Hashing(7)(np.array([3.7])).tolist() == layers.Hashing(7)(np.array([3])).tolist()


def test_encoded_outputs_and_symbolic_shapes():
    one_hot = layers.Hashing(3, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(np.arange(5)).numpy(), np.eye(3)[[1, 0, 1, 0, 2]])
    assert layers.Hashing(3, output_mode="multi_hot")(np.array([[0, 1, 2, 3, 4]])).tolist() == [[1, 1, 1]]
    assert layers.Hashing(3, output_mode="count")(np.arange(5)).tolist() == [2, 2, 1]
    for mode in ("int", "one_hot", "multi_hot", "count"):
        layer = layers.Hashing(5, output_mode=mode)
        for shape in ((4,), (4, 1), (3, 4)):
            symbolic = layer(lamina.Input(shape, dtype="int32"))
            assert symbolic.shape == layer.compute_output_shape((None,) + shape)
            eager = layer(np.zeros((2,) + shape, dtype="int32"))
            assert tuple(eager.shape) == (2,) + symbolic.shape[1:]
    assert layers.Hashing(3, output_mode="one_hot")(lamina.Input((1,), dtype="int32")).dtype == "float32"
    assert layers.Hashing(3, dtype="int32")(np.arange(3)).dtype == torch.int32


def test_errors_and_config():
    with pytest.raises(ValueError, match="num_bins"):
        layers.Hashing(num_bins=None)
    with pytest.raises(ValueError, match="num_bins"):
        layers.Hashing(num_bins=0)
    for salt in ("string", [1], [133, 137, 177]):
        with pytest.raises(ValueError, match="salt"):
            layers.Hashing(num_bins=2, salt=salt)
    with pytest.raises(ValueError, match="output_mode"):
        layers.Hashing(3, output_mode="unsupported_mode")
    with pytest.raises(ValueError, match="dtype"):
        layers.Hashing(3, output_mode="int", dtype="float32")
    with pytest.raises(ValueError, match="sparse"):
        layers.Hashing(3, output_mode="count", sparse=True)
    layer = layers.Hashing(5, salt=3, mask_value="x", name="h")
    config = layer.get_config()
    assert {k: config[k] for k in ("num_bins", "salt", "mask_value", "output_mode", "sparse")} == {
        "num_bins": 5, "salt": [3, 3], "mask_value": "x", "output_mode": "int", "sparse": False
    }
    clone = layers.deserialize(layers.serialize(layer))
    assert clone(WIRE).tolist() == layer(WIRE).tolist()


def test_hashed_crossing_documented_examples():
    feat1 = np.array(["A", "B", "A", "B", "A"])
    feat2 = np.array([101, 101, 101, 102, 102])
    out = layers.HashedCrossing(num_bins=5)((feat1, feat2))
    assert out.dtype == torch.int64 and out.tolist() == [1, 4, 1, 1, 3]
    one_hot = layers.HashedCrossing(num_bins=5, output_mode="one_hot")((feat1, feat2))
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(5)[[1, 4, 1, 1, 3]])
    assert layers.HashedCrossing(num_bins=5)([feat1[:, None], feat2[:, None]]).tolist() == [[1], [4], [1], [1], [3]]
    assert layers.HashedCrossing(num_bins=10)((np.array("A"), np.array(101))).tolist() == 1
    assert layers.HashedCrossing(num_bins=5, dtype="int32")((feat1, feat2)).dtype == torch.int32


def test_hashed_crossing_errors_symbolic_and_config():
    layer = layers.HashedCrossing(num_bins=10)
    with pytest.raises(ValueError, match="should be called on a list"):
        layer(np.array(1))
    with pytest.raises(ValueError, match="at least two inputs"):
        layer([np.array(1)])
    with pytest.raises(ValueError, match="inputs should have shape"):
        layer((np.array([[[1]]]), np.array([[[1]]])))
    with pytest.raises(ValueError, match="equal shape"):
        layer((np.array([1, 2]), np.array([1])))
    with pytest.raises(ValueError, match="integer or string"):
        layer((np.array([1.0]), np.array([1.0])))
    a, b = lamina.Input((1,), dtype="int64"), lamina.Input((1,), dtype="int64")
    assert layers.HashedCrossing(4)([a, b]).shape == (None, 1)
    assert layers.HashedCrossing(4, output_mode="one_hot")([a, b]).shape == (None, 4)
    model = lamina.Model([a, b], layers.HashedCrossing(4)([a, b]))
    assert tuple(model([np.array([[1], [2]]), np.array([[3], [4]])]).shape) == (2, 1)
    config = layers.HashedCrossing(7, output_mode="one_hot", name="hc").get_config()
    assert config == {"num_bins": 7, "output_mode": "one_hot", "sparse": False, "name": "hc", "dtype": "float32"}
    clone = layers.HashedCrossing.from_config(config)
    assert clone.num_bins == 7 and clone.output_mode == "one_hot"
    with pytest.raises(ValueError, match="sparse"):
        layers.HashedCrossing(3, output_mode="one_hot", sparse=True)


def _cross_hashed_reference(columns, num_bins):
    """TensorFlow's ``sparse.cross_hashed`` for integer columns, written out with Python integers
    from its definition (key 0xDECAFCAFFE, ``FingerprintCat64`` chaining, then ``% num_bins``):
    an implementation independent of the numpy one under test."""
    mask, mul = (1 << 64) - 1, 0xC6A4A7935BD1E995

    def shift_mix(v):
        return v ^ (v >> 47)

    def cat(fp1, fp2):
        result = fp1 ^ mul
        result ^= (shift_mix((fp2 * mul) & mask) * mul) & mask
        result = (result * mul) & mask
        result = (shift_mix(result) * mul) & mask
        return shift_mix(result)

    out = []
    for row in zip(*columns):
        h = 0xDECAFCAFFE
        for value in row:
            h = cat(h, int(value) & mask)
        out.append(h % num_bins)
    return out


def test_hashed_crossing_integer_columns_match_an_independent_reference():
    # The inputs of Keras's own `run_layer_test` cases (its layer needs TensorFlow to run them),
    # plus negative and large values that exercise the 64-bit wrap-around.
    rng = np.random.default_rng(0)
    columns = [np.array([1, 2]), np.array([4, 5])]
    big = [rng.integers(-(2**62), 2**62, 50), rng.integers(-(2**62), 2**62, 50), rng.integers(0, 9, 50)]
    for cols, bins in ((columns, 3), (columns, 4), (big, 1000), (big, 7)):
        expected = _cross_hashed_reference(cols, bins)
        assert layers.HashedCrossing(num_bins=bins)(tuple(cols)).tolist() == expected
    one_hot = layers.HashedCrossing(num_bins=4, output_mode="one_hot")(tuple(columns))
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(4)[_cross_hashed_reference(columns, 4)])
