"""More element-wise NumPy functions: angles and complex parts, IEEE helpers (``fmax``, ``fmod``,
``nextafter``, ``ldexp``), log-sum-exp pairs, integer ``gcd``/``lcm`` and closeness tests
(re-exported by ``lamina.ops.numpy``).

Dtypes follow Keras: functions of real numbers give ``floatx()`` for integer and boolean inputs,
functions that only compare or pick (``fmax``, ``copy``, ``real``) keep the promoted input dtype.
"""

import math

import torch

from lamina.ops._utils import promote, public_names, tensor, to_float


def _float_pair(x1, x2):
    return promote(x1, x2, force_float=True)


def _require_integers(name, *values):
    for v in values:
        if v.is_floating_point() or v.is_complex() or v.dtype == torch.bool:
            raise ValueError(f"`{name}` takes integer inputs only. Received a tensor of dtype {v.dtype}.")


# --------------------------------------------------------------------------- one input


def angle(x):
    """Counter-clockwise angle of each (complex) value from the positive real axis, in radians."""
    x = to_float(x)
    if x.is_complex():
        return torch.angle(x)
    # atan2(0, x) is pi for negative x (and -0.0), 0 otherwise, NaN for NaN, as NumPy.
    return torch.atan2(torch.zeros_like(x), x)


def cbrt(x):
    """Element-wise real cube root (negative inputs give negative roots)."""
    x = to_float(x)
    return torch.sign(x) * torch.pow(torch.abs(x), 1.0 / 3.0)


def conj(x):
    """Element-wise complex conjugate (real inputs are returned as they are)."""
    x = tensor(x)
    return torch.conj_physical(x) if x.is_complex() else x


conjugate = conj


def real(x):
    """Real part of each element (real inputs are returned as they are)."""
    x = tensor(x)
    return torch.real(x) if x.is_complex() else x


def imag(x):
    """Imaginary part of each element (zeros of the input dtype for real inputs)."""
    x = tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def copy(x):
    """A copy of ``x`` that shares no memory with it."""
    return tensor(x).clone()


def deg2rad(x):
    """Convert angles from degrees to radians."""
    return to_float(x) * (math.pi / 180.0)


def rad2deg(x):
    """Convert angles from radians to degrees."""
    return to_float(x) * (180.0 / math.pi)


def exp2(x):
    """Element-wise ``2 ** x``."""
    return torch.exp2(to_float(x))


def fabs(x):
    """Element-wise absolute value as a float (integer inputs give ``floatx()``)."""
    return torch.abs(to_float(x))


def i0(x):
    """Modified Bessel function of the first kind, order 0."""
    x = to_float(x)
    if x.dtype in (torch.float16, torch.bfloat16):
        # Torch lacks half-precision kernels for i0 on some devices; compute in float32.
        return torch.special.i0(x.float()).to(x.dtype)
    return torch.special.i0(x)


def isneginf(x):
    """Element-wise test for negative infinity."""
    return torch.isneginf(tensor(x))


def isposinf(x):
    """Element-wise test for positive infinity."""
    return torch.isposinf(tensor(x))


def isreal(x):
    """Element-wise test for a zero imaginary part (always True for real dtypes)."""
    return torch.isreal(tensor(x))


def signbit(x):
    """Element-wise test for a set sign bit (True for negative values and -0.0)."""
    x = tensor(x)
    if x.dtype == torch.bool:
        return torch.zeros_like(x)
    return torch.signbit(x)


def sinc(x):
    """Normalized sinc: ``sin(pi x) / (pi x)``, 1 at 0."""
    return torch.sinc(to_float(x))


# --------------------------------------------------------------------------- two inputs


def fmax(x1, x2):
    """Element-wise maximum that ignores NaN (the other value wins; NaN only if both are NaN)."""
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        return torch.logical_or(x1, x2)
    return torch.fmax(x1, x2)


def fmin(x1, x2):
    """Element-wise minimum that ignores NaN (the other value wins; NaN only if both are NaN)."""
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        return torch.logical_and(x1, x2)
    return torch.fmin(x1, x2)


def fmod(x1, x2):
    """Element-wise remainder with the sign of the dividend (C's ``fmod``); booleans as int32."""
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        x1, x2 = x1.to(torch.int32), x2.to(torch.int32)
    return torch.fmod(x1, x2)


def heaviside(x1, x2):
    """Heaviside step: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``."""
    x1, x2 = _float_pair(x1, x2)
    # NaN stays NaN (torch.heaviside would give 0).
    return torch.where(torch.isnan(x1), x1, torch.heaviside(x1, x2))


def hypot(x1, x2):
    """Element-wise ``sqrt(x1**2 + x2**2)`` without intermediate overflow."""
    x1, x2 = _float_pair(x1, x2)
    return torch.hypot(x1, x2)


def ldexp(x1, x2):
    """Element-wise ``x1 * 2**x2``; ``x2`` must be integers, the result has ``x1``'s float dtype."""
    x1 = to_float(x1)
    x2 = tensor(x2)
    if x2.is_floating_point() or x2.is_complex():
        raise ValueError(f"`ldexp` needs integer exponents `x2`. Received dtype {x2.dtype}.")
    return torch.ldexp(x1, x2.to(x1.device)).to(x1.dtype)


def logaddexp(x1, x2):
    """Element-wise ``log(exp(x1) + exp(x2))``, computed stably."""
    x1, x2 = _float_pair(x1, x2)
    return torch.logaddexp(x1, x2)


def logaddexp2(x1, x2):
    """Element-wise ``log2(2**x1 + 2**x2)``, computed stably."""
    x1, x2 = _float_pair(x1, x2)
    return torch.logaddexp2(x1, x2)


def nextafter(x1, x2):
    """The next representable float after ``x1`` in the direction of ``x2``."""
    x1, x2 = _float_pair(x1, x2)
    return torch.nextafter(x1, x2)


def divide_no_nan(x1, x2):
    """Element-wise ``x1 / x2``, with 0 wherever ``x2`` is 0 (instead of inf or NaN)."""
    x1, x2 = _float_pair(x1, x2)
    zero = x2 == 0
    # Divide by 1 where x2 is 0 so the unused branch has no inf/NaN to poison gradients.
    return torch.where(zero, torch.zeros_like(x1), x1 / torch.where(zero, torch.ones_like(x2), x2))


def gcd(x1, x2):
    """Element-wise greatest common divisor of integers."""
    x1, x2 = promote(x1, x2)
    _require_integers("gcd", x1)
    return torch.gcd(x1, x2)


def lcm(x1, x2):
    """Element-wise least common multiple of integers."""
    x1, x2 = promote(x1, x2)
    _require_integers("lcm", x1)
    return torch.lcm(x1, x2)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether all elements satisfy ``|x1 - x2| <= atol + rtol * |x2|`` (a boolean scalar tensor)."""
    x1, x2 = promote(x1, x2)
    return torch.all(torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isin(x1, x2, assume_unique=False, invert=False):
    """Element-wise test whether each value of ``x1`` occurs anywhere in ``x2`` (same shape as
    ``x1``). ``assume_unique`` is accepted for NumPy compatibility; it does not change results."""
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:  # torch.isin has no boolean kernel
        x1, x2 = x1.to(torch.uint8), x2.to(torch.uint8)
    return torch.isin(x1, x2.reshape(-1), invert=invert)


__all__ = public_names(globals(), __name__)
