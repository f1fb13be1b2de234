"""Signal math shared by ``ops`` and the audio layers: window functions, framed STFT, STFT kernels, mel filterbank.

The numbers follow Keras 3 (JAX backend): windows as ``scipy.signal.get_window`` defines them,
STFT kernels formed in the variable dtype with Keras's order of operations (so the rounding of
the phase ``-2 * pi * t * f / n`` is the same), and HTK mel filters with peak 1.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

# Generalized cosine windows: w[n] = sum_k a_k cos(k x_n), x_n evenly spaced on [-pi, pi].
_COSINE_COEFFICIENTS = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.50, 0.08),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
    "nuttall": (0.3635819, 0.4891775, 0.1365995, 0.0106411),
    "flattop": (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368),
}

_WINDOW_ALIASES = {
    "hann": ("hann", "han"),
    "hamming": ("hamming", "hamm", "ham"),
    "blackman": ("blackman", "black", "blk"),
    "blackmanharris": ("blackmanharris", "blackharr", "bkh"),
    "nuttall": ("nuttall", "nutl", "nut"),
    "flattop": ("flattop", "flat", "flt"),
    "boxcar": ("boxcar", "box", "ones", "rect", "rectangular"),
    "triang": ("triang", "triangle", "tri"),
    "bartlett": ("bartlett", "bart", "brt"),
    "cosine": ("cosine", "halfcosine"),
}
_CANONICAL_WINDOW = {alias: name for name, aliases in _WINDOW_ALIASES.items() for alias in aliases}
WINDOW_NAMES = tuple(_WINDOW_ALIASES)


def check_window_name(window):
    """Raise ``ValueError`` for a window name this module does not know."""
    if isinstance(window, str) and window not in _CANONICAL_WINDOW:
        raise ValueError(f"Unknown window type {window!r}. Expected one of {WINDOW_NAMES} (or an array).")


def _symmetric_window(name, length):
    if length == 1:
        return np.ones(1)
    n = np.arange(length, dtype=np.float64)
    if name in _COSINE_COEFFICIENTS:
        x = np.linspace(-math.pi, math.pi, length)
        return sum(a * np.cos(k * x) for k, a in enumerate(_COSINE_COEFFICIENTS[name]))
    if name == "boxcar":
        return np.ones(length)
    if name == "bartlett":
        half = (length - 1) / 2.0
        return np.where(n <= half, 2.0 * n / (length - 1), 2.0 - 2.0 * n / (length - 1))
    if name == "cosine":
        return np.sin(math.pi / length * (n + 0.5))
    # triang: a triangle that does not reach zero at the ends.
    k = np.arange(1, (length + 1) // 2 + 1, dtype=np.float64)
    if length % 2 == 0:
        rise = (2 * k - 1.0) / length
        return np.concatenate([rise, rise[::-1]])
    rise = 2 * k / (length + 1.0)
    return np.concatenate([rise, rise[-2::-1]])


def get_window(window, length, periodic=True):
    """A float64 numpy window of ``length`` samples (``scipy.signal.get_window`` semantics).

    ``periodic=True`` gives the DFT-even window (the symmetric one of ``length + 1`` samples
    without its last sample), the choice for spectral analysis.
    """
    check_window_name(window)
    name = _CANONICAL_WINDOW[window]
    if length <= 1:
        return np.ones(max(length, 0))
    if periodic:
        return _symmetric_window(name, length + 1)[:-1]
    return _symmetric_window(name, length)


def window_tensor(window, length, periodic, dtype, device=None):
    if isinstance(window, str):
        window = get_window(window, length, periodic)
    win = torch.as_tensor(np.asarray(window), device=device).to(dtype)
    if win.dim() != 1 or win.shape[0] != length:
        raise ValueError(
            f"The shape of `window` must be equal to [{length}]. Received: window shape={tuple(win.shape)}"
        )
    return win


def stft_kernel(side, window, scaling, periodic, frame_length, num_bins, dtype=torch.float32):
    """The ``(frame_length, 1, num_bins)`` kernel whose correlation with a signal gives the real
    (``cos``) or imaginary (``-sin``) part of its windowed DFT, bins ``0 .. num_bins - 1`` of an
    FFT of length ``2 * (num_bins - 1)``.

    ``scaling="density"`` divides by the window's L2 norm, ``"spectrum"`` by its L1 norm.
    """
    fft_length = (num_bins - 1) * 2
    freq = torch.arange(num_bins, dtype=dtype).reshape(1, 1, num_bins) / fft_length
    time = torch.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
    # Same association as Keras, ((-2 * t) * f) * pi, for the same float rounding of the phase.
    phase = (-2 * time) * freq * torch.tensor(math.pi, dtype=dtype)
    kernel = torch.cos(phase) if side == "real" else torch.sin(phase)
    if window is None:
        return kernel
    win = window_tensor(window, frame_length, periodic, dtype).reshape(frame_length, 1, 1)
    if scaling == "density":
        norm = torch.sqrt(torch.sum(torch.square(win)))
    elif scaling == "spectrum":
        norm = torch.sum(torch.abs(win))
    else:
        norm = 1
    return kernel * win / norm


def strided_correlation(signals, kernel, stride, padding):
    """Correlate ``(n, time)`` signals with a ``(frame_length, 1, bins)`` kernel.

    Returns ``(n, bins, frames)``. ``"same"`` padding gives ``ceil(time / stride)`` frames, the
    extra zeros split with the smaller half first (as Keras's convolutions pad).
    """
    frame_length = kernel.shape[0]
    x = signals.unsqueeze(1)
    if padding == "same":
        time = signals.shape[-1]
        frames = -(-time // stride)
        total = max((frames - 1) * stride + frame_length - time, 0)
        x = F.pad(x, (total // 2, total - total // 2))
    weight = kernel.to(signals.dtype).permute(2, 1, 0)
    return F.conv1d(x, weight, stride=stride)


def stft(signals, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Real and imaginary parts of the STFT of ``(..., time)`` signals, ``(..., frames, bins)``.

    Frames of ``sequence_length`` samples every ``sequence_stride``, each multiplied by the
    (periodic) window, zero-padded evenly to ``fft_length`` and transformed. ``center=True``
    first reflect-pads ``fft_length // 2`` samples on each side, so frame ``t`` is centred on
    sample ``t * sequence_stride``.
    """
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise ValueError(
            'If a string is passed to `window`, it must be one of `"hann"`, `"hamming"`. '
            f"Received: window={window}"
        )
    lead = signals.shape[:-1]
    x = signals.reshape(-1, signals.shape[-1])
    if center:
        half = fft_length // 2
        x = F.pad(x.unsqueeze(1), (half, half), mode="reflect").squeeze(1)
    left = (fft_length - sequence_length) // 2
    if window is None:
        win = torch.ones(fft_length, dtype=x.dtype, device=x.device)
    else:
        win = window_tensor(window, sequence_length, True, x.dtype, x.device)
        win = F.pad(win, (left, fft_length - sequence_length - left))
    frames = x.unfold(-1, fft_length, sequence_stride) * win
    spectrum = torch.fft.rfft(frames, n=fft_length, dim=-1)
    spectrum = spectrum.reshape(*lead, *spectrum.shape[-2:])
    return spectrum.real, spectrum.imag


def _hertz_to_mel(frequencies):
    return 1127.0 * torch.log(1.0 + frequencies / 700.0)


def linear_to_mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz, upper_edge_hertz):
    """The float32 ``(num_spectrogram_bins, num_mel_bins)`` HTK mel filterbank (formed in float64:
    the mel edges are differences of large logarithms, so float32 would add rounding noise).

    Bin ``i`` of the spectrogram lies at ``i * sampling_rate / (2 * (num_spectrogram_bins - 1))``
    hertz; the filters are triangles, linear on the mel scale ``1127 * ln(1 + f / 700)``, peaking
    at 1, whose edges split ``[lower_edge_hertz, upper_edge_hertz]`` into ``num_mel_bins + 2``
    equal mel steps. The DC bin gets no weight.
    """
    dtype = torch.float64
    linear = torch.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins, dtype=dtype)
    bins_mel = _hertz_to_mel(linear[1:]).unsqueeze(1)
    low = _hertz_to_mel(torch.tensor(lower_edge_hertz, dtype=dtype))
    high = _hertz_to_mel(torch.tensor(upper_edge_hertz, dtype=dtype))
    edges = torch.linspace(float(low), float(high), num_mel_bins + 2, dtype=dtype)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return F.pad(weights, (0, 0, 1, 0)).to(torch.float32)
