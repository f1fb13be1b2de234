"""Window functions and the STFT kernel: the math of ``initializers.STFT`` and ``STFTSpectrogram``.

The numbers follow Keras 3 (JAX backend): windows as ``scipy.signal.get_window`` defines them
(computed here without SciPy), and STFT kernels formed in the variable dtype with Keras's order of
operations, so the rounding of the phase ``-2 * pi * t * f / n`` is the same.
"""

import math

import numpy as np
import torch

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
