"""``STFT``: the kernels of a short-time Fourier transform written as a convolution."""

import numpy as np
import torch

from lamina.initializers.initializer import Initializer, _output_spec, _register, _require_float
from lamina.ops.signal_windows import check_window_name, stft_kernel


@_register("stft", "STFTInitializer")
class STFT(Initializer):
    """Initializer of convolution kernels computing one side of a windowed DFT.

    For a kernel of shape ``(frame_length, 1, num_bins)``, entry ``(t, 0, f)`` is
    ``cos(-2 pi t f / n)`` (``side="real"``) or ``sin(-2 pi t f / n)`` (``side="imag"``), with
    ``n = 2 * (num_bins - 1)``, multiplied by the window and divided by the window's norm.
    Correlating a signal with the two kernels gives the real and imaginary parts of its STFT
    (bins ``0 .. n/2``; the others are their conjugates). `STFTSpectrogram` uses it.

    Args:
        side: ``"real"`` (default) or ``"imag"``.
        window: The name of a ``scipy.signal.windows`` window (``"hann"``, the default,
            ``"hamming"``, ``"blackman"``, ``"blackmanharris"``, ``"nuttall"``, ``"flattop"``,
            ``"boxcar"``, ``"triang"``, ``"bartlett"``, ``"cosine"``), an array of
            ``frame_length`` values, or `None` for no window.
        scaling: ``"density"`` (default: divide by the window's L2 norm), ``"spectrum"`` (its
            L1 norm) or `None`.
        periodic: Whether a named window is periodic (DFT-even) rather than symmetric.
            Defaults to `False`.

    Example:

    >>> initializer = lamina.initializers.STFT("real", "hann", "density", False)
    >>> initializer(shape=(128, 1, 65)).shape
    torch.Size([128, 1, 65])
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"Argument `side` should be 'real' or 'imag'. Received: side={side!r}")
        check_window_name(window)
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                "Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received "
                f"scaling={scaling!r}"
            )
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        shape, dtype, device = _output_spec(shape, dtype)
        _require_float(self, dtype)
        if len(shape) != 3:
            raise ValueError(
                "STFT initializer expects a shape (frame_length, input_channels, num_bins). "
                f"Received: shape={shape}"
            )
        frame_length, _, num_bins = shape
        if num_bins < 2:
            raise ValueError(f"STFT initializer needs at least 2 frequency bins. Received: shape={shape}")
        kernel = stft_kernel(
            self.side, self.window, self.scaling, self.periodic, frame_length, num_bins, dtype
        )
        return kernel.to(device).expand(shape).clone()

    def get_config(self):
        window = self.window
        if isinstance(window, (np.ndarray, torch.Tensor)):
            window = np.asarray(window).tolist()
        return {
            "side": self.side,
            "window": window,
            "periodic": self.periodic,
            "scaling": self.scaling,
        }
