"""Random tensors (``keras.random``): draws from a seeded ``torch.Generator`` on the target device.

``seed`` is an integer (the same numbers on every call), a ``SeedGenerator`` (new numbers on each
call, reproducible from its initial seed) or ``None`` (Lamina's global generator). The streams are
torch's, so numbers differ from Keras's JAX streams; the distributions are the same. Gamma, beta and
binomial draws come from a NumPy generator seeded the same way (torch's samplers for them take no
generator), then move to the device.
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import is_float_dtype, is_int_dtype, standardize_dtype, to_torch_dtype
from lamina.backend.variables import SCOPE
from lamina.backend.seed_generator import draw_seed
from lamina.backend.torch_compat import is_compiling, is_exporting


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def _generator(seed, device):
    if (seed is None or getattr(seed, "_is_lamina_seed_generator", False)) and (
        is_compiling() and not is_exporting()
    ):
        # A seed drawn anew on each call would be a new constant of the compiled graph each
        # time: a recompilation per call, until dynamo's limit sends the code back to eager
        # execution. Compiled code draws from torch's default stream instead (as the noise layers
        # do): the same distribution, other samples; the SeedGenerator's state stays as it is. An
        # integer seed (the same numbers on every call) keeps its generator.
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(draw_seed(seed))
    return gen


def _float_dtype(dtype, fn):
    dtype = standardize_dtype(dtype or config.floatx())
    if not is_float_dtype(dtype):
        raise ValueError(
            f"`lamina.random.{fn}` requires a floating point `dtype`. Received: dtype={dtype}"
        )
    return to_torch_dtype(dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draw from a normal distribution.

    Args:
        shape: Shape of the result.
        mean: Mean of the distribution.
        stddev: Standard deviation of the distribution.
        dtype: Floating dtype of the result (default ``floatx()``).
        seed: An integer, a ``SeedGenerator`` or ``None``.

    Example:

    >>> lamina.random.normal((2, 3), seed=1).shape
    torch.Size([2, 3])
    """
    dtype = _float_dtype(dtype, "normal")
    device = config.get_device()
    out = torch.randn(_shape(shape), generator=_generator(seed, device), device=device, dtype=dtype)
    return out * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draw from a uniform distribution on ``[minval, maxval)`` (floating dtypes only)."""
    dtype = _float_dtype(dtype, "uniform")
    device = config.get_device()
    out = torch.rand(_shape(shape), generator=_generator(seed, device), device=device, dtype=dtype)
    return out * (maxval - minval) + minval


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draw from a normal distribution cut at two standard deviations from the mean."""
    dtype = _float_dtype(dtype, "truncated_normal")
    device = config.get_device()
    # Inverse-CDF sampling of the truncated standard normal, in float32 at least for accuracy.
    work = torch.float64 if dtype == torch.float64 else torch.float32
    u = torch.rand(_shape(shape), generator=_generator(seed, device), device=device, dtype=work)
    bound = torch.special.ndtr(torch.tensor(2.0, dtype=work, device=device))
    p = (1 - bound) + u * (2 * bound - 1)
    out = torch.special.ndtri(p).clamp_(-2.0, 2.0)
    return (out * stddev + mean).to(dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Draw integers uniformly from ``[minval, maxval)``."""
    dtype = standardize_dtype(dtype)
    if not is_int_dtype(dtype):
        raise ValueError(
            f"`lamina.random.randint` requires an integer `dtype`. Received: dtype={dtype}"
        )
    device = config.get_device()
    out = torch.randint(
        int(minval), int(maxval), _shape(shape), generator=_generator(seed, device), device=device
    )
    return out.to(to_torch_dtype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draw class indices from the categorical distributions given by rows of ``logits``.

    Args:
        logits: 2D tensor ``(batch_size, num_classes)`` of unnormalized log-probabilities.
        num_samples: Number of draws per row.
        dtype: Integer dtype of the result.
        seed: An integer, a ``SeedGenerator`` or ``None``.

    Returns:
        Tensor of shape ``(batch_size, num_samples)``.
    """
    logits = convert_to_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(
            "`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
            f"Received: logits={logits}"
        )
    probs = torch.softmax(logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32), -1)
    gen = _generator(seed, logits.device)
    out = torch.multinomial(probs, int(num_samples), replacement=True, generator=gen)
    return out.to(to_torch_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero entries with probability ``rate`` and scale the others by ``1 / (1 - rate)``.

    ``noise_shape`` (with ``None`` for "the input's size") shares one mask across broadcast axes.
    """
    inputs = convert_to_tensor(inputs)
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"`rate` must be in the range [0, 1]. Received: rate={rate}")
    if rate == 1.0:
        return torch.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    if noise_shape is None:
        noise_shape = inputs.shape
    else:
        noise_shape = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = 1.0 - float(rate)
    gen = _generator(seed, inputs.device)
    mask = torch.rand(noise_shape, generator=gen, device=inputs.device) < keep
    return torch.where(mask, inputs / keep, torch.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """Shuffle the slices of ``x`` along ``axis`` (the slices move whole, as on torch and TF)."""
    x = convert_to_tensor(x)
    axis = axis % max(x.ndim, 1)
    gen = _generator(seed, x.device)
    order = torch.randperm(x.shape[axis], generator=gen, device=x.device)
    return torch.index_select(x, axis, order)


def _numpy_draw(draw, shape, dtype, seed, fn):
    dtype = _float_dtype(dtype, fn)
    device = config.get_device()
    shape = _shape(shape)
    if SCOPE.symbolic:
        return torch.zeros(shape, dtype=dtype, device=device)
    rng = np.random.default_rng(draw_seed(seed))
    return torch.as_tensor(np.asarray(draw(rng, shape))).to(device=device, dtype=dtype)


def _param(value):
    return np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype="float64")


def gamma(shape, alpha, dtype=None, seed=None):
    """Draw from the gamma distribution with shape ``alpha`` and scale 1."""
    return _numpy_draw(lambda rng, s: rng.gamma(_param(alpha), size=s), shape, dtype, seed, "gamma")


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Draw from the beta distribution with parameters ``alpha`` and ``beta``."""
    return _numpy_draw(
        lambda rng, s: rng.beta(_param(alpha), _param(beta), size=s), shape, dtype, seed, "beta"
    )


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Draw the number of successes in ``counts`` trials of probability ``probabilities``."""
    return _numpy_draw(
        lambda rng, s: rng.binomial(_param(counts).astype("int64"), _param(probabilities), size=s),
        shape,
        dtype,
        seed,
        "binomial",
    )
