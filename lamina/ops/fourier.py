"""Fourier transforms (``keras.ops`` math): fft, fft2, ifft2, rfft, irfft, stft and istft.

As in Keras, complex values travel as ``(real, imag)`` pairs of float tensors of one shape: the
transforms take and return such pairs (``irfft`` and ``istft`` return a real tensor).
"""

import torch
import torch.nn.functional as F

from lamina.ops import _audio_math
from lamina.ops._utils import public_names, tensor, to_float


def _complex_from_pair(x):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            f"Input `x` should be a tuple of two tensors - real and imaginary. Received: x={x!r}"
        )
    real, imag = tensor(x[0]), tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(
            "Input `x` should be a tuple of two tensors - real and imaginary. Both the real and "
            f"imaginary parts should have the same shape. Received: x[0].shape = "
            f"{tuple(real.shape)}, x[1].shape = {tuple(imag.shape)}"
        )
    if not (real.is_floating_point() and imag.is_floating_point()):
        raise ValueError(
            f"At least one tensor in input `x` is not of type float. Received: {real.dtype}, {imag.dtype}"
        )
    if real.dtype != imag.dtype:
        common = torch.promote_types(real.dtype, imag.dtype)
        real, imag = real.to(common), imag.to(common)
    return torch.complex(real, imag.to(real.device))


def _pair(z):
    return z.real, z.imag


def fft(x):
    """Fast Fourier transform along the last axis of ``x = (real, imag)``.

    Returns:
        ``(real, imag)`` of the transform.
    """
    return _pair(torch.fft.fft(_complex_from_pair(x)))


def fft2(x):
    """2-D fast Fourier transform over the last two axes of ``x = (real, imag)``."""
    return _pair(torch.fft.fft2(_complex_from_pair(x)))


def ifft2(x):
    """Inverse 2-D fast Fourier transform over the last two axes of ``x = (real, imag)``."""
    return _pair(torch.fft.ifft2(_complex_from_pair(x)))


def rfft(x, fft_length=None):
    """Fourier transform of a real signal along its last axis.

    Args:
        x: Real tensor.
        fft_length: Transform length (default: the last axis' size); the signal is cropped or
            zero-padded to it.

    Returns:
        ``(real, imag)`` of the ``fft_length // 2 + 1`` non-negative frequency bins.
    """
    return _pair(torch.fft.rfft(to_float(x), n=fft_length))


def irfft(x, fft_length=None):
    """Inverse of ``rfft``: a real signal of ``fft_length`` samples from ``x = (real, imag)``.

    ``fft_length`` defaults to ``2 * (bins - 1)``.
    """
    return torch.fft.irfft(_complex_from_pair(x), n=fft_length)


def _check_stft_args(sequence_length, fft_length, window):
    if fft_length < sequence_length:
        raise ValueError(
            "`fft_length` must equal or larger than `sequence_length`. "
            f"Received: sequence_length={sequence_length}, fft_length={fft_length}"
        )
    if isinstance(window, str) and window not in ("hann", "hamming"):
        raise ValueError(
            f'If a string is passed to `window`, it must be one of "hann", "hamming". Received: window={window}'
        )


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis.

    Args:
        x: ``(..., time)`` real signals.
        sequence_length: Frame length (samples).
        sequence_stride: Hop between frames.
        fft_length: FFT size (>= ``sequence_length``); frames are zero-padded evenly to it.
        window: ``"hann"``, ``"hamming"`` (periodic), a 1-D tensor of ``sequence_length``
            values, or ``None``.
        center: Reflect-pad ``fft_length // 2`` samples at both ends so frame ``t`` is centred
            on sample ``t * sequence_stride``.

    Returns:
        ``(real, imag)``, each ``(..., frames, fft_length // 2 + 1)``.
    """
    _check_stft_args(sequence_length, fft_length, window)
    return _audio_math.stft(to_float(x), sequence_length, sequence_stride, fft_length, window, center)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """Inverse short-time Fourier transform: the signal whose ``stft`` is ``x = (real, imag)``.

    Frames are inverted, windowed and overlap-added, then divided by the overlap-added squared
    window (where it is not ~0), as SciPy's ``istft`` does.

    Args:
        x: ``(real, imag)``, each ``(..., frames, fft_length // 2 + 1)``.
        sequence_length, sequence_stride, fft_length, window, center: As given to ``stft``.
        length: Output length (default: all samples, less the ``center`` padding).

    Returns:
        ``(..., samples)`` real tensor.
    """
    z = _complex_from_pair(x)
    if z.ndim < 2:
        raise ValueError(f"Input `x` must have at least 2 dimensions. Received shape: {tuple(z.shape)}")
    _check_stft_args(sequence_length, fft_length, window)
    dtype, device = z.real.dtype, z.device
    frames = z.shape[-2]
    total = fft_length + sequence_stride * (frames - 1)
    left = (fft_length - sequence_length) // 2
    if window is None:
        win = torch.ones(fft_length, dtype=dtype, device=device)
    else:
        win = _audio_math.window_tensor(window, sequence_length, True, dtype, device)
        win = F.pad(win, (left, fft_length - sequence_length - left))
    segments = torch.fft.irfft(z, n=fft_length) * win
    lead = segments.shape[:-2]
    segments = segments.reshape(-1, frames, fft_length)
    signal = _overlap_add(segments, sequence_stride, total)
    norm = _overlap_add(torch.square(win).expand(1, frames, fft_length), sequence_stride, total)[0]
    # SciPy rescales by the window sum ("spectrum" scaling) before normalizing; Keras then
    # divides by the window sum again, or by the stride without a window.
    signal = signal * win.sum() / torch.where(norm > 1e-10, norm, torch.ones_like(norm))
    signal = signal / (win.sum() if window is not None else sequence_stride)
    signal = signal.reshape(*lead, total)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return signal[..., start:end]


def _overlap_add(segments, stride, total):
    """Sum ``(n, frames, size)`` segments placed every ``stride`` samples into ``(n, total)``."""
    n, frames, size = segments.shape
    return F.fold(
        segments.transpose(1, 2), output_size=(1, total), kernel_size=(1, size), stride=(1, stride)
    ).reshape(n, total)


__all__ = public_names(globals(), __name__)
