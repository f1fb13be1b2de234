"""``GaussianDropout``: multiplicative one-centred Gaussian noise in training."""

import math

import torch

from lamina.backend.seed_generator import SeedGenerator
from lamina.layers.layer import Layer
from lamina.layers.regularization.dropout import (
    _noise_dtype,
    _validate_rate,
    _validate_seed,
    noise_generator,
)
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 during training.

    The noise has standard deviation ``sqrt(rate / (1 - rate))``, the variance that dropout
    with the same ``rate`` introduces. Inference returns the inputs unchanged.

    Args:
        rate: Float in ``[0, 1)``, drop probability as for ``Dropout``. (Keras accepts 1 and
            then fails with a division by zero in training; here it is refused at once.)
        seed: Integer seed of the layer's random stream; equal seeds give equal noise.

    Call arguments:
        inputs: Tensor of any rank.
        training: Whether to apply the noise (``True``) or pass the inputs through.

    Input shape:
        Any.

    Output shape:
        Same as the input.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _validate_rate(rate, allow_one=False)
        self.seed = _validate_seed(seed)
        # As Keras: a layer that never draws (rate 0) holds no random state.
        self.seed_generator = SeedGenerator(self.seed) if self.rate > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        # One kernel draws N(1, stddev) directly; the multiply is the only other pass.
        noise = torch.normal(
            1.0,
            math.sqrt(self.rate / (1.0 - self.rate)),
            size=tuple(inputs.shape),
            generator=noise_generator(self.seed_generator, inputs),
            dtype=_noise_dtype(inputs),
            device=inputs.device,
        )
        return inputs * noise

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
