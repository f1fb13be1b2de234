"""``NumpyArrayIterator``: augmented batches from images held in a NumPy array."""

import os
import warnings

import numpy as np

from lamina.backend import config
from lamina.preprocessing.image.iterator import Iterator
from lamina.utils import image_utils


class NumpyArrayIterator(Iterator):
    """Batches of images from a NumPy array, each transformed by an ``ImageDataGenerator``.

    Usually made by ``ImageDataGenerator.flow``.

    Args:
        x: Rank-4 array of images, or a tuple ``(images, extra)`` where ``extra`` is an array (or
            list of arrays) of the same length passed through untransformed next to the images.
        y: Targets, or ``None``.
        image_data_generator: The ``ImageDataGenerator`` that transforms and standardizes images.
        batch_size: Samples per batch.
        shuffle: Whether to shuffle the samples at every epoch.
        sample_weight: Optional per-sample weights.
        seed: Random seed (see ``Iterator``).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        save_to_dir: Optional directory where the augmented images are saved (for inspection).
        save_prefix: File name prefix of the saved images.
        save_format: Format of the saved images (``"png"``, ``"jpeg"``, ...).
        subset: ``"training"`` or ``"validation"``: the part of the data given by the generator's
            ``validation_split`` (validation is the first part of the array).
        ignore_class_split: Allow the two subsets to hold different sets of classes.
        dtype: Dtype of the image batches; ``None`` means ``keras.config.floatx()``.
    """

    def __init__(
        self,
        x,
        y,
        image_data_generator,
        batch_size=32,
        shuffle=False,
        sample_weight=None,
        seed=None,
        data_format=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        subset=None,
        ignore_class_split=False,
        dtype=None,
    ):
        data_format = config.standardize_data_format(data_format)
        self.dtype = config.floatx() if dtype is None else dtype
        if isinstance(x, (tuple, list)):
            extra = x[1] if isinstance(x[1], list) else [x[1]]
            x_misc = [np.asarray(a) for a in extra]
            x = x[0]
            for a in x_misc:
                if len(x) != len(a):
                    raise ValueError(
                        "All of the arrays in `x` should have the same length. Found a pair "
                        f"with: len(x[0]) = {len(x)}, len(x[?]) = {len(a)}"
                    )
        else:
            x_misc = []
        if y is not None and len(x) != len(y):
            raise ValueError(
                "`x` (images tensor) and `y` (labels) should have the same length. Found: "
                f"x.shape = {np.asarray(x).shape}, y.shape = {np.asarray(y).shape}"
            )
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(
                "`x` (images tensor) and `sample_weight` should have the same length. Found: "
                f"x.shape = {np.asarray(x).shape}, "
                f"sample_weight.shape = {np.asarray(sample_weight).shape}"
            )
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(
                    f'Invalid subset name: {subset}; expected "training" or "validation".'
                )
            split_idx = int(len(x) * image_data_generator._validation_split)
            if (
                y is not None
                and not ignore_class_split
                and not np.array_equal(np.unique(y[:split_idx]), np.unique(y[split_idx:]))
            ):
                raise ValueError(
                    "Training and validation subsets have different number of classes after "
                    "the split. If your numpy arrays are sorted by the label, you might want "
                    "to shuffle them."
                )
            part = slice(None, split_idx) if subset == "validation" else slice(split_idx, None)
            x = x[part]
            x_misc = [np.asarray(a[part]) for a in x_misc]
            if y is not None:
                y = y[part]

        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError(
                "Input data in `NumpyArrayIterator` should have rank 4. You passed an array "
                f"with shape {self.x.shape}"
            )
        channels_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(
                f'NumpyArrayIterator is set to use the data format convention "{data_format}" '
                f"(channels on axis {channels_axis}), i.e. expected either 1, 3, or 4 channels "
                f"on axis {channels_axis}. However, it was passed an array with shape "
                f"{self.x.shape} ({self.x.shape[channels_axis]} channels).",
                stacklevel=2,
            )
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        generator = self.image_data_generator
        for i, j in enumerate(index_array):
            x = self.x[j]
            params = generator.get_random_transform(x.shape)
            x = generator.apply_transform(x.astype(self.dtype), params)
            batch_x[i] = generator.standardize(x)

        if self.save_to_dir:
            for i, j in enumerate(index_array):
                img = image_utils.array_to_img(batch_x[i], self.data_format, scale=True)
                name = f"{self.save_prefix}_{j}_{np.random.randint(10_000)}.{self.save_format}"
                img.save(os.path.join(self.save_to_dir, name))

        batch_misc = [a[index_array] for a in self.x_misc]
        inputs = [batch_x] + batch_misc if batch_misc else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]
