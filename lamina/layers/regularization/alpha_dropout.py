"""``AlphaDropout``: dropout that keeps the mean and variance of SELU activations."""

import torch

from lamina.backend.seed_generator import SeedGenerator
from lamina.layers.layer import Layer
from lamina.layers.regularization.dropout import (
    _concrete_noise_shape,
    _noise_dtype,
    _validate_noise_shape,
    _validate_rate,
    _validate_seed,
    noise_generator,
)
from lamina.saving.object_registration import register_builtin

# SELU's constants: dropped units are set to its negative saturation value -alpha * scale.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _alpha_dropout(inputs, rate, noise_shape, generator):
    """Set dropped units to SELU's saturation value, then apply the affine map ``a * x + b``
    that restores zero mean and unit variance."""
    alpha_p = -_SELU_ALPHA * _SELU_SCALE
    a = ((1.0 - rate) * (1.0 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    uniform = torch.rand(
        noise_shape, generator=generator, dtype=_noise_dtype(inputs), device=inputs.device
    )
    kept = uniform >= rate
    # kept -> a * x + b, dropped -> a * alpha_p + b: one select instead of Keras's mask algebra.
    return torch.where(kept, inputs * a + b, a * alpha_p + b)


@register_builtin("keras.layers")
class AlphaDropout(Layer):
    """Dropout for self-normalizing networks (SELU activations).

    Dropped units are set to SELU's negative saturation value, and an affine correction keeps
    the mean and variance of the inputs, so the self-normalizing property survives. Inference
    returns the inputs unchanged.

    Args:
        rate: Float in ``[0, 1)``, the fraction of units to drop. (Keras accepts 1 and then
            fails with a division by zero in training; here it is refused at once.)
        noise_shape: Optional tuple of ints, the shape of the binary keep mask; ``None`` entries
            take the input's size.
        seed: Integer seed of the layer's random stream; equal seeds give equal masks.

    Call arguments:
        inputs: Tensor of any rank.
        training: Whether to apply alpha dropout (``True``) or pass the inputs through.

    Input shape:
        Any.

    Output shape:
        Same as the input.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _validate_rate(rate, allow_one=False)
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
        return _alpha_dropout(
            inputs, self.rate, noise_shape, noise_generator(self.seed_generator, inputs)
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config
