"""`initializers.STFT` against Keras 3 (JAX), plus its config and argument checks."""

import numpy as np
import pytest

import lamina
from lamina import initializers

CASES = [
    ("real", "hann", "density", False),
    ("imag", "hann", "density", True),
    ("imag", "hamming", "spectrum", True),
    ("real", "blackman", None, False),
    ("real", None, None, False),
    ("imag", list(np.linspace(0.0, 1.0, 16)), "density", False),
]


@pytest.mark.oracle
@pytest.mark.parametrize("args", CASES, ids=lambda a: str(a if isinstance(a, (str, bool, type(None))) else "array"))
def test_kernel_matches_keras(oracle, args):
    expected = np.asarray(oracle.initializers.STFT(*args)((16, 1, 9)))
    got = initializers.STFT(*args)((16, 1, 9)).numpy()
    assert got.shape == expected.shape == (16, 1, 9)
    np.testing.assert_allclose(got, expected, atol=1e-7)


@pytest.mark.oracle
def test_serialization_matches_keras(oracle):
    k = oracle.initializers.serialize(oracle.initializers.STFT("imag", "hamming", "spectrum", True))
    l_init = initializers.STFT("imag", "hamming", "spectrum", True)
    assert initializers.serialize(l_init) == k
    rebuilt = initializers.deserialize(k)
    assert isinstance(rebuilt, initializers.STFT) and rebuilt.get_config() == l_init.get_config()


def test_aliases_and_dtype():
    assert initializers.get("stft").__class__ is initializers.STFT
    assert initializers.get("STFTInitializer").__class__ is initializers.STFT
    assert initializers.STFTInitializer is initializers.stft is initializers.STFT
    kernel = initializers.STFT()((8, 1, 5), dtype="float64")
    assert str(kernel.dtype) == "torch.float64"


def test_imaginary_kernel_of_bin_zero_is_zero_and_real_is_the_scaled_window():
    real = initializers.STFT("real", "hann", "spectrum", True)((8, 1, 5)).numpy()
    imag = initializers.STFT("imag", "hann", "spectrum", True)((8, 1, 5)).numpy()
    np.testing.assert_allclose(imag[:, 0, 0], 0.0, atol=1e-7)
    np.testing.assert_allclose(real[:, 0, 0].sum(), 1.0, rtol=1e-6)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="complex")
    with pytest.raises(ValueError, match="Unknown window"):
        initializers.STFT(window="not_a_window")
    with pytest.raises(ValueError, match="Scaling is invalid"):
        initializers.STFT(scaling="l2")
    with pytest.raises(ValueError, match="frame_length"):
        initializers.STFT()((8, 5))
    with pytest.raises(ValueError, match="window"):
        initializers.STFT(window=[1.0, 2.0])((8, 1, 5))
