"""Normalisation of the size/stride/padding style arguments shared by spatial layers."""

import operator


def _as_int(value):
    # `operator.index` accepts Python and numpy integers and refuses floats and strings; bools are
    # refused too, since `True` silently meaning 1 would hide a misplaced argument.
    if isinstance(value, bool):
        raise TypeError
    return operator.index(value)


def standardize_tuple(value, n, name, allow_zero=False):
    """Turn an int or an iterable of ``n`` ints into a tuple of ``n`` ints.

    Args:
        value: An int (repeated ``n`` times) or an iterable of ``n`` ints.
        n: Length of the returned tuple.
        name: Argument name used in error messages.
        allow_zero: Whether ``0`` is accepted (negative values never are).

    Returns:
        A tuple of ``n`` Python ints.

    Raises:
        ValueError: naming the argument (in Keras's words) when ``value`` has the wrong form or
            holds values that are not strictly positive (non-negative when ``allow_zero``).
    """
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value!r}"
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        if hasattr(value, "__iter__"):
            items = tuple(_as_int(v) for v in value)
        else:
            items = (_as_int(value),) * n
    except TypeError:
        raise ValueError(message) from None
    if len(items) != n:
        raise ValueError(message)
    bound = ">= 0" if allow_zero else "> 0"
    bad = sorted({v for v in items if v < 0 or (v == 0 and not allow_zero)})
    if bad:
        raise ValueError(f"{message}, including values {bad} that do not satisfy `value {bound}`")
    return items


def standardize_padding(value, allowed=("valid", "same")):
    """Lower-case a padding mode and check it is one of ``allowed``.

    Raises:
        ValueError: naming ``padding``, the allowed values and the value received.
    """
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(
            f"The `padding` argument must be one of {list(allowed)}. Received: padding={value!r}"
        )
    return value.lower()


def standardize_pairs(value, n, name):
    """Per-axis ``(before, after)`` amounts for ``n`` spatial axes (cropping, zero padding).

    Accepted forms: an int (the same amount on both sides of every axis); ``n`` items, each an int
    (symmetric on that axis) or a pair ``(before, after)``.

    Returns:
        A tuple of ``n`` pairs of non-negative Python ints.
    """
    message = (
        f"The `{name}` argument must be an integer, a tuple of {n} integers, or a tuple of {n} "
        f"tuples of 2 integers, all >= 0. Received: {name}={value!r}"
    )
    if _is_int(value):
        if value < 0:
            raise ValueError(message)
        return ((int(value), int(value)),) * n
    if not hasattr(value, "__iter__") or isinstance(value, (str, bytes)):
        raise ValueError(message)
    entries = tuple(value)
    if len(entries) != n:
        raise ValueError(message)
    try:
        return tuple(standardize_tuple(entry, 2, name, allow_zero=True) for entry in entries)
    except ValueError:
        raise ValueError(message) from None


def _is_int(value):
    try:
        _as_int(value)
    except TypeError:
        return False
    return True
