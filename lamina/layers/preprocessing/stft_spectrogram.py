"""``STFTSpectrogram``: spectrograms of 1D signals through trainable STFT kernels."""

import math
import numbers
import warnings

import numpy as np
import torch

from lamina.backend.config import epsilon, standardize_data_format
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops._audio_math import check_window_name, stft_kernel, strided_correlation
from lamina.saving.object_registration import register_builtin

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class InputDtypeError(TypeError, ValueError):
    """A non-float signal: Keras raises ``TypeError``; Lamina's rule is ``ValueError``, so both."""


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


@register_builtin("keras.layers")
class STFTSpectrogram(Layer):
    """Computes the Short-Time Fourier Transform of 1D signals as a spectrogram.

    Each channel of the signal is correlated, every ``frame_step`` samples, with two kernels of
    ``frame_length`` samples, ``real_kernel`` (windowed cosines) and ``imag_kernel`` (windowed
    negated sines), one column per FFT bin ``0 .. fft_length // 2``: the real and imaginary
    parts of the windowed DFT of each frame. The kernels are weights, trainable by default, so
    the transform can be fine-tuned; pass ``trainable=False`` for a fixed preprocessing step.

    Args:
        mode: The output: ``"log"`` (default, log magnitude), ``"magnitude"``, ``"psd"`` (power
            spectral density, one-sided), ``"real"``, ``"imag"``, ``"angle"`` (phase) or
            ``"stft"`` (real parts then imaginary parts).
        frame_length: Samples per frame (window). Defaults to 256.
        frame_step: Hop between frames, in ``[1, frame_length]``. Defaults to
            ``frame_length // 2``.
        fft_length: FFT size, at least ``frame_length`` (a power of two is recommended).
            Defaults to the smallest power of two not below ``frame_length``.
        window: ``"hann"`` (default), ``"hamming"``, another ``scipy.signal`` window name
            (``"blackman"``, ``"bartlett"``, ``"boxcar"``, ...), an array of ``frame_length``
            values, or ``None``.
        periodic: Whether a named window is periodic (DFT-even) rather than symmetric.
            Defaults to ``False``.
        scaling: ``"density"`` (default, divide by the window's L2 norm), ``"spectrum"`` (its L1
            norm) or ``None``.
        padding: ``"valid"`` (default) or ``"same"``.
        expand_dims: Whether to keep frequency and channels as separate axes (an image-like
            output). Defaults to ``False``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D float tensor ``(batch, time, channels)`` (``channels_last``) or
        ``(batch, channels, time)`` (``channels_first``).

    Output shape:
        ``(batch, frames, channels * bins)`` (``channels_last``) or
        ``(batch, channels * bins, frames)``; with ``expand_dims``,
        ``(batch, frames, bins, channels)`` or ``(batch, channels, frames, bins)``. ``bins`` is
        ``fft_length // 2 + 1`` (twice that for ``mode="stft"``).

    Example:

    >>> layer = lamina.layers.STFTSpectrogram(frame_length=64, fft_length=128, trainable=False)
    >>> layer(np.random.rand(2, 1000, 1).astype("float32")).shape
    torch.Size([2, 14, 65])
    """

    def __init__(
        self,
        mode="log",
        frame_length=256,
        frame_step=None,
        fft_length=None,
        window="hann",
        periodic=False,
        scaling="density",
        padding="valid",
        expand_dims=False,
        data_format=None,
        **kwargs,
    ):
        frame_length = _positive_int(frame_length, "frame_length")
        if frame_step is not None:
            _positive_int(frame_step, "frame_step")
            if frame_step > frame_length:
                raise ValueError(
                    "`frame_step` should be a positive integer not greater than `frame_length`. "
                    f"Received frame_step={frame_step}, frame_length={frame_length}"
                )
        if fft_length is not None:
            _positive_int(fft_length, "fft_length")
            if fft_length < frame_length:
                raise ValueError(
                    "`fft_length` should be not less than `frame_length`. "
                    f"Received fft_length={fft_length}, frame_length={frame_length}"
                )
            if fft_length & (fft_length - 1):
                warnings.warn(f"`fft_length` is recommended to be a power of two. Received fft_length={fft_length}")
        if mode not in _MODES:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(_MODES)}. Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                f"Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received scaling={scaling}"
            )
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: padding={padding}")
        check_window_name(window)
        if window is not None and not isinstance(window, str):
            window_shape = np.shape(window)
            if window_shape != (frame_length,):
                raise ValueError(
                    f"The shape of `window` must be equal to [frame_length]. Received: window shape={window_shape}"
                )
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def _kernel_initializer(self, side):
        def initialize(shape, dtype=None):
            return stft_kernel(
                side, self.window, self.scaling, self.periodic, shape[0], shape[2], to_torch_dtype(dtype or "float32")
            )

        return initialize

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape, initializer=self._kernel_initializer("real")
            )
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape, initializer=self._kernel_initializer("imag")
            )
        self.built = True

    def _correlate(self, signals, kernel):
        """``(batch, channels, bins, frames)`` from ``(batch, channels, time)`` signals."""
        batch, channels, time = signals.shape
        out = strided_correlation(signals.reshape(-1, time), kernel, self._frame_step, self.padding)
        return out.reshape(batch, channels, out.shape[1], out.shape[2])

    def _arrange(self, outputs):
        batch, channels, bins, frames = outputs.shape
        if self.expand_dims:
            return outputs.permute(0, 3, 2, 1) if self.data_format == "channels_last" else outputs.transpose(2, 3)
        flat = outputs.reshape(batch, channels * bins, frames)
        return flat.transpose(1, 2) if self.data_format == "channels_last" else flat

    def call(self, inputs):
        if inputs.dtype not in (torch.float16, torch.float32, torch.float64):
            raise InputDtypeError(
                f"Layer '{self.name}' expects a float16, float32 or float64 signal. "
                f"Received: input type={inputs.dtype}"
            )
        signals = inputs.transpose(1, 2) if self.data_format == "channels_last" else inputs
        real = self._correlate(signals, self.real_kernel) if self.mode != "imag" else None
        imag = self._correlate(signals, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._arrange(real)
        if self.mode == "imag":
            return self._arrange(imag)
        if self.mode == "angle":
            return self._arrange(torch.atan2(imag, real))
        if self.mode == "stft":
            return self._arrange(torch.cat([real, imag], dim=2))
        power = torch.square(real) + torch.square(imag)
        if self.mode == "psd":
            # One-sided density: every bin but DC and Nyquist also carries its negative twin.
            doubled = torch.nn.functional.pad(power[:, :, 1:-1], (0, 0, 1, 1))
            return self._arrange(power + doubled)
        magnitude = self._arrange(torch.sqrt(torch.clamp(power, min=epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return torch.log(torch.clamp(magnitude, min=epsilon()))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer '{self.name}' expected a 3D input. Received: input_shape={tuple(input_shape)}"
            )
        if self.data_format == "channels_last":
            batch, time, channels = input_shape
        else:
            batch, channels, time = input_shape
        bins = self._fft_length // 2 + 1
        if self.mode == "stft":
            bins *= 2
        if time is None:
            frames = None
        elif self.padding == "same":
            frames = -(-time // self._frame_step)
        else:
            frames = (time - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            if self.data_format == "channels_last":
                return (batch, frames, bins, channels)
            return (batch, channels, frames, bins)
        features = None if channels is None else channels * bins
        if self.data_format == "channels_last":
            return (batch, frames, features)
        return (batch, features, frames)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "frame_length": self.frame_length,
                "frame_step": self.frame_step,
                "fft_length": self.fft_length,
                "window": self.window,
                "periodic": self.periodic,
                "scaling": self.scaling,
                "padding": self.padding,
                "data_format": self.data_format,
                "expand_dims": self.expand_dims,
            }
        )
        return config
