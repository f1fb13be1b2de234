"""Axis arguments shared by the per-sample normalization layers."""

import numbers


def standardize_axes_argument(axis):
    """``axis`` as an int or a list of ints, as Keras stores it; anything else is a ValueError."""
    if isinstance(axis, (list, tuple)):
        if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            raise ValueError(f"Expected an int or a list/tuple of ints for `axis`. Received: axis={axis!r}")
        if len(set(axis)) != len(axis):
            raise ValueError(f"Duplicate axis in `axis`. Received: axis={axis!r}")
        return [int(a) for a in axis]
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    raise ValueError(f"Expected an int or a list/tuple of ints for `axis`. Received: axis={axis!r}")


def check_axes_in_range(layer, axis, input_shape):
    """Raise a ValueError naming ``layer`` when an axis does not exist in ``input_shape``."""
    ndim = len(input_shape)
    for a in axis if isinstance(axis, list) else [axis]:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"Axis {a} is out of bounds for input shape {tuple(input_shape)} of layer "
                f"'{layer.name}'. Received: axis={axis}"
            )


def weight_spec(layer, axis, input_shape):
    """Sorted axes, the weight shape over them, and an ``InputSpec``-style ``axes`` dict.

    Every normalized axis must have a known size (it sizes the weights).
    """
    check_axes_in_range(layer, axis, input_shape)
    axes = sorted(axis) if isinstance(axis, list) else [axis]
    if len({a % len(input_shape) for a in axes}) != len(axes):
        raise ValueError(f"Layer '{layer.name}' got the same axis twice in axis={axis}.")
    shape = tuple(input_shape[a] for a in axes)
    if any(d is None for d in shape):
        raise ValueError(
            f"The normalized axes {axes} of the input to layer '{layer.name}' must have defined "
            f"sizes. Received input shape: {tuple(input_shape)}"
        )
    return axes, shape, {a: input_shape[a] for a in axes}


def min_rank(axes):
    """The smallest rank in which every axis of ``axes`` exists."""
    return max(a + 1 if a >= 0 else -a for a in axes)
