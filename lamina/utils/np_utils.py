"""Keras 2 module path ``keras.utils.np_utils``: NumPy one-hot / ordinal encoding and
normalization (NumPy in, NumPy out, ``float32`` by default)."""

import numpy as np


def _class_vector(y, num_classes):
    y = np.array(y, dtype="int")
    shape = y.shape
    # A trailing axis of size 1 is the class axis of a column vector, not a batch axis.
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = tuple(shape[:-1])
    y = y.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(y)) + 1
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"Class values must be in [0, {num_classes}). Received values from {y.min()} to {y.max()}.")
    return y, shape, int(num_classes)


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class values; the class axis is added last.

    Args:
        y: Array-like of integers in ``[0, num_classes)``; a trailing axis of size 1 is dropped.
        num_classes: Number of classes (``max(y) + 1`` by default).
        dtype: Dtype of the result.

    Returns:
        A NumPy array of shape ``y.shape + (num_classes,)``.

    Example:

    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    y, shape, num_classes = _class_vector(y, num_classes)
    categorical = np.zeros((y.shape[0], num_classes), dtype=dtype)
    categorical[np.arange(y.shape[0]), y] = 1
    return categorical.reshape(shape + (num_classes,))


def to_ordinal(y, num_classes=None, dtype="float32"):
    """Ordinal encoding: class ``k`` becomes ``k`` ones followed by zeros, over
    ``num_classes - 1`` columns.

    Example:

    >>> to_ordinal([0, 2], num_classes=3)
    array([[0., 0.],
           [1., 1.]], dtype=float32)
    """
    y, shape, num_classes = _class_vector(y, num_classes)
    ordinal = (np.arange(num_classes - 1)[None, :] < y[:, None]).astype(dtype)
    return ordinal.reshape(shape + (num_classes - 1,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms leave the values as they
    are)."""
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["normalize", "to_categorical", "to_ordinal"]
