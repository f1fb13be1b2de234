"""Signal math of the audio layers: framed STFT, strided correlation, mel filterbank.

The numbers follow Keras 3 (JAX backend), with HTK mel filters with peak 1. The window functions
and STFT kernels live in ``lamina.ops.signal_windows`` (``initializers.STFT`` needs them too).
"""

import torch
import torch.nn.functional as F

from lamina.ops.signal_windows import (  # noqa: F401  (re-exported for the audio layers)
    WINDOW_NAMES,
    window_tensor,
    check_window_name,
    get_window,
    stft_kernel,
)


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
