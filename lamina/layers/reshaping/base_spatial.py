"""Shared bases of the spatial reshaping layers: cropping, zero padding, nearest upsampling.

Each base works for any number of spatial axes; the ``*1D``/``*2D``/``*3D`` modules fix the rank,
the argument forms Keras accepts for it, and the documentation.
"""

import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def _spatial_axes(rank, data_format):
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def repeat_spatial(x, axes, factors):
    """Repeat every element ``factors[i]`` times along ``axes[i]`` (nearest upsampling)."""
    if all(f == 1 for f in factors):
        return x
    # One expand + one reshape: a single copy, whatever the number of axes.
    view_shape, expand_shape, out_shape = [], [], []
    for axis, size in enumerate(x.shape):
        view_shape.append(size)
        expand_shape.append(size)
        if axis in axes:
            factor = factors[axes.index(axis)]
            view_shape.append(1)
            expand_shape.append(factor)
            out_shape.append(size * factor)
        else:
            out_shape.append(size)
    return x.reshape(view_shape).expand(expand_shape).reshape(out_shape)


class BaseCropping(Layer):
    """Removes ``cropping[i] = (before, after)`` cells from each end of spatial axis ``i``.

    Args:
        rank: Number of spatial axes.
        cropping: Tuple of ``rank`` pairs of non-negative ints (already standardized).
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``image_data_format()``.
    """

    def __init__(self, rank, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self._pairs = cropping
        self._axes = _spatial_axes(rank, self.data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _check(self, shape, what):
        for axis, (before, after) in zip(self._axes, self._pairs):
            if shape[axis] is not None and before + after >= shape[axis]:
                raise ValueError(
                    f"`cropping` of layer '{self.name}' must leave at least one cell on every "
                    f"cropped axis: it removes {before + after} cells from axis {axis}, which has "
                    f"{shape[axis]}. Received: {what}={tuple(shape)}, cropping={self._pairs}"
                )

    def call(self, inputs):
        self._check(inputs.shape, "inputs.shape")
        out = inputs
        for axis, (before, after) in zip(self._axes, self._pairs):
            out = out.narrow(axis, before, out.shape[axis] - before - after)
        return out

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check(input_shape, "input_shape")
        out = list(input_shape)
        for axis, (before, after) in zip(self._axes, self._pairs):
            if out[axis] is not None:
                out[axis] -= before + after
        return tuple(out)


class BaseZeroPadding(Layer):
    """Adds ``padding[i] = (before, after)`` zeros at each end of spatial axis ``i``.

    Args:
        rank: Number of spatial axes.
        padding: Tuple of ``rank`` pairs of non-negative ints (already standardized).
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``image_data_format()``.
    """

    def __init__(self, rank, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self._pairs = padding
        self._axes = _spatial_axes(rank, self.data_format)
        # F.pad lists (before, after) from the last axis backwards.
        trailing = [0, 0] if self.data_format == "channels_last" else []
        self._torch_pad = trailing + [v for pair in reversed(padding) for v in pair]
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        return F.pad(inputs, self._torch_pad)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (before, after) in zip(self._axes, self._pairs):
            if out[axis] is not None:
                out[axis] += before + after
        return tuple(out)


class BaseUpSampling(Layer):
    """Repeats each cell ``size[i]`` times along spatial axis ``i``.

    Args:
        rank: Number of spatial axes.
        size: Tuple of ``rank`` positive ints (already standardized).
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``image_data_format()``.
    """

    def __init__(self, rank, size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self._factors = size
        self._axes = _spatial_axes(rank, self.data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        return repeat_spatial(inputs, self._axes, self._factors)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, factor in zip(self._axes, self._factors):
            if out[axis] is not None:
                out[axis] *= factor
        return tuple(out)

