"""lamina.ops math functions (segment reductions, Fourier transforms, ...) against keras.ops (JAX)."""

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(5)
X = _rng.normal(size=(2, 3, 8)).astype("float32")
Y = _rng.normal(size=(2, 3, 8)).astype("float32")
SIG = _rng.normal(size=(2, 100)).astype("float32")
DATA = _rng.normal(size=(6, 2)).astype("float32")
IDS = np.array([0, 0, 2, 2, 3, -1], "int32")


def assert_same(got, expected, rtol=1e-5, atol=1e-5):
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e, rtol, atol)
        return
    g, e = got.detach().cpu().numpy(), np.asarray(expected)
    assert g.shape == e.shape and g.dtype == e.dtype, (g.shape, e.shape, g.dtype, e.dtype)
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


CASES = [
    ("erfc", (X,), {}),
    ("erfc", (np.array([0, 1, 3], "int32"),), {}),
    ("logdet", (np.eye(3, dtype="float32") * 2 + 0.1,), {}),
    ("cdist", (X[0], Y[0, :2]), {}),
    ("cdist", (X, Y), {}),
    ("extract_sequences", (SIG, 10, 7), {}),
    ("segment_sum", (DATA, IDS), {"num_segments": 5}),
    ("segment_sum", (np.arange(6, dtype="int32"), IDS), {"num_segments": 4, "sorted": True}),
    ("segment_max", (DATA, IDS), {"num_segments": 5}),
    ("segment_max", (np.arange(6, dtype="int32"), IDS), {"num_segments": 5}),
    ("segment_min", (DATA, IDS), {"num_segments": 5}),
    ("segment_prod", (DATA, IDS), {"num_segments": 5}),
    ("fft", ((X, Y),), {}),
    ("fft2", ((X, Y),), {}),
    ("ifft2", ((X, Y),), {}),
    ("rfft", (X,), {}),
    ("rfft", (X,), {"fft_length": 6}),
    ("rfft", (X,), {"fft_length": 12}),
    ("irfft", ((X[..., :5], Y[..., :5]),), {}),
    ("irfft", ((X[..., :5], Y[..., :5]),), {"fft_length": 7}),
    ("stft", (SIG, 16, 8, 32), {}),
    ("stft", (SIG, 16, 5, 16), {"window": "hamming", "center": False}),
    ("stft", (SIG, 12, 4, 16), {"window": None}),
    ("view_as_complex", (X[..., :2],), {}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        {"sequence_length": 16, "sequence_stride": 8, "fft_length": 32},
        {"sequence_length": 16, "sequence_stride": 4, "fft_length": 16, "window": "hamming", "center": False},
        {"sequence_length": 12, "sequence_stride": 4, "fft_length": 16, "window": None},
        {"sequence_length": 16, "sequence_stride": 8, "fft_length": 16, "length": 90},
    ],
)
def test_istft_matches_keras(kops, kwargs):
    stft_args = {k: v for k, v in kwargs.items() if k != "length"}
    spectrum = kops.stft(SIG, **stft_args)
    pair = tuple(np.asarray(s) for s in spectrum)
    assert_same(ops.istft(pair, **kwargs), kops.istft(pair, **kwargs), rtol=1e-4, atol=1e-4)


@pytest.mark.oracle
def test_view_as_real_matches_keras(kops):
    z = X[..., 0] + 1j * X[..., 1]
    assert_same(ops.view_as_real(torch.tensor(z.astype("complex64"))), kops.view_as_real(z.astype("complex64")))


def test_segment_count_defaults_to_the_largest_id_plus_one():
    out = ops.segment_sum(DATA, np.array([0, 0, 1, 1, 3, 3]))
    assert tuple(out.shape) == (4, 2)
    np.testing.assert_allclose(out[3].numpy(), DATA[4] + DATA[5], rtol=1e-6)


def test_fft_refuses_a_single_tensor():
    with pytest.raises(ValueError, match="tuple of two tensors"):
        ops.fft(X)


def test_symbolic_fft_records_keras_nodes():
    import lamina

    inp = lamina.Input((8,))
    real, imag = ops.rfft(inp)
    model = lamina.Model(inp, ops.irfft((real, imag)))
    np.testing.assert_allclose(model(X[0]).detach().numpy(), X[0], atol=1e-5)
