"""``rearrange``: einops-style axis reordering, splitting and merging, as ``keras.ops`` defines it."""

import math
import re

import torch

from lamina.ops._symbolic import records_keras_op

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\(([^()]*)\)|([A-Za-z_]\w*)|(\S)")


def _parse_side(side, pattern):
    """The axes groups of one side of a pattern: ``"b (h w) c"`` -> ``[["b"], ["h", "w"], ["c"]]``."""
    groups = []
    for match in _TOKEN.finditer(side):
        inner, name, other = match.groups()
        if other is not None:
            raise ValueError(
                f"Invalid rearrange pattern {pattern!r}: unexpected {other!r}. Axes are names, "
                "optionally grouped in parentheses (ellipsis and anonymous axes are not supported)."
            )
        if inner is not None:
            names = inner.split()
            if not names or not all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in names):
                raise ValueError(f"Invalid rearrange pattern {pattern!r}: bad group ({inner}).")
            groups.append(names)
        else:
            groups.append([name])
    return groups


def _parse(pattern):
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"A rearrange pattern has the form 'input axes -> output axes'. Received: {pattern!r}")
    left, right = (_parse_side(side, pattern) for side in pattern.split("->"))
    flat_in = [a for g in left for a in g]
    flat_out = [a for g in right for a in g]
    for side, flat in (("input", flat_in), ("output", flat_out)):
        repeated = sorted({a for a in flat if flat.count(a) > 1})
        if repeated:
            raise ValueError(f"Axes {repeated} appear more than once in the {side} of pattern {pattern!r}.")
    if set(flat_in) != set(flat_out):
        raise ValueError(
            f"Rearrange cannot add or drop axes: pattern {pattern!r} has input axes {flat_in} and "
            f"output axes {flat_out}."
        )
    return left, right, flat_in, flat_out


def _axis_lengths(left, shape, axes_lengths, pattern):
    """The length of every named axis (`None` where a symbolic dimension leaves it unknown)."""
    if len(left) != len(shape):
        raise ValueError(
            f"Pattern {pattern!r} describes {len(left)} axes, but the tensor has rank {len(shape)} "
            f"(shape {tuple(shape)})."
        )
    lengths = {}
    for group, dim in zip(left, shape):
        if len(group) == 1:
            name = group[0]
            if name in axes_lengths and dim is not None and axes_lengths[name] != dim:
                raise ValueError(f"Axis {name!r} has length {dim}, but {name}={axes_lengths[name]} was given.")
            lengths[name] = dim
            continue
        unknown = [a for a in group if a not in axes_lengths]
        known = math.prod(int(axes_lengths[a]) for a in group if a in axes_lengths)
        if len(unknown) > 1:
            raise ValueError(
                f"Cannot split an axis of length {dim} into {group}: give the lengths of all but one "
                f"of {unknown} as keyword arguments."
            )
        if dim is not None and (dim % known if unknown else dim != known):
            raise ValueError(
                f"Cannot split an axis of length {dim} into {group} with lengths "
                f"{ {a: axes_lengths[a] for a in group if a in axes_lengths} }."
            )
        for a in group:
            lengths[a] = int(axes_lengths[a]) if a in axes_lengths else (None if dim is None else dim // known)
    return lengths


def rearrange_output_shape(shape, pattern, **axes_lengths):
    """The shape `rearrange` gives a tensor of `shape` (`None` for unknown dimensions)."""
    left, right, _, _ = _parse(pattern)
    lengths = _axis_lengths(left, tuple(shape), axes_lengths, pattern)
    out = []
    for group in right:
        sizes = [lengths[a] for a in group]
        out.append(None if any(s is None for s in sizes) else math.prod(sizes))
    return tuple(out)


@records_keras_op("rearrange")
def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, split and merge axes, described by an einops-style pattern.

    The left side names the input axes, the right side their order in the output. A group in
    parentheses on the left splits an axis (give the lengths of all but one of its members as
    keyword arguments); on the right it merges axes into one. Every axis appears once on each side.

    Args:
        tensor: The input tensor.
        pattern: A string such as ``"b h w c -> b c h w"`` or ``"b (h1 h) w c -> (b h1) h w c"``.
        **axes_lengths: Lengths of the axes that a split needs, e.g. ``h1=2``.

    Returns:
        The rearranged tensor (a view where torch can make one).

    Example:

    >>> images = np.random.rand(32, 30, 40, 3)
    >>> lamina.ops.rearrange(images, "b h w c -> b c h w").shape
    torch.Size([32, 3, 30, 40])
    >>> lamina.ops.rearrange(images, "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=2).shape
    torch.Size([128, 15, 20, 3])
    """
    tensor = torch.as_tensor(tensor)
    left, right, flat_in, flat_out = _parse(pattern)
    lengths = _axis_lengths(left, tuple(tensor.shape), axes_lengths, pattern)
    x = tensor.reshape([lengths[a] for a in flat_in])
    x = x.permute([flat_in.index(a) for a in flat_out])
    return x.reshape([math.prod(lengths[a] for a in group) for group in right])
