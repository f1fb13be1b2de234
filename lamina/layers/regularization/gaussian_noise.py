"""``GaussianNoise``: additive zero-centred Gaussian noise in training."""

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
class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise with standard deviation ``stddev`` during training.

    A form of random data augmentation for real-valued inputs that helps against overfitting.
    Inference (``training`` false or ``None``) returns the inputs unchanged.

    Args:
        stddev: Float in ``[0, 1]``, standard deviation of the noise (Keras 3's accepted range).
        seed: Integer seed of the layer's random stream; equal seeds give equal noise.

    Call arguments:
        inputs: Tensor of any rank.
        training: Whether to add noise (``True``) or pass the inputs through.

    Input shape:
        Any.

    Output shape:
        Same as the input.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _validate_rate(stddev, name="stddev")
        self.seed = _validate_seed(seed)
        # As Keras: a layer that never draws (stddev 0) holds no random state.
        self.seed_generator = SeedGenerator(self.seed) if self.stddev > 0 else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        noise = torch.randn(
            inputs.shape,
            generator=noise_generator(self.seed_generator, inputs),
            dtype=_noise_dtype(inputs),
            device=inputs.device,
        )
        return torch.add(inputs, noise, alpha=self.stddev)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
