"""``MelSpectrogram``: mel-scaled (and by default decibel) spectrograms of 1D signals."""

import numbers

import torch

from lamina.layers.layer import Layer
from lamina.ops._audio_math import linear_to_mel_weight_matrix, stft
from lamina.saving.object_registration import register_builtin


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {name}={value!r}")


def power_to_decibels(power, min_power, ref_power, top_db):
    """``10 * log10(power / ref_power)`` floored at ``min_power``, then at the largest value of
    the whole tensor minus ``top_db`` (as Keras, one floor for the whole batch)."""
    log_spec = 10.0 * torch.log10(torch.clamp(power, min=min_power))
    ref = torch.abs(torch.tensor(ref_power, dtype=power.dtype, device=power.device))
    log_spec = log_spec - 10.0 * torch.log10(torch.clamp(ref, min=min_power))
    if top_db is None:
        return log_spec
    return torch.maximum(log_spec, log_spec.max() - top_db)


@register_builtin("keras.layers")
class MelSpectrogram(Layer):
    """Converts raw audio signals to mel spectrograms.

    The signal is reflect-padded by ``fft_length // 2`` on each side and cut into frames of
    ``sequence_length`` samples every ``sequence_stride`` samples; each frame is multiplied by
    the (periodic) ``window`` and Fourier transformed with ``fft_length`` points. The magnitudes,
    raised to ``mag_exp``, are mapped to ``num_mel_bins`` triangular HTK mel filters spanning
    ``[min_freq, max_freq]`` and, with ``power_to_db``, converted to decibels relative to
    ``ref_power``, floored at ``min_power`` and at ``top_db`` below the maximum.

    Args:
        fft_length: FFT size (frequency bins ``fft_length // 2 + 1``). Defaults to 2048.
        sequence_stride: Hop between frames, in samples. Defaults to 512.
        sequence_length: Samples per frame, at most ``fft_length``. Defaults to ``fft_length``.
        window: ``"hann"`` (default), ``"hamming"``, an array of ``sequence_length`` values, or
            ``None`` (rectangular).
        sampling_rate: Sampling rate of the signal, in hertz. Defaults to 16000.
        num_mel_bins: Number of mel bands. Defaults to 128.
        min_freq: Lowest frequency of the filterbank, in hertz. Defaults to 20.
        max_freq: Highest frequency of the filterbank. Defaults to ``sampling_rate / 2``.
        power_to_db: Whether to convert to decibels. Defaults to ``True``.
        top_db: Dynamic range kept below the maximum, in decibels. Defaults to 80.
        mag_exp: Exponent of the magnitudes (1: magnitude, 2: power). Defaults to 2.
        min_power: Floor of the power before the logarithm. Defaults to ``1e-10``.
        ref_power: Power mapped to 0 dB. Defaults to 1.

    Input shape:
        1D ``(time,)`` (unbatched) or 2D ``(batch, time)`` float signals.

    Output shape:
        ``(num_mel_bins, frames)`` or ``(batch, num_mel_bins, frames)``, with
        ``frames = 1 + time // sequence_stride`` (for an even ``fft_length``).

    Example:

    >>> layer = lamina.layers.MelSpectrogram(fft_length=256, sequence_stride=64, num_mel_bins=32)
    >>> layer(np.random.rand(2, 1000).astype("float32")).shape
    torch.Size([2, 32, 16])
    """

    def __init__(
        self,
        fft_length=2048,
        sequence_stride=512,
        sequence_length=None,
        window="hann",
        sampling_rate=16000,
        num_mel_bins=128,
        min_freq=20.0,
        max_freq=None,
        power_to_db=True,
        top_db=80.0,
        mag_exp=2.0,
        min_power=1e-10,
        ref_power=1.0,
        **kwargs,
    ):
        _check_positive_int(fft_length, "fft_length")
        _check_positive_int(sequence_stride, "sequence_stride")
        _check_positive_int(num_mel_bins, "num_mel_bins")
        if sequence_length is not None:
            _check_positive_int(sequence_length, "sequence_length")
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(
                "`fft_length` must be greater than or equal to `sequence_length`. Received: "
                f"`sequence_length`={self.sequence_length}, `fft_length`={self.fft_length}."
            )
        if isinstance(window, str) and window not in ("hann", "hamming"):
            raise ValueError(
                f'If a string is passed to `window`, it must be one of `"hann"`, `"hamming"`. Received: window={window}'
            )
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        if inputs.dim() not in (1, 2):
            raise ValueError(
                f"Layer '{self.name}' expected a 1D signal (time,) or a 2D batch (batch, time). "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        # The STFT runs in float32 unless the layer computes in float64.
        dtype = torch.float64 if self._compute_torch_dtype == torch.float64 else torch.float32
        signals = inputs.to(dtype)
        real, imag = stft(signals, self.sequence_length, self.sequence_stride, self.fft_length, self.window)
        spectrum = torch.pow(torch.sqrt(torch.square(real) + torch.square(imag)), self.mag_exp)
        matrix = linear_to_mel_weight_matrix(
            self.num_mel_bins, spectrum.shape[-1], self.sampling_rate, self.min_freq, self.max_freq
        ).to(device=spectrum.device, dtype=spectrum.dtype)
        mel = torch.matmul(spectrum, matrix)
        if self.power_to_db:
            mel = power_to_decibels(mel, self.min_power, self.ref_power, self.top_db)
        return mel.transpose(-1, -2).to(self._compute_torch_dtype)

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (1, 2):
            raise ValueError(
                f"Layer '{self.name}' expected a 1D signal (time,) or a 2D batch (batch, time). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        time = input_shape[-1]
        if time is None:
            frames = None
        else:
            frames = (time + 2 * (self.fft_length // 2) - self.fft_length) // self.sequence_stride + 1
        return (*input_shape[:-1], self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "fft_length": self.fft_length,
                "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length,
                "window": self.window,
                "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins,
                "min_freq": self.min_freq,
                "max_freq": self.max_freq,
                "power_to_db": self.power_to_db,
                "top_db": self.top_db,
                "mag_exp": self.mag_exp,
                "min_power": self.min_power,
                "ref_power": self.ref_power,
            }
        )
        return config
