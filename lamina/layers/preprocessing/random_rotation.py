"""``RandomRotation``: rotate images by a random angle about their centre."""

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseRandomAffineLayer,
    affine_matrices,
    bounded_factor,
    uniform,
)
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomRotation(BaseRandomAffineLayer):
    """Randomly rotates images during training.

    Each image is rotated about its centre by an angle drawn uniformly from
    ``[factor[0] * 360, factor[1] * 360]`` degrees (positive: counter-clockwise on screen).
    Uncovered pixels are filled per ``fill_mode``. With ``training=False`` the images pass
    through, cast to the compute dtype.

    Args:
        factor: A float ``f`` in ``[-1, 1]`` (angles in ``[-f, f]`` turns) or a pair
            ``(lower, upper)`` of fractions of a full turn; e.g. ``0.2`` rotates by up to
            +/- 72 degrees.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: Integer seed of the layer's random stream.
        fill_value: Float, the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)`` in
        ``"channels_last"`` format.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomRotation(0.1, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3), training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = bounded_factor(factor)

    def _matrices(self, batch, height, width, generator, device):
        angle = uniform(generator, (batch,), self.factor[0] * 360.0, self.factor[1] * 360.0, device)
        return affine_matrices(height, width, angle=angle)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config
