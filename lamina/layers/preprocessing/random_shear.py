"""``RandomShear``: shear images along x and/or y by random factors."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseRandomAffineLayer,
    is_number,
    uniform,
)
from lamina.saving.object_registration import register_builtin


def shear_factor(factor, name):
    """Keras's rule for the shear factors: a number ``f`` in ``[0, 1]`` gives ``(-f, f)``, a pair
    is sorted.

    Keras also limits a pair's entries to ``[0, 1]``, so its own configs (which store ``(-f, f)``)
    fail to load; Lamina accepts pair entries in ``[-1, 1]`` so that configs round-trip.
    """
    message = (
        "The `factor` argument should be a number in the range [0, 1.0] (or a list of two numbers "
        f"in [-1.0, 1.0]). Received: {name}={factor!r}"
    )
    is_pair = isinstance(factor, (tuple, list))
    items = tuple(factor) if is_pair else (factor,)
    low = -1.0 if is_pair else 0.0
    if (is_pair and len(items) != 2) or not all(is_number(v) and low <= v <= 1.0 for v in items):
        raise ValueError(message)
    if len(items) == 2:
        lower, upper = sorted(items)
        return float(lower), float(upper)
    return -float(items[0]), float(items[0])


def shear_matrices(shear_x, shear_y):
    """Per-image matrices sampling the input at ``(x + shear_x * y, y + shear_y * x)``: a shear
    about the top-left corner, as in Keras."""
    ones, zeros = torch.ones_like(shear_x), torch.zeros_like(shear_x)
    return torch.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], dim=1)


@register_builtin("keras.layers")
class RandomShear(BaseRandomAffineLayer):
    """Randomly shears images during training.

    Per image, shear factors ``sx`` and ``sy`` are drawn uniformly from ``x_factor`` and
    ``y_factor`` and both are negated with probability one half; the output pixel ``(x, y)``
    samples the input at ``(x + sx * y, y + sy * x)`` (a shear about the top-left corner).
    Uncovered pixels are filled per ``fill_mode``. With ``training=False`` the images pass
    through, cast to the compute dtype.

    Args:
        x_factor: A float ``f`` in ``[0, 1]`` (range ``[-f, f]``) or a pair ``(lower, upper)``,
            the horizontal shear. Defaults to ``0.0``.
        y_factor: Same for the vertical shear. Defaults to ``0.0``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        fill_value: Float, the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomShear(x_factor=0.2, y_factor=0.1, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3), training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        x_factor=0.0,
        y_factor=0.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.x_factor = shear_factor(x_factor, "x_factor")
        self.y_factor = shear_factor(y_factor, "y_factor")

    def _matrices(self, batch, height, width, generator, device):
        sign = torch.where(torch.rand((batch,), generator=generator, device=device) > 0.5, -1.0, 1.0)
        shear_y = uniform(generator, (batch,), self.y_factor[0], self.y_factor[1], device)
        shear_x = uniform(generator, (batch,), self.x_factor[0], self.x_factor[1], device)
        return shear_matrices(shear_x * sign, shear_y * sign)

    def get_config(self):
        config = super().get_config()
        config.update({"x_factor": self.x_factor, "y_factor": self.y_factor})
        return config
