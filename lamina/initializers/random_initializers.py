"""Initializers drawing random values: normal, uniform, variance scaling and orthogonal.

Seeds follow Keras 3: an integer seed, or ``seed=None`` (a seed drawn once, when the initializer
is made, from Lamina's global generator), gives the same values on every call; a
``SeedGenerator`` gives new values on each call.
"""

import math

import numpy as np
import torch

from lamina.backend.random import SeedGenerator, draw_seed, make_generator
from lamina.initializers.initializer import (
    Initializer,
    _known_shape,
    _output_spec,
    _register,
    _require_float,
    _work_dtype,
)

# Standard deviation of a unit normal truncated to [-2, 2]: sqrt(1 - 4 * pdf(2) / (cdf(2) - cdf(-2))).
# Dividing by it makes the *truncated* samples have the requested standard deviation.
_TRUNCATED_STDDEV_FACTOR = 0.87962566103423978
# Unit normal CDF at -2 and 2: the range of uniform draws mapped back through the normal quantile.
_CDF_LOW = 0.5 * math.erfc(2.0 / math.sqrt(2.0))
_CDF_HIGH = 1.0 - _CDF_LOW

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


def _compute_fans(shape, input_axes=None, output_axes=None):
    """Number of input and output units of a weight of the given shape.

    With both ``input_axes`` and ``output_axes`` given, the fans are the products of those dimensions.
    Otherwise a rank-1 shape counts its length both ways, a rank-2 shape is ``(fan_in, fan_out)``, and
    higher ranks are convolution kernels ``(*spatial, in, out)`` whose spatial size multiplies both.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


def _serialize_seed(seed):
    if isinstance(seed, SeedGenerator):
        return {
            "module": "keras.random",
            "class_name": "SeedGenerator",
            "config": {"seed": seed.seed, "name": "seed_generator"},
            "registered_name": None,
        }
    if getattr(seed, "_is_lamina_seed_generator", False):
        return {
            "module": "keras.random",
            "class_name": "SeedGenerator",
            "config": seed.get_config(),
            "registered_name": None,
        }
    return seed


def _deserialize_seed(seed):
    if isinstance(seed, dict) and seed.get("class_name") == "SeedGenerator":
        return SeedGenerator((seed.get("config") or {}).get("seed"))
    return seed



class _RandomInitializer(Initializer):
    """Shared seed handling of the random initializers.

    Args:
        seed: A Python integer, a ``SeedGenerator`` or ``None`` (a seed drawn once, now).
    """

    def __init__(self, seed=None):
        self._seed_argument = seed
        if seed is None:
            seed = draw_seed()
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = int(seed)
            self._seed_argument = seed
        elif not isinstance(seed, SeedGenerator) and not getattr(seed, "_is_lamina_seed_generator", False):
            raise ValueError(
                "Argument `seed` must be an integer, a `SeedGenerator` or None. "
                f"Received: seed={seed!r}"
            )
        self.seed = seed

    def _generator(self, device):
        if getattr(self.seed, "_is_lamina_seed_generator", False):
            # `lamina.random.SeedGenerator`: each call takes the next seed of its state variable.
            from lamina.backend.seed_generator import draw_seed as next_seed

            return make_generator(next_seed(self.seed), device=device)
        if isinstance(self.seed, SeedGenerator):
            # A seed generator's stream continues from call to call: new values each time.
            return self.seed.generator(device)
        return make_generator(self.seed, device=device)

    def _sample(self, kind, shape, a, b, dtype=None):
        """Draw ``kind`` ("normal", "truncated_normal" or "uniform") samples.

        ``a, b`` are ``(mean, stddev)`` for the normals and ``(minval, maxval)`` for the uniform.
        """
        shape, dtype, device = _output_spec(shape, dtype)
        _require_float(self, dtype)
        return self._draw(kind, shape, dtype, a, b, self._generator(device), device)

    def _draw(self, kind, shape, dtype, a, b, gen, device):
        """Draw ``shape`` samples from ``gen``, the samples elementwise from its stream.

        ``initializers._local_shard`` draws a big tensor in pieces through this: the same
        generator, pieces of whole 16-sample blocks (torch's CPU normal sampler pairs the draws
        within such blocks), the same values as one draw."""
        work = _work_dtype(dtype)
        if kind == "normal":
            out = torch.randn(shape, generator=gen, dtype=work, device=device).mul_(b).add_(a)
        elif kind == "uniform":
            out = torch.rand(shape, generator=gen, dtype=work, device=device).mul_(b - a).add_(a)
        else:
            # Inverse-CDF sampling: exact, with no rejection loop. The clamp guards against the
            # quantile of the end points rounding just past +-2.
            u = torch.rand(shape, generator=gen, dtype=work, device=device)
            u.mul_(_CDF_HIGH - _CDF_LOW).add_(_CDF_LOW)
            out = torch.special.ndtri(u).clamp_(-2.0, 2.0).mul_(b).add_(a)
        return out.to(dtype)

    def get_config(self):
        return {"seed": _serialize_seed(self._seed_argument)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "seed" in config:
            config["seed"] = _deserialize_seed(config["seed"])
        return cls(**config)


def _check_positive(name, value):
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be a positive float. Received: {name}={value}")


@_register("random_normal", "normal")
class RandomNormal(_RandomInitializer):
    """Initializer drawing from a normal distribution.

    Args:
        mean: Mean of the distribution.
        stddev: Standard deviation of the distribution (positive).
        seed: A Python integer, a ``SeedGenerator`` or ``None``. See the module docstring.

    Example:

    >>> lamina.initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1)((2, 2))
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _check_positive("stddev", stddev)
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._sample(*self._sampling(shape), dtype=dtype)

    def _sampling(self, shape):
        """``(kind, shape, a, b)`` of ``_sample`` for a tensor of ``shape``."""
        return "normal", shape, float(self.mean), float(self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@_register("truncated_normal")
class TruncatedNormal(_RandomInitializer):
    """Initializer drawing from a normal distribution cut at two standard deviations from the mean.

    Args:
        mean: Mean of the distribution before truncation.
        stddev: Standard deviation of the distribution before truncation (positive).
        seed: A Python integer, a ``SeedGenerator`` or ``None``. See the module docstring.

    Example:

    >>> lamina.initializers.TruncatedNormal(stddev=1.0, seed=1)((2, 2))
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _check_positive("stddev", stddev)
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._sample(*self._sampling(shape), dtype=dtype)

    def _sampling(self, shape):
        return "truncated_normal", shape, float(self.mean), float(self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@_register("random_uniform", "uniform")
class RandomUniform(_RandomInitializer):
    """Initializer drawing from a uniform distribution over ``[minval, maxval)``.

    Args:
        minval: Lower bound of the range.
        maxval: Upper bound of the range.
        seed: A Python integer, a ``SeedGenerator`` or ``None``. See the module docstring.

    Example:

    >>> lamina.initializers.RandomUniform(minval=0.0, maxval=1.0, seed=1)((2, 2))
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._sample(*self._sampling(shape), dtype=dtype)

    def _sampling(self, shape):
        return "uniform", shape, float(self.minval), float(self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


@_register("variance_scaling")
class VarianceScaling(_RandomInitializer):
    """Initializer whose spread adapts to the number of input and/or output units of the weight.

    With ``n`` the fan-in, the fan-out or their average (``mode``), samples have standard deviation
    ``sqrt(scale / n)`` for the normal distributions (measured after truncation for
    ``"truncated_normal"``), and the uniform distribution spans ``[-limit, limit]`` with
    ``limit = sqrt(3 * scale / n)``. ``n`` is at least 1. Fans are computed from the shape: rank 2 is
    ``(fan_in, fan_out)``, higher ranks are convolution kernels ``(*spatial, in, out)``.

    Args:
        scale: Scaling factor (positive float).
        mode: One of ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``.
        distribution: One of ``"truncated_normal"``, ``"untruncated_normal"``, ``"uniform"``
            (case-insensitive; ``"normal"`` means ``"truncated_normal"``, as in Keras 2).
        seed: A Python integer, a ``SeedGenerator`` or ``None``. See the module docstring.
        input_axes: Optional list of axes whose sizes multiply to the fan-in.
        output_axes: Optional list of axes whose sizes multiply to the fan-out. Both must be given
            for either to apply.

    Example:

    >>> init = lamina.initializers.VarianceScaling(scale=0.1, mode="fan_in", distribution="uniform")
    >>> init((3, 4))
    """

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        _check_positive("scale", scale)
        if mode not in _MODES:
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Expected one of {_MODES}.")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution!r}. "
                f"Expected one of {_DISTRIBUTIONS} (or 'normal')."
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._sample(*self._sampling(shape), dtype=dtype)

    def _sampling(self, shape):
        # The spread comes from the whole shape's fans, whatever part of it is drawn.
        fan_in, fan_out = _compute_fans(_known_shape(shape), self.input_axes, self.output_axes)
        units = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, units)
        if self.distribution == "truncated_normal":
            return "truncated_normal", shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV_FACTOR
        if self.distribution == "untruncated_normal":
            return "normal", shape, 0.0, math.sqrt(variance)
        limit = math.sqrt(3.0 * variance)
        return "uniform", shape, -limit, limit

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _FixedVarianceScaling(VarianceScaling):
    """A ``VarianceScaling`` with scale, mode and distribution fixed by the subclass."""

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(
            scale=self._scale,
            mode=self._mode,
            distribution=self._distribution,
            seed=seed,
            input_axes=input_axes,
            output_axes=output_axes,
        )

    def get_config(self):
        return {
            "seed": _serialize_seed(self._seed_argument),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


@_register("glorot_normal")
class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal initializer: truncated normal, ``stddev = sqrt(2 / (fan_in + fan_out))``.

    Args:
        seed, input_axes, output_axes: As in ``VarianceScaling``.

    Example:

    >>> lamina.initializers.GlorotNormal(seed=1)((3, 4))
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


@_register("glorot_uniform")
class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform initializer: ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    This is the default kernel initializer of most layers.

    Args:
        seed, input_axes, output_axes: As in ``VarianceScaling``.

    Example:

    >>> lamina.initializers.GlorotUniform(seed=1)((3, 4))
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


@_register("he_normal")
class HeNormal(_FixedVarianceScaling):
    """He normal initializer: truncated normal with ``stddev = sqrt(2 / fan_in)``, suited to ReLU.

    Args:
        seed, input_axes, output_axes: As in ``VarianceScaling``.

    Example:

    >>> lamina.initializers.HeNormal(seed=1)((3, 4))
    """

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


@_register("he_uniform")
class HeUniform(_FixedVarianceScaling):
    """He uniform initializer: ``[-limit, limit]`` with ``limit = sqrt(6 / fan_in)``.

    Args:
        seed, input_axes, output_axes: As in ``VarianceScaling``.

    Example:

    >>> lamina.initializers.HeUniform(seed=1)((3, 4))
    """

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


@_register("lecun_normal")
class LecunNormal(_FixedVarianceScaling):
    """LeCun normal initializer: truncated normal with ``stddev = sqrt(1 / fan_in)``, suited to SELU.

    Args:
        seed, input_axes, output_axes: As in ``VarianceScaling``.

    Example:

    >>> lamina.initializers.LecunNormal(seed=1)((3, 4))
    """

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


@_register("lecun_uniform")
class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform initializer: ``[-limit, limit]`` with ``limit = sqrt(3 / fan_in)``.

    Args:
        seed, input_axes, output_axes: As in ``VarianceScaling``.

    Example:

    >>> lamina.initializers.LecunUniform(seed=1)((3, 4))
    """

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


@_register("orthogonal", "OrthogonalInitializer")
class Orthogonal(_RandomInitializer):
    """Initializer producing a (semi-)orthogonal matrix times ``gain``.

    The shape is viewed as a matrix ``(prod(shape[:-1]), shape[-1])``. If it has at least as many rows
    as columns its columns are orthonormal (``W^T W = gain^2 I``), otherwise its rows are
    (``W W^T = gain^2 I``). The matrix comes from the QR decomposition of a normal random matrix.

    Args:
        gain: Multiplier of the orthogonal matrix.
        seed: A Python integer, a ``SeedGenerator`` or ``None``. See the module docstring.

    Example:

    >>> lamina.initializers.Orthogonal(seed=1)((4, 4))
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, torch_dtype, device = _output_spec(shape, dtype)
        if len(shape) < 2:
            raise ValueError(
                "Orthogonal initializer needs a shape of rank at least 2. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        _require_float(self, torch_dtype)
        rows, cols = math.prod(shape[:-1]), shape[-1]
        work = _work_dtype(torch_dtype)
        if rows * cols == 0:
            return torch.zeros(shape, dtype=torch_dtype, device=device)
        flat = torch.randn(
            (max(rows, cols), min(rows, cols)), generator=self._generator(device), dtype=work, device=device
        )
        q, r = torch.linalg.qr(flat)
        # QR is unique only up to the signs of R's diagonal; fixing them makes q uniformly distributed.
        q = q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(work)
        if rows < cols:
            q = q.T
        return (q * self.gain).reshape(shape).to(torch_dtype).contiguous()

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}

