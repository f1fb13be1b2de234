"""``DirectoryIterator``: augmented batches of images read from one sub-directory per class."""

import os
import warnings

import numpy as np

from lamina.backend import config
from lamina.preprocessing.image.iterator import Iterator
from lamina.utils import image_utils

_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


def _iter_valid_files(directory, white_list_formats, follow_links):
    # Sorted walk: the file order (and so the labels order) is the same on every platform.
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda w: w[0]):
        for fname in sorted(files):
            if fname.lower().endswith(".tiff"):
                warnings.warn(
                    'Using ".tiff" files with multiple bands will cause distortion. '
                    "Please verify your output.",
                    stacklevel=2,
                )
            if fname.lower().endswith(white_list_formats):
                yield root, fname


def _list_valid_filenames_in_directory(directory, white_list_formats, split, class_index,
                                       follow_links):
    """The image files of one class directory (the ``split`` fraction of them, if given).

    Returns:
        ``(classes, filenames)``: the class index of each file and its path relative to the
        parent of ``directory``.
    """
    dirname = os.path.basename(directory)
    files = list(_iter_valid_files(directory, white_list_formats, follow_links))
    if split:
        files = files[int(split[0] * len(files)) : int(split[1] * len(files))]
    filenames = [
        os.path.join(dirname, os.path.relpath(os.path.join(root, fname), directory))
        for root, fname in files
    ]
    return [class_index] * len(filenames), filenames


class DirectoryIterator(Iterator):
    """Batches of images read from a directory with one sub-directory per class.

    Usually made by ``ImageDataGenerator.flow_from_directory``. Each image is loaded with
    ``load_img``, transformed and standardized by the ``ImageDataGenerator``.

    Args:
        directory: Path of the directory holding one sub-directory per class.
        image_data_generator: The ``ImageDataGenerator`` (or ``None`` for no transformation).
        target_size: ``(height, width)`` the images are resized to.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        classes: Optional list of class sub-directory names (fixing the class indices); by
            default all sub-directories, in alphabetical order.
        class_mode: Labels returned with the images: ``"categorical"`` (one-hot), ``"binary"``
            (0/1 floats), ``"sparse"`` (integer indices), ``"input"`` (the images themselves) or
            ``None`` (images only).
        batch_size: Samples per batch.
        shuffle: Whether to shuffle the samples at every epoch.
        seed: Random seed (see ``Iterator``).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        save_to_dir: Optional directory where the augmented images are saved.
        save_prefix: File name prefix of the saved images.
        save_format: Format of the saved images.
        follow_links: Whether to follow symbolic links inside the class directories.
        subset: ``"training"`` or ``"validation"`` (with the generator's ``validation_split``;
            validation is the first part of each class's sorted files).
        interpolation: Resampling filter used to resize (see ``load_img``).
        keep_aspect_ratio: Center-crop to the target aspect ratio before resizing.
        dtype: Dtype of the batches; ``None`` means ``keras.config.floatx()``.
    """

    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def __init__(
        self,
        directory,
        image_data_generator,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        data_format=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        follow_links=False,
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
        dtype=None,
    ):
        data_format = config.standardize_data_format(data_format)
        if color_mode not in _CHANNELS:
            raise ValueError(
                f'Invalid color mode: {color_mode}; expected "rgb", "rgba", or "grayscale".'
            )
        if class_mode not in self.allowed_class_modes:
            raise ValueError(
                f"Invalid class_mode: {class_mode}; expected one of: {self.allowed_class_modes}"
            )
        if subset not in (None, "training", "validation"):
            raise ValueError(f'Invalid subset name: {subset};expected "training" or "validation"')
        if not os.path.isdir(directory):
            raise ValueError(f"`directory` {directory!r} is not an existing directory.")
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.keep_aspect_ratio = keep_aspect_ratio
        self.color_mode = color_mode
        self.data_format = data_format
        channels = (_CHANNELS[color_mode],)
        if data_format == "channels_last":
            self.image_shape = self.target_size + channels
        else:
            self.image_shape = channels + self.target_size
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        self.subset = subset
        self.split = None
        if subset is not None:
            fraction = image_data_generator._validation_split
            self.split = (0, fraction) if subset == "validation" else (fraction, 1)
        self.directory = directory
        self.class_mode = class_mode
        self.dtype = config.floatx() if dtype is None else dtype

        if not classes:
            classes = [
                d for d in sorted(os.listdir(directory))
                if os.path.isdir(os.path.join(directory, d))
            ]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        labels, self.filenames = [], []
        for subdir in classes:
            found_labels, found_files = _list_valid_filenames_in_directory(
                os.path.join(directory, subdir), self.white_list_formats, self.split,
                self.class_indices[subdir], follow_links,
            )
            labels += found_labels
            self.filenames += found_files
        self.samples = len(self.filenames)
        self.classes = np.array(labels, dtype="int32")
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self._filepaths = [os.path.join(directory, fname) for fname in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self):
        """Absolute (or directory-relative) paths of all the images, in sample order."""
        return self._filepaths

    @property
    def labels(self):
        """Class index of every image, in sample order."""
        return self.classes

    @property
    def sample_weight(self):
        return None

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        generator = self.image_data_generator
        for i, j in enumerate(index_array):
            img = image_utils.load_img(
                self._filepaths[j],
                color_mode=self.color_mode,
                target_size=self.target_size,
                interpolation=self.interpolation,
                keep_aspect_ratio=self.keep_aspect_ratio,
            )
            x = image_utils.img_to_array(img, data_format=self.data_format)
            img.close()
            if generator:
                params = generator.get_random_transform(x.shape)
                x = generator.apply_transform(x, params)
                x = generator.standardize(x)
            batch_x[i] = x

        if self.save_to_dir:
            for i, j in enumerate(index_array):
                img = image_utils.array_to_img(batch_x[i], self.data_format, scale=True)
                name = f"{self.save_prefix}_{j}_{np.random.randint(10_000_000)}.{self.save_format}"
                img.save(os.path.join(self.save_to_dir, name))

        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, self.classes[index_array].astype(self.dtype)
        if self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), self.num_classes), dtype=self.dtype)
            batch_y[np.arange(len(batch_x)), self.classes[index_array]] = 1.0
            return batch_x, batch_y
        return batch_x
