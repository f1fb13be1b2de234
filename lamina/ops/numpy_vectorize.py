"""``vectorize``: turn a function of single elements (or of core sub-arrays, with a NumPy
``signature``) into one that maps over the leading axes of its inputs, with ``torch.func.vmap``
(re-exported by ``lamina.ops.numpy``)."""

import functools
import math
import re

import torch

from lamina.ops._utils import public_names, tensor

_CORE = re.compile(r"\(([^()]*)\)")
_CORES = re.compile(r"\([^()]*\)(,\([^()]*\))*")


def _parse_signature(signature):
    """The core axes of each input: ``"(m,n),(n)->(m)"`` -> ``[["m", "n"], ["n"]]``."""
    if "->" not in signature:
        raise ValueError(f"Invalid `signature` {signature!r}: expected e.g. '(m,n),(n)->(m)'.")
    inputs, outputs = signature.replace(" ", "").split("->")

    if not (_CORES.fullmatch(inputs) and _CORES.fullmatch(outputs)):
        raise ValueError(f"Invalid `signature` {signature!r}: expected e.g. '(m,n),(n)->(m)'.")
    return [[d for d in g.split(",") if d] for g in _CORE.findall(inputs)]


def vectorize(pyfunc, *, excluded=None, signature=None):
    """Make ``pyfunc`` map over the leading (broadcast) axes of its tensor arguments.

    Args:
        pyfunc: A function of tensors written with ``lamina.ops`` (or torch) operations.
        excluded: Positions (ints) or names (strs) of arguments passed through unchanged.
        signature: NumPy generalized-ufunc signature such as ``"(n),(n)->()"``: the trailing
            "core" axes each argument hands to ``pyfunc``. Default: every argument is taken
            element by element.

    Returns:
        The vectorized function.

    Example:

    >>> dot = ops.vectorize(lambda a, b: ops.sum(a * b), signature="(n),(n)->()")
    >>> dot(ops.ones((4, 3)), ops.ones((3,))).shape
    torch.Size([4])
    """
    excluded = set(excluded or ())
    cores_in = _parse_signature(signature) if signature is not None else None

    @functools.wraps(pyfunc)
    def wrapper(*args, **kwargs):
        positions = [i for i in range(len(args)) if i not in excluded]
        names = [k for k in kwargs if k not in excluded]
        tensors = [tensor(args[i]) for i in positions] + [tensor(kwargs[k]) for k in names]
        cores = cores_in if cores_in is not None else [[]] * len(tensors)
        if len(cores) != len(tensors):
            raise ValueError(
                f"`signature` {signature!r} names {len(cores)} inputs; the call passes {len(tensors)} tensors."
            )
        loop_shapes = [t.shape[: t.ndim - len(c)] for t, c in zip(tensors, cores)]
        loop = torch.broadcast_shapes(*loop_shapes)
        flat = [
            torch.broadcast_to(t, tuple(loop) + t.shape[t.ndim - len(c):]).reshape((-1,) + t.shape[t.ndim - len(c):])
            for t, c in zip(tensors, cores)
        ]

        def call(*mapped):
            new_args, new_kwargs = list(args), dict(kwargs)
            for i, v in zip(positions, mapped[: len(positions)]):
                new_args[i] = v
            for k, v in zip(names, mapped[len(positions):]):
                new_kwargs[k] = v
            return pyfunc(*new_args, **new_kwargs)

        if math.prod(loop) == 0 or not flat:
            raise ValueError("`vectorize` needs at least one tensor argument with a non-empty loop shape.")
        out = torch.func.vmap(call)(*flat)
        if isinstance(out, tuple):
            return tuple(o.reshape(tuple(loop) + o.shape[1:]) for o in out)
        return out.reshape(tuple(loop) + out.shape[1:])

    return wrapper


__all__ = public_names(globals(), __name__)
