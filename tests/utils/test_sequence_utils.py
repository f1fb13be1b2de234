import numpy as np
import pytest

import lamina
from lamina.utils import pad_sequences

SEQUENCES = [[1], [2, 3], [4, 5, 6], [], [7, 8, 9, 10, 11]]


@pytest.mark.oracle
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 2, 4, 8])
def test_pad_sequences_matches_keras(oracle, padding, truncating, maxlen):
    kwargs = dict(maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    expected = oracle.utils.pad_sequences(SEQUENCES, **kwargs)
    got = pad_sequences(SEQUENCES, **kwargs)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.oracle
def test_pad_sequences_vectors_dtypes_and_strings(oracle):
    rng = np.random.default_rng(0)
    vectors = [rng.random((n, 3)) for n in (2, 5, 1)]
    for kwargs in (dict(dtype="float32"), dict(dtype="float64", maxlen=3, padding="post")):
        np.testing.assert_array_equal(
            pad_sequences(vectors, **kwargs), oracle.utils.pad_sequences(vectors, **kwargs)
        )
    words = [["a", "bb"], ["ccc"]]
    got = pad_sequences(words, dtype=object, value="<pad>")
    expected = oracle.utils.pad_sequences(words, dtype=object, value="<pad>")
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        pad_sequences(words, dtype="<U3", value="-"),
        oracle.utils.pad_sequences(words, dtype="<U3", value="-"),
    )


def test_pad_sequences_example_and_aliases():
    np.testing.assert_array_equal(
        pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post"),
        [[1, 0], [2, 3], [5, 6]],
    )
    assert lamina.preprocessing.sequence.pad_sequences is pad_sequences


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="Padding type"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="Truncating type"):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="must be iterable"):
        pad_sequences(iter([[1]]))
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="different from expected shape"):
        pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])
