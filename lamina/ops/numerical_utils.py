"""Numerical helpers for NumPy data and tensors: one-hot class matrices and array normalization.

Public as ``keras.utils.to_categorical`` / ``keras.utils.normalize`` (``lamina/utils/__init__.py``
re-exports them); the module sits with the ops because their tensor paths are ops.
"""

import numpy as np
import torch

from lamina import ops


def to_categorical(x, num_classes=None):
    """Convert a vector of class ids (integers in ``[0, num_classes)``) to a one-hot class matrix.

    Args:
        x: Array-like of class ids. A trailing axis of size 1 is dropped, so ``(n, 1)`` and ``(n,)``
            give the same result.
        num_classes: Total number of classes. If ``None``, ``max(x) + 1``.

    Returns:
        A NumPy array (float64, as Keras) with the class axis last, or a ``floatx()`` torch tensor
        when ``x`` is a torch tensor.

    Example:

    >>> to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    is_tensor = isinstance(x, torch.Tensor)
    ids = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    if ids.dtype.kind not in "iub" and not (ids.dtype.kind == "f" and np.all(ids == np.round(ids))):
        raise ValueError(f"`x` must hold integer class ids. Received an array of dtype {ids.dtype}.")
    ids = ids.astype("int64")
    if ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids.reshape(ids.shape[:-1])
    if num_classes is None:
        if ids.size == 0:
            raise ValueError("`num_classes` is required when `x` is empty.")
        num_classes = int(ids.max()) + 1
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(
            f"Class ids must be in [0, num_classes={num_classes}). "
            f"Received values in [{ids.min()}, {ids.max()}]."
        )
    if is_tensor:
        return ops.one_hot(x.reshape(ids.shape), num_classes)
    categorical = np.zeros((ids.size, num_classes))
    categorical[np.arange(ids.size), ids.reshape(-1)] = 1
    return categorical.reshape(ids.shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors are left as zeros).

    Args:
        x: Array to normalize. A NumPy array (or array-like) gives a NumPy array; a torch tensor
            gives a tensor (computed with ``lamina.ops.normalize``).
        axis: Axis along which to normalize.
        order: Normalization order (e.g. ``order=2`` for the L2 norm).

    Returns:
        A normalized copy of ``x``.
    """
    if isinstance(x, torch.Tensor):
        return ops.normalize(x, axis=axis, order=order)
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm = np.where(norm == 0, 1, norm)
    return x / norm
