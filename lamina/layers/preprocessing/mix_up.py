"""``MixUp``: blend each image (and its label) with another image of the batch."""

from lamina.layers.preprocessing._mixing import BaseMixingLayer, batch_permutation, beta
from lamina.layers.preprocessing.base_image_preprocessing_layer import is_number, per_image
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class MixUp(BaseMixingLayer):
    """MixUp augmentation (Zhang et al., 2017) during training.

    Image ``i`` becomes ``w * x[i] + (1 - w) * x[j]`` with ``j`` a random permutation of the
    batch and ``w`` drawn per image from ``Beta(alpha, alpha)``; labels, when given in a dict
    ``{"images": ..., "labels": ...}``, are mixed with the same weights. Images are cast to the
    compute dtype; with ``training=False`` they are returned otherwise unchanged.

    Args:
        alpha: Float, the Beta distribution's concentration. Defaults to ``0.2``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images, or a dict of ``"images"`` and ``"labels"``.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.MixUp(alpha=0.2, seed=0)
    >>> out = layer({"images": np.random.rand(4, 8, 8, 3), "labels": np.eye(4)}, training=True)
    >>> out["labels"].shape
    torch.Size([4, 4])
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not is_number(alpha) or alpha <= 0:
            raise ValueError(f"Argument `alpha` must be a positive number. Received: alpha={alpha!r}")
        self.alpha = alpha
        self._init_seed(seed)

    def _draw(self, images):
        """(permutation, per-image weights of the images themselves)."""
        generator, device = self._generator(images), images.device
        permutation = batch_permutation(generator, images.shape[0], device)
        return permutation, beta(generator, self.alpha, (images.shape[0],), device, images.dtype)

    def _mix(self, images, labels):
        permutation, weight = self._draw(images)
        w = per_image(weight)
        mixed = w * images + (1.0 - w) * images[permutation]
        return mixed, self._mix_labels(labels, permutation, weight)

    def _mix_unbatched(self, images, labels):
        # A batch of one mixes with itself, as in Keras.
        mixed, labels = self._mix(images.unsqueeze(0), None if labels is None else labels.unsqueeze(0))
        return mixed.squeeze(0), None if labels is None else labels.squeeze(0)

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "seed": self.seed})
        return config
