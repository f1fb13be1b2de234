"""``RandomHeight``: resize the height of images by a random factor (Keras 2 layer)."""

from lamina.layers.preprocessing.base_random_axis_resize import BaseRandomAxisResize
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomHeight(BaseRandomAxisResize):
    """Randomly varies the height of a batch of images during training.

    One factor is drawn per call, uniformly from ``[1 + lower, 1 + upper]``, and the whole
    batch is resized to ``int(factor * height)`` (at least 1) with ``interpolation``. With
    ``training=False`` the images pass through, cast to the compute dtype. Keras 3 dropped this
    layer; this follows Keras 2 (``channels_last`` images only).

    Args:
        factor: A float ``f`` (range ``[-f, f]``) or a pair ``(lower, upper)`` of fractions
            of the height, each at least -1; e.g. ``(-0.2, 0.3)`` gives a height between 80%
            and 130% of the input's.
        interpolation: One of ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"``, ``"lanczos5"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)``.

    Output shape:
        Same, with a random height (``None`` in the symbolic shape).

    Example:

    >>> layer = lamina.layers.RandomHeight(0.5, seed=0)
    >>> y = layer(np.random.rand(2, 16, 16, 3), training=True)
    """

    _AXIS = 0
