"""``Dropout``: zero a random fraction of the inputs in training, rescale the rest."""

import numbers

import torch

from lamina.backend import torch_compat
from lamina.backend.seed_generator import SeedGenerator
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _validate_rate(rate, name="rate", allow_one=True):
    """Check a drop probability: a real number in ``[0, 1]`` (or ``[0, 1)``)."""
    upper_ok = (lambda r: r <= 1) if allow_one else (lambda r: r < 1)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, numbers.Real)
        or not (0 <= rate and upper_ok(rate))
    ):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float value in "
            f"{interval}. Received: {name}={rate!r}"
        )
    return float(rate)


def _validate_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"Argument `seed` must be an integer or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def _validate_noise_shape(noise_shape):
    """``None`` or a tuple of positive ints / ``None`` entries."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__iter__"):
        raise ValueError(
            "Invalid value received for argument `noise_shape`. Expected a tuple or list of "
            f"integers (or None entries). Received: noise_shape={noise_shape!r}"
        )
    noise_shape = tuple(noise_shape)
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim <= 0:
            raise ValueError(
                "Invalid value received for argument `noise_shape`. Expected positive integers "
                f"or None. Received: noise_shape={noise_shape!r} (element {i} is {dim!r})"
            )
    return tuple(None if d is None else int(d) for d in noise_shape)


def _concrete_noise_shape(inputs, noise_shape, layer_name):
    """Fill the ``None`` entries of ``noise_shape`` from the input and check it broadcasts."""
    shape = tuple(inputs.shape)
    if noise_shape is None:
        return shape
    if len(noise_shape) != len(shape):
        raise ValueError(
            f"Layer '{layer_name}': `noise_shape` {noise_shape} must have the same rank as the "
            f"inputs. Received inputs of shape {shape}."
        )
    concrete = tuple(s if n is None else n for n, s in zip(noise_shape, shape))
    for n, s in zip(concrete, shape):
        if n != s and n != 1:
            raise ValueError(
                f"Layer '{layer_name}': `noise_shape` {noise_shape} does not broadcast to the "
                f"input shape {shape}: every entry must be None, 1 or the input size."
            )
    return concrete


def _noise_dtype(inputs):
    return inputs.dtype if inputs.is_floating_point() else torch.get_default_dtype()


def noise_generator(seed_generator, inputs):
    """The ``torch.Generator`` a noise layer draws from: its own, or ``None`` in compiled code.

    A seeded ``torch.Generator`` breaks the compiled graph (and every layer call after it then
    compiles on its own), so compiled code draws from torch's default stream instead: the same
    distribution, other samples.
    """
    if torch_compat.is_compiling():
        return None
    return seed_generator.generator(inputs.device)


def _dropout(inputs, rate, noise_shape, generator):
    """Inverted dropout: keep each entry of a ``noise_shape`` mask with ``1 - rate``."""
    if rate >= 1.0:
        return torch.zeros_like(inputs, dtype=_noise_dtype(inputs))
    keep = 1.0 - rate
    # The mask is drawn at `noise_shape` (often much smaller than the input) and scaled in
    # place, so the only full-size pass is the final broadcast multiply.
    mask = torch.empty(noise_shape, dtype=_noise_dtype(inputs), device=inputs.device)
    mask.bernoulli_(keep, generator=generator).div_(keep)
    return inputs * mask


@register_builtin("keras.layers")
class Dropout(Layer):
    """Randomly sets input units to 0 with frequency ``rate`` during training.

    Kept units are scaled by ``1 / (1 - rate)`` so that the expected sum is unchanged. The layer
    only acts when called with ``training=True`` (``fit`` does this); in inference it returns its
    input unchanged. ``trainable`` has no effect: the layer has no weights.

    Args:
        rate: Float in ``[0, 1]``, the fraction of the input units to drop (``1`` drops all).
        noise_shape: Optional tuple of ints, the shape of the binary mask that multiplies the
            input; ``None`` entries take the input's size. For inputs
            ``(batch, timesteps, features)``, ``noise_shape=(None, 1, None)`` drops the same
            features at every timestep.
        seed: Integer seed of the layer's random stream; equal seeds give equal masks.

    Call arguments:
        inputs: Tensor of any rank.
        training: Whether to apply dropout (``True``) or pass the inputs through.

    Example:

    >>> layer = lamina.layers.Dropout(0.5, seed=1)
    >>> y = layer(np.ones((2, 4), "float32"), training=True)  # entries are 0.0 or 2.0
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _validate_rate(rate)
        self.noise_shape = _validate_noise_shape(noise_shape)
        self.seed = _validate_seed(seed)
        # As Keras: a layer that never draws (rate 0) holds no random state.
        self.seed_generator = SeedGenerator(self.seed) if self.rate > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        noise_shape = _concrete_noise_shape(inputs, self.noise_shape, self.name)
        generator = noise_generator(self.seed_generator, inputs)
        return _dropout(inputs, self.rate, noise_shape, generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config
