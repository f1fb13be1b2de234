"""``AugMix``: blend an image with a random mixture of chains of augmentations."""

import numbers

import torch

from lamina.layers.preprocessing._augmenters import attach_augmenters, build_augmenters
from lamina.layers.preprocessing._mixing import beta
from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    is_number,
    sorted_value_range,
    validate_option,
)
from lamina.saving.object_registration import register_builtin

_GEOMETRIC_AND_TONAL = (
    "random_shear",
    "random_translation",
    "random_rotation",
    "random_posterization",
    "solarization",
    "auto_contrast",
    "equalization",
)
_COLOUR = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")
# Keras creates its sublayers in this order (the colour ones only with `all_ops`).
_CREATION_ORDER = (
    "random_shear",
    "random_translation",
    "random_rotation",
    "solarization",
    "random_posterization",
    "auto_contrast",
    "equalization",
) + _COLOUR


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


@register_builtin("keras.layers")
class AugMix(BaseImagePreprocessingLayer):
    """AugMix (Hendrycks et al., 2020) during training.

    Each call builds ``num_chains`` chains of up to ``chain_depth`` augmentations (each step
    picks one of the pool or none), runs every chain on the batch, mixes the chains' outputs
    with Dirichlet(``alpha``) weights, blends the mixture with the input by a
    Beta(``alpha``, ``alpha``) weight and clips to ``value_range``. Images are cast to the
    compute dtype; with ``training=False`` they are returned otherwise unchanged.

    Args:
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        num_chains: Integer, the number of chains. Defaults to 3.
        chain_depth: Integer, the maximum length of a chain. Defaults to 3.
        factor: A float ``f`` in ``[0, 1]`` (range ``[0, f]``) or a pair: the strength of the
            augmentations. Defaults to ``0.3``.
        alpha: Float, the concentration of the Dirichlet and Beta draws. Defaults to ``1.0``.
        all_ops: Whether the pool includes brightness, colour degeneration, contrast and
            sharpness (on top of shear, translation, rotation, posterization, solarization,
            auto-contrast and equalization). Defaults to ``True``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``, for the geometric ones.
        seed: Integer seed of the random streams.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.AugMix(num_chains=2, chain_depth=2, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3) * 255, training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        value_range=(0, 255),
        num_chains=3,
        chain_depth=3,
        factor=0.3,
        alpha=1.0,
        all_ops=True,
        interpolation="bilinear",
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self._range = sorted_value_range(value_range)
        self.num_chains = _positive_int(num_chains, "num_chains")
        self.chain_depth = _positive_int(chain_depth, "chain_depth")
        self.factor = bounded_factor(factor, bounds=(0, 1))
        if not is_number(alpha) or alpha <= 0:
            raise ValueError(f"Argument `alpha` must be a positive number. Received: alpha={alpha!r}")
        self.alpha = alpha
        self.all_ops = bool(all_ops)
        self.interpolation = validate_option(interpolation, ("nearest", "bilinear"), "interpolation")
        self._init_seed(seed)
        self._pool = _GEOMETRIC_AND_TONAL + (_COLOUR if self.all_ops else ())
        names = _CREATION_ORDER[: len(self._pool)]
        self._augmenters = build_augmenters(
            names, self.factor, value_range, interpolation, seed, self.data_format, self.dtype_policy
        )
        attach_augmenters(self, names, self._augmenters)

    def _draw(self, images):
        """(chains as lists of augmentation names, chain weights, weight of the input)."""
        cpu = self.seed_generator.generator("cpu")
        # Index len(pool) stands for "no augmentation at this step".
        steps = torch.randint(len(self._pool) + 1, (self.num_chains, self.chain_depth), generator=cpu).tolist()
        chains = [[self._pool[i] for i in chain if i < len(self._pool)] for chain in steps]
        generator, device, dtype = self._generator(images), images.device, images.dtype
        concentration = torch.full((self.num_chains,), float(self.alpha), dtype=torch.float64, device=device)
        gammas = torch._standard_gamma(concentration, generator=generator)
        chain_weights = (gammas / gammas.sum()).to(dtype)
        return chains, chain_weights, beta(generator, self.alpha, (), device, dtype)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        chains, chain_weights, weight = self._draw(images)
        mixture = torch.zeros_like(images)
        for chain, chain_weight in zip(chains, chain_weights):
            augmented = images
            for name in chain:
                augmented = self._cast(self._augmenters[name]._transform(augmented, True))
            mixture = mixture + augmented * chain_weight
        mixed = weight * images + (1.0 - weight) * mixture
        return torch.clamp(mixed, self._range[0], self._range[1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": self.value_range,
                "num_chains": self.num_chains,
                "chain_depth": self.chain_depth,
                "factor": self.factor,
                "alpha": self.alpha,
                "all_ops": self.all_ops,
                "interpolation": self.interpolation,
                "seed": self.seed,
            }
        )
        return config
