"""Window functions for signal processing: ``bartlett``, ``blackman``, ``hamming``, ``hanning``
and ``kaiser`` (re-exported by ``lamina.ops.numpy``).

Each takes the number of points ``x`` and returns a symmetric ``floatx()`` window peaking at 1,
computed in float64 before the cast. ``x == 1`` gives ``[1.0]``, ``x <= 0`` an empty window.
"""

import math

import torch

from lamina.backend.config import get_device
from lamina.ops._utils import floatx_dtype, public_names


def _points(x):
    """``n / (M - 1)`` for ``n`` in ``0..M-1`` (float64), or ``None`` for windows of < 2 points."""
    m = int(x)
    if m < 2:
        return None, max(m, 0)
    return torch.arange(m, dtype=torch.float64, device=get_device()) / (m - 1), m


def _window(x, fn):
    t, m = _points(x)
    if t is None:
        return torch.ones(m, dtype=floatx_dtype(), device=get_device())
    return fn(t).to(floatx_dtype())


def bartlett(x):
    """Bartlett (triangular) window of ``x`` points."""
    return _window(x, lambda t: 1.0 - torch.abs(2.0 * t - 1.0))


def blackman(x):
    """Blackman window of ``x`` points."""
    return _window(
        x, lambda t: 0.42 - 0.5 * torch.cos(2 * math.pi * t) + 0.08 * torch.cos(4 * math.pi * t)
    )


def hamming(x):
    """Hamming window of ``x`` points."""
    return _window(x, lambda t: 0.54 - 0.46 * torch.cos(2 * math.pi * t))


def hanning(x):
    """Hann window of ``x`` points."""
    return _window(x, lambda t: 0.5 - 0.5 * torch.cos(2 * math.pi * t))


def kaiser(x, beta):
    """Kaiser window of ``x`` points with shape parameter ``beta`` (0 gives a rectangle)."""
    beta = torch.as_tensor(float(beta), dtype=torch.float64, device=get_device())
    return _window(
        x,
        lambda t: torch.special.i0(beta * torch.sqrt((1.0 - (2.0 * t - 1.0) ** 2).clamp(min=0)))
        / torch.special.i0(beta),
    )


__all__ = public_names(globals(), __name__)
