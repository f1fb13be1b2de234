"""``ImageDataGenerator``: Keras 2's real-time image augmentation and standardization."""

import math
import numbers
import warnings

import numpy as np

from lamina.backend import config
from lamina.preprocessing.image.affine_transformations import (
    _FILL_MODES,
    apply_affine_transform,
    apply_brightness_shift,
    apply_channel_shift,
    flip_axis,
)
from lamina.preprocessing.image.directory_iterator import DirectoryIterator
from lamina.preprocessing.image.numpy_array_iterator import NumpyArrayIterator


class ImageDataGenerator:
    """Generate batches of images with real-time data augmentation.

    Every image drawn from ``flow`` / ``flow_from_directory`` gets a random transformation
    (``get_random_transform`` then ``apply_transform``) and is standardized (``standardize``).
    Random draws use ``np.random``, in Keras 2's order.

    Args:
        featurewise_center: Subtract the dataset's per-channel mean (computed by ``fit``).
        samplewise_center: Subtract each image's mean.
        featurewise_std_normalization: Divide by the dataset's per-channel std (from ``fit``).
        samplewise_std_normalization: Divide each image by its std.
        zca_whitening: Apply ZCA whitening (computed by ``fit``).
        zca_epsilon: Epsilon added to the singular values in ZCA whitening.
        rotation_range: Range of random rotations, in degrees.
        width_shift_range: Horizontal shift: a float (fraction of the width if < 1, pixels
            otherwise; uniform in ``[-v, v]``), or a list / int of allowed pixel shifts.
        height_shift_range: Vertical shift, as ``width_shift_range``.
        brightness_range: ``(lower, upper)`` range of the brightness factor, or ``None``.
        shear_range: Shear angle range, in degrees (counter-clockwise).
        zoom_range: A float ``z`` (range ``[1 - z, 1 + z]``) or ``[lower, upper]``.
        channel_shift_range: Range of random channel shifts.
        fill_mode: ``"constant"``, ``"nearest"``, ``"reflect"`` or ``"wrap"``: how points outside
            the input are filled.
        cval: Fill value for ``fill_mode="constant"``.
        horizontal_flip: Randomly flip images horizontally.
        vertical_flip: Randomly flip images vertically.
        rescale: Factor every image is multiplied by (before any other standardization), or
            ``None`` / 0 for none.
        preprocessing_function: Function applied to each image (a rank-3 array) after the
            augmentation, before the rest of ``standardize``; must return an array of the same
            shape.
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``keras.config.image_data_format()``.
        validation_split: Fraction of the images reserved for validation (strictly between 0
            and 1), selected with ``subset=`` in ``flow`` / ``flow_from_directory``.
        interpolation_order: Interpolation order of the affine transforms: 0 or 1.
        dtype: Dtype of the generated arrays; ``None`` means ``keras.config.floatx()``.

    Example:

    >>> datagen = ImageDataGenerator(rotation_range=20, width_shift_range=0.2,
    ...                              horizontal_flip=True, validation_split=0.2)
    >>> datagen.fit(x_train)
    >>> model.fit(datagen.flow(x_train, y_train, batch_size=32, subset="training"),
    ...           validation_data=datagen.flow(x_train, y_train, subset="validation"),
    ...           epochs=10)
    """

    def __init__(
        self,
        featurewise_center=False,
        samplewise_center=False,
        featurewise_std_normalization=False,
        samplewise_std_normalization=False,
        zca_whitening=False,
        zca_epsilon=1e-6,
        rotation_range=0,
        width_shift_range=0.0,
        height_shift_range=0.0,
        brightness_range=None,
        shear_range=0.0,
        zoom_range=0.0,
        channel_shift_range=0.0,
        fill_mode="nearest",
        cval=0.0,
        horizontal_flip=False,
        vertical_flip=False,
        rescale=None,
        preprocessing_function=None,
        data_format=None,
        validation_split=0.0,
        interpolation_order=1,
        dtype=None,
    ):
        if data_format is None:
            data_format = config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                '`data_format` should be `"channels_last"` (channel after row and column) or '
                f'`"channels_first"` (channel before row and column). Received: {data_format}'
            )
        if fill_mode not in _FILL_MODES:
            raise ValueError(
                f"Invalid `fill_mode`: {fill_mode!r}. Expected one of {_FILL_MODES}."
            )
        if interpolation_order not in (0, 1):
            raise ValueError(
                f"Invalid `interpolation_order`: {interpolation_order!r}. Lamina supports 0 "
                "(nearest) and 1 (bilinear)."
            )
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(
                "`validation_split` must be strictly between 0 and 1. "
                f"Received: {validation_split}"
            )
        if isinstance(zoom_range, numbers.Real):
            zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(v, numbers.Real) for v in zoom_range):
            zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(
                f"`zoom_range` should be a float or a tuple or list of two floats. Received: "
                f"{zoom_range}"
            )
        if brightness_range is not None and (
            not isinstance(brightness_range, (tuple, list)) or len(brightness_range) != 2
        ):
            raise ValueError(
                f"`brightness_range should be tuple or list of two floats. Received: "
                f"{brightness_range}"
            )

        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.zoom_range = zoom_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = config.floatx() if dtype is None else dtype
        self.interpolation_order = interpolation_order
        self.brightness_range = brightness_range
        self.data_format = data_format
        # Axes of a batch; a single image's axes are one less.
        if data_format == "channels_first":
            self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
        else:
            self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        self._validation_split = validation_split
        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None

        # Options that need others, switched on (or off) with a warning as in Keras 2.
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `zca_whitening`, which overrides "
                    "setting of `featurewise_center`.",
                    stacklevel=2,
                )
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn(
                    "This ImageDataGenerator specifies `zca_whitening` which overrides "
                    "setting of `featurewise_std_normalization`.",
                    stacklevel=2,
                )
        if featurewise_std_normalization and not featurewise_center:
            self.featurewise_center = True
            warnings.warn(
                "This ImageDataGenerator specifies `featurewise_std_normalization`, which "
                "overrides setting of `featurewise_center`.",
                stacklevel=2,
            )
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn(
                "This ImageDataGenerator specifies `samplewise_std_normalization`, which "
                "overrides setting of `samplewise_center`.",
                stacklevel=2,
            )

    def flow(
        self,
        x,
        y=None,
        batch_size=32,
        shuffle=True,
        sample_weight=None,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        ignore_class_split=False,
        subset=None,
    ):
        """Batches of augmented data from arrays; see ``NumpyArrayIterator`` for the arguments.

        Returns:
            A ``NumpyArrayIterator`` yielding ``x`` batches, ``(x, y)`` or
            ``(x, y, sample_weight)``; ``model.fit`` reads it directly.
        """
        return NumpyArrayIterator(
            x,
            y,
            self,
            batch_size=batch_size,
            shuffle=shuffle,
            sample_weight=sample_weight,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            ignore_class_split=ignore_class_split,
            subset=subset,
            dtype=self.dtype,
        )

    def flow_from_directory(
        self,
        directory,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        follow_links=False,
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
    ):
        """Batches of augmented images read from a directory with one sub-directory per class;
        see ``DirectoryIterator`` for the arguments.

        Returns:
            A ``DirectoryIterator`` yielding ``(x, y)`` batches (``x`` alone when
            ``class_mode=None``).
        """
        return DirectoryIterator(
            directory,
            self,
            target_size=target_size,
            color_mode=color_mode,
            keep_aspect_ratio=keep_aspect_ratio,
            classes=classes,
            class_mode=class_mode,
            data_format=self.data_format,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            follow_links=follow_links,
            subset=subset,
            interpolation=interpolation,
            dtype=self.dtype,
        )

    def standardize(self, x):
        """Apply the normalization options to an image or batch (in place where possible).

        Order: ``preprocessing_function``, ``rescale``, sample-wise centering and scaling,
        feature-wise centering and scaling, ZCA whitening.

        Args:
            x: An image (rank 3) or a batch of images.

        Returns:
            The standardized array.
        """
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is not None:
                x -= self.mean
            else:
                self._warn_not_fitted("featurewise_center")
        if self.featurewise_std_normalization:
            if self.std is not None:
                x /= self.std + 1e-6
            else:
                self._warn_not_fitted("featurewise_std_normalization")
        if self.zca_whitening:
            if self.zca_whitening_matrix is not None:
                flat = x.reshape(-1, math.prod(x.shape[-3:]))
                x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
            else:
                self._warn_not_fitted("zca_whitening")
        return x

    @staticmethod
    def _warn_not_fitted(option):
        warnings.warn(
            f"This ImageDataGenerator specifies `{option}`, but it hasn't been fit on any "
            "training data. Fit it first by calling `.fit(numpy_data)`.",
            stacklevel=3,
        )

    def _random_shift(self, shift_range, size):
        # A list (or an int) of allowed pixel shifts is sampled from, with a random sign; a float
        # is a uniform range. Fractions (< 1) are of the image size.
        try:
            shift = np.random.choice(shift_range)
            shift *= np.random.choice([-1, 1])
        except ValueError:
            shift = np.random.uniform(-shift_range, shift_range)
        if np.max(shift_range) < 1:
            shift *= size
        return shift

    def get_random_transform(self, img_shape, seed=None):
        """Draw random transformation parameters for one image.

        Args:
            img_shape: Shape of the image (rank 3, in the generator's data format).
            seed: Optional seed for ``np.random``.

        Returns:
            A dict with ``theta``, ``tx``, ``ty``, ``shear``, ``zx``, ``zy``, ``flip_horizontal``,
            ``flip_vertical``, ``channel_shift_intensity`` and ``brightness``.
        """
        if seed is not None:
            np.random.seed(seed)
        theta, tx, ty, shear = 0, 0, 0, 0
        if self.rotation_range:
            theta = np.random.uniform(-self.rotation_range, self.rotation_range)
        if self.height_shift_range:
            tx = self._random_shift(self.height_shift_range, img_shape[self.row_axis - 1])
        if self.width_shift_range:
            ty = self._random_shift(self.width_shift_range, img_shape[self.col_axis - 1])
        if self.shear_range:
            shear = np.random.uniform(-self.shear_range, self.shear_range)
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = np.random.uniform(
                -self.channel_shift_range, self.channel_shift_range
            )
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {
            "theta": theta,
            "tx": tx,
            "ty": ty,
            "shear": shear,
            "zx": zx,
            "zy": zy,
            "flip_horizontal": flip_horizontal,
            "flip_vertical": flip_vertical,
            "channel_shift_intensity": channel_shift_intensity,
            "brightness": brightness,
        }

    def apply_transform(self, x, transform_parameters):
        """Apply transformation parameters (as made by ``get_random_transform``) to one image.

        Args:
            x: A rank-3 image in the generator's data format.
            transform_parameters: Dict of parameters; missing keys mean "no change".

        Returns:
            The transformed image.
        """
        row_axis, col_axis = self.row_axis - 1, self.col_axis - 1
        channel_axis = self.channel_axis - 1
        params = transform_parameters
        x = apply_affine_transform(
            x,
            params.get("theta", 0),
            params.get("tx", 0),
            params.get("ty", 0),
            params.get("shear", 0),
            params.get("zx", 1),
            params.get("zy", 1),
            row_axis=row_axis,
            col_axis=col_axis,
            channel_axis=channel_axis,
            fill_mode=self.fill_mode,
            cval=self.cval,
            order=self.interpolation_order,
        )
        if params.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, params["channel_shift_intensity"], channel_axis)
        if params.get("flip_horizontal", False):
            x = flip_axis(x, col_axis)
        if params.get("flip_vertical", False):
            x = flip_axis(x, row_axis)
        if params.get("brightness") is not None:
            x = apply_brightness_shift(x, params["brightness"], False)
        return x

    def random_transform(self, x, seed=None):
        """Apply a random transformation to one image.

        Args:
            x: A rank-3 image in the generator's data format.
            seed: Optional seed for ``np.random``.

        Returns:
            The transformed image.
        """
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the dataset statistics used by the feature-wise options and ZCA whitening.

        Args:
            x: Rank-4 array of sample images (with ``rescale`` not yet applied).
            augment: Fit on randomly augmented copies of the samples.
            rounds: Number of augmented copies of each sample when ``augment=True``.
            seed: Optional seed for ``np.random``.
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(
                f"Input to `.fit()` should have rank 4. Got array with shape: {x.shape}"
            )
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(
                "Expected input to be images (as Numpy array) following the data format "
                f'convention "{self.data_format}" (channels on axis {self.channel_axis}), i.e. '
                f"expected either 1, 3 or 4 channels on axis {self.channel_axis}. However, it "
                f"was passed an array with shape {x.shape} ({x.shape[self.channel_axis]} "
                "channels).",
                stacklevel=2,
            )
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            augmented = np.zeros((rounds * x.shape[0],) + x.shape[1:], dtype=self.dtype)
            for r in range(rounds):
                for i in range(x.shape[0]):
                    augmented[i + r * x.shape[0]] = self.random_transform(x[i])
            x = augmented

        stats_shape = [1, 1, 1]
        stats_shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, self.row_axis, self.col_axis)).reshape(stats_shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, self.row_axis, self.col_axis)).reshape(stats_shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            n = len(x)
            flat = np.reshape(x, (n, -1))
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            s_inv = np.sqrt(n) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = (u * s_inv).dot(u.T)
