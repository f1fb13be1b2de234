"""``CutMix``: paste a random rectangle of another image of the batch into each image."""

import torch

from lamina.layers.preprocessing._mixing import BaseMixingLayer, batch_permutation, beta, box_bounds, box_masks
from lamina.layers.preprocessing.base_image_preprocessing_layer import bounded_factor, uniform
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class CutMix(BaseMixingLayer):
    """CutMix augmentation (Yun et al., 2019) during training.

    One ``alpha`` is drawn per call from ``factor``; per image, ``w ~ Beta(alpha, alpha)`` and
    a box with sides ``sqrt(1 - w)`` times the image's, placed uniformly, is filled with the
    same box of image ``j`` (a random permutation of the batch). Labels, when given in a dict
    ``{"images": ..., "labels": ...}``, are mixed in proportion to the pasted area. Unbatched
    images pass through. Images are cast to the compute dtype; with ``training=False`` they are
    returned otherwise unchanged.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (range ``[0, f]``) or a pair: the range of the Beta
            concentration. Defaults to ``1.0``.
        seed: Integer seed of the layer's random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        4D (batched) images, or a dict of ``"images"`` and ``"labels"``.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.CutMix(seed=0)
    >>> out = layer({"images": np.random.rand(4, 8, 8, 3), "labels": np.eye(4)}, training=True)
    >>> out["images"].shape
    torch.Size([4, 8, 8, 3])
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self._init_seed(seed)

    def _draw(self, images):
        """(permutation, pixel masks of the pasted boxes, the label weights ``1 - area``)."""
        generator, device, dtype = self._generator(images), images.device, images.dtype
        batch = images.shape[0]
        height, width = self._size(images)
        # The offset keeps a zero concentration valid.
        alpha = uniform(generator, (), self.factor[0], self.factor[1], device, dtype) + 1e-6
        ratio = torch.sqrt(1.0 - beta(generator, alpha, (batch,), device, dtype))
        x0, x1 = box_bounds(generator, batch, width, ratio, dtype, device)
        y0, y1 = box_bounds(generator, batch, height, ratio, dtype, device)
        masks = box_masks(x0, x1, y0, y1, height, width, self.data_format)
        weight = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        return batch_permutation(generator, batch, device), masks, weight

    def _mix(self, images, labels):
        permutation, masks, weight = self._draw(images)
        mixed = torch.where(masks, images[permutation], images)
        return mixed, self._mix_labels(labels, permutation, weight)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "seed": self.seed})
        return config
