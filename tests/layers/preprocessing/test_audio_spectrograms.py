"""STFTSpectrogram and MelSpectrogram."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.ops import _audio_math as _audio_ops

STFT_CASES = [
    dict(frame_length=64, fft_length=128),
    dict(mode="magnitude", frame_length=50, frame_step=20, window="hamming", periodic=True, padding="same"),
    dict(mode="psd", frame_length=32, scaling="spectrum", window="blackman", expand_dims=True),
    dict(mode="stft", frame_length=30, data_format="channels_first", expand_dims=True),
    dict(mode="real", frame_length=33, data_format="channels_first"),
    dict(mode="imag", frame_length=16, padding="same", window="bartlett"),
    dict(mode="log", frame_length=16, window=None, scaling=None, padding="same", data_format="channels_first"),
]


def _signal(rng, kwargs, shape=(2, 300, 2)):
    x = rng.standard_normal(shape).astype("float32")
    return x.transpose(0, 2, 1) if kwargs.get("data_format") == "channels_first" else x


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", STFT_CASES, ids=lambda k: f"{k.get('mode', 'log')}-{k['frame_length']}")
def test_stft_spectrogram_matches_oracle(oracle, rng, kwargs):
    x = _signal(rng, kwargs)
    theirs, ours = oracle.layers.STFTSpectrogram(**kwargs), layers.STFTSpectrogram(**kwargs)
    expected = np.asarray(theirs(x))
    out = ours(x).detach().numpy()
    assert out.shape == expected.shape == tuple(theirs.compute_output_shape(x.shape))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=2e-5)
    assert [w.path.split("/")[-1] for w in theirs.weights] == [w.name for w in ours.weights]
    for a, b in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-6)


@pytest.mark.oracle
def test_stft_angle_and_trained_kernels_match_oracle(oracle, rng):
    x = _signal(rng, {})
    theirs = oracle.layers.STFTSpectrogram(mode="angle", frame_length=32, window="hann")
    ours = layers.STFTSpectrogram(mode="angle", frame_length=32, window="hann")
    theirs.build(x.shape)
    ours.build(x.shape)
    weights = [w + rng.standard_normal(w.shape).astype("float32") * 0.1 for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    expected, out = np.asarray(theirs(x)), ours(x).detach().numpy()
    # Compare on the circle: angles of +/-pi are the same phase.
    np.testing.assert_allclose(np.cos(out), np.cos(expected), atol=1e-5)
    np.testing.assert_allclose(np.sin(out), np.sin(expected), atol=1e-5)


def test_stft_kernels_are_trainable_weights():
    layer = layers.STFTSpectrogram(frame_length=16)
    x = torch.randn(2, 64, 1)
    layer(x).sum().backward()
    assert [w.name for w in layer.trainable_weights] == ["real_kernel", "imag_kernel"]
    assert layer.real_kernel.grad is not None and layer.real_kernel.shape == (16, 1, 9)
    frozen = layers.STFTSpectrogram(frame_length=16, mode="real", trainable=False)
    frozen(x)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 1


def test_stft_matches_torch_stft():
    # A rectangular, unscaled kernel is a plain DFT of each frame.
    x = torch.randn(1, 200, 1, dtype=torch.float64)
    layer = layers.STFTSpectrogram(mode="stft", frame_length=32, frame_step=8, window=None, scaling=None, dtype="float64")
    out = layer(x)[0]
    reference = torch.stft(
        x[0, :, 0], 32, hop_length=8, window=torch.ones(32, dtype=torch.float64), center=False, return_complex=True
    ).T
    torch.testing.assert_close(out[:, :17], reference.real)
    torch.testing.assert_close(out[:, 17:], reference.imag)


def test_windows_match_scipy():
    signal = pytest.importorskip("scipy.signal")
    for name in ("hann", "hamming", "blackman", "blackmanharris", "nuttall", "flattop", "boxcar", "triang", "bartlett", "cosine"):
        for length in (1, 7, 16):
            for periodic in (True, False):
                np.testing.assert_allclose(
                    _audio_ops.get_window(name, length, periodic), signal.get_window(name, length, periodic), atol=1e-12
                )


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_stft_symbolic_shapes(data_format):
    shape = (None, 2) if data_format == "channels_last" else (2, None)
    x = torch.randn((3, 200, 2) if data_format == "channels_last" else (3, 2, 200))
    for kwargs in ({}, {"expand_dims": True}, {"mode": "stft", "padding": "same"}):
        layer = layers.STFTSpectrogram(frame_length=32, data_format=data_format, **kwargs)
        eager = tuple(layer(x).shape)
        assert layer.compute_output_shape(tuple(x.shape)) == eager
        symbolic = tuple(layer(lamina.Input(shape)).shape)
        # The batch and the frame count stay unknown; the other axes are fixed.
        assert symbolic[0] is None and symbolic.count(None) == 2
        assert [d for d in symbolic if d is not None] == [d for d, s in zip(eager, symbolic) if s is not None]


def test_stft_rejects_bad_inputs():
    layer = layers.STFTSpectrogram(frame_length=16)
    with pytest.raises(ValueError, match="float"):
        layer(np.zeros((1, 64, 1), "int32"))
    with pytest.raises(ValueError, match="ndim|rank|dimension"):
        layers.STFTSpectrogram(frame_length=16)(np.zeros((64, 1), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="power"), "mode"),
        (dict(frame_length=16, frame_step=17), "frame_step"),
        (dict(frame_length=16, frame_step=0), "frame_step"),
        (dict(frame_length=16, fft_length=8), "fft_length"),
        (dict(scaling="l2"), "Scaling"),
        (dict(padding="causal"), "Padding"),
        (dict(window="gaussianish"), "window"),
        (dict(frame_length=4, window=[1.0, 2.0]), "window"),
        (dict(frame_length=0), "frame_length"),
    ],
)
def test_stft_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.STFTSpectrogram(**kwargs)


def test_stft_non_power_of_two_fft_warns():
    with pytest.warns(UserWarning, match="power of two"):
        layers.STFTSpectrogram(frame_length=16, fft_length=24)


@pytest.mark.oracle
def test_stft_config_round_trip(oracle):
    kwargs = dict(mode="psd", frame_length=40, frame_step=10, fft_length=64, window="hamming", periodic=True,
                  scaling="spectrum", padding="same", expand_dims=True, data_format="channels_first")
    ours, theirs = layers.STFTSpectrogram(**kwargs), oracle.layers.STFTSpectrogram(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert layers.STFTSpectrogram.from_config(ours.get_config()).get_config() == ours.get_config()
    assert layers.deserialize(oracle.layers.serialize(theirs)).get_config() == theirs.get_config()


MEL_CASES = [
    dict(fft_length=256, sequence_stride=64, num_mel_bins=32),
    dict(fft_length=200, sequence_length=120, sequence_stride=50, window="hamming", sampling_rate=11025,
         num_mel_bins=40, min_freq=50.0, max_freq=5000, mag_exp=1.0, power_to_db=False),
    dict(fft_length=128, sequence_stride=32, num_mel_bins=24, window=None, top_db=20.0, ref_power=3.0, min_power=1e-4),
]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", MEL_CASES, ids=["default", "linear-hamming", "rect-topdb"])
def test_mel_spectrogram_matches_oracle(oracle, rng, kwargs):
    x = rng.standard_normal((2, 1000)).astype("float32")
    theirs, ours = oracle.layers.MelSpectrogram(**kwargs), layers.MelSpectrogram(**kwargs)
    expected, out = np.asarray(theirs(x)), ours(x).numpy()
    assert out.shape == expected.shape == tuple(theirs.compute_output_shape(x.shape))
    # Keras forms its filterbank in float32, whose mel edges carry up to 4e-4 relative rounding
    # (Lamina's is exact to float32): hence rtol 1e-3 on powers, 5e-3 dB on decibels.
    if kwargs.get("power_to_db", True):
        np.testing.assert_allclose(out, expected, atol=5e-3)
    else:
        np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(ours(x[0]).numpy(), np.asarray(theirs(x[0])), atol=5e-3, rtol=1e-3)


@pytest.mark.oracle
def test_mel_filterbank_and_stft_match_oracle(oracle, rng):
    expected = np.asarray(oracle.layers.MelSpectrogram().linear_to_mel_weight_matrix(40, 129, 16000, 30.0, 7000.0))
    np.testing.assert_allclose(_audio_ops.linear_to_mel_weight_matrix(40, 129, 16000, 30.0, 7000.0), expected, atol=5e-5)
    x = rng.standard_normal((2, 500)).astype("float32")
    for args in ((120, 50, 200, "hamming"), (128, 32, 128, None), (64, 16, 64, "hann")):
        real, imag = _audio_ops.stft(torch.tensor(x), *args)
        their_real, their_imag = oracle.ops.stft(x, *args)
        np.testing.assert_allclose(real, np.asarray(their_real), atol=1e-5)
        np.testing.assert_allclose(imag, np.asarray(their_imag), atol=1e-5)


def test_mel_shapes_and_symbolic():
    layer = layers.MelSpectrogram(fft_length=256, sequence_stride=64, num_mel_bins=32)
    assert tuple(layer(lamina.Input((1000,))).shape) == (None, 32, 16)
    assert tuple(layer(np.zeros(1000, "float32")).shape) == (32, 16)
    assert layer.compute_output_shape((None, None)) == (None, 32, None)
    with pytest.raises(ValueError, match="mel_spectrogram"):
        layer(np.zeros((2, 3, 1000), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(fft_length=128, sequence_length=256), "sequence_length"),
        (dict(window="blackman"), "window"),
        (dict(sequence_stride=0), "sequence_stride"),
        (dict(num_mel_bins=1.5), "num_mel_bins"),
    ],
)
def test_mel_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.MelSpectrogram(**kwargs)


@pytest.mark.oracle
def test_mel_config_round_trip(oracle):
    kwargs = dict(fft_length=512, sequence_stride=100, sequence_length=400, window="hamming", sampling_rate=8000,
                  num_mel_bins=20, min_freq=0.0, power_to_db=False, top_db=60.0, mag_exp=1.0)
    ours, theirs = layers.MelSpectrogram(**kwargs), oracle.layers.MelSpectrogram(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert layers.MelSpectrogram.from_config(ours.get_config()).get_config() == ours.get_config()
    assert layers.deserialize(oracle.layers.serialize(theirs)).get_config() == theirs.get_config()
