"""The pool of augmentations that RandAugment and AugMix choose from, built at one strength."""

from lamina.layers.preprocessing.auto_contrast import AutoContrast
from lamina.layers.preprocessing.equalization import Equalization
from lamina.layers.preprocessing.random_brightness import RandomBrightness
from lamina.layers.preprocessing.random_color_degeneration import RandomColorDegeneration
from lamina.layers.preprocessing.random_contrast import RandomContrast
from lamina.layers.preprocessing.random_posterization import RandomPosterization
from lamina.layers.preprocessing.random_rotation import RandomRotation
from lamina.layers.preprocessing.random_sharpness import RandomSharpness
from lamina.layers.preprocessing.random_shear import RandomShear
from lamina.layers.preprocessing.random_translation import RandomTranslation
from lamina.layers.preprocessing.solarization import Solarization


def attach_augmenters(owner, names, layers):
    """Make ``layers`` (``{name: layer}``) sublayers of ``owner``, attributes named as Keras's, set in
    the order ``names`` (Keras's creation order, which fixes the order of ``owner.variables``).

    Each keeps its own seed generator (Keras counts them), but draws from ``owner``'s stream.
    """
    for name in names:
        layer = layers.get(name)
        if layer is not None:
            # A plain dict write: through `__setattr__` the owner's generator would join the
            # sublayer's own seed generators.
            layer.__dict__["_draw_stream"] = owner.seed_generator
        setattr(owner, name, layer)


def build_augmenters(names, factor, value_range, interpolation, seed, data_format, dtype):
    """``{name: layer}`` for ``names``, each at strength ``factor`` (a ``(lower, upper)`` pair in
    ``[0, 1]``) and with its own seed generator seeded by ``seed``, as Keras builds them."""
    common = dict(seed=seed, data_format=data_format, dtype=dtype)
    colour = dict(value_range=value_range, **common)
    makers = {
        "random_shear": lambda: RandomShear(x_factor=factor, y_factor=factor, interpolation=interpolation, **common),
        "random_translation": lambda: RandomTranslation(
            height_factor=factor, width_factor=factor, interpolation=interpolation, **common
        ),
        "random_rotation": lambda: RandomRotation(factor=factor, interpolation=interpolation, **common),
        "random_brightness": lambda: RandomBrightness(factor=factor, **colour),
        "random_color_degeneration": lambda: RandomColorDegeneration(factor=factor, **colour),
        "random_contrast": lambda: RandomContrast(factor=factor, **colour),
        "random_sharpness": lambda: RandomSharpness(factor=factor, **colour),
        "random_posterization": lambda: RandomPosterization(factor=max(1, int(8 * factor[1])), **colour),
        "solarization": lambda: Solarization(addition_factor=factor, threshold_factor=factor, **colour),
        "auto_contrast": lambda: AutoContrast(value_range=value_range, data_format=data_format, dtype=dtype),
        "equalization": lambda: Equalization(value_range=value_range, data_format=data_format, dtype=dtype),
    }
    return {name: makers[name]() for name in names}
