"""Minimal nested-structure helpers (lists, tuples, dicts) for layer inputs and outputs.

Dicts are traversed in sorted-key order, as Keras does, so flattening is deterministic.
"""


def is_nested(x):
    return isinstance(x, (list, tuple, dict))


def flatten(structure):
    """Leaves of ``structure`` in a deterministic order (``None`` leaves are kept)."""
    if isinstance(structure, (list, tuple)):
        out = []
        for item in structure:
            out.extend(flatten(item))
        return out
    if isinstance(structure, dict):
        out = []
        for key in sorted(structure):
            out.extend(flatten(structure[key]))
        return out
    return [structure]


def map_structure(fn, structure):
    """Apply ``fn`` to every leaf, keeping the structure (tuples stay tuples)."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        items = [map_structure(fn, s) for s in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def pack_sequence_as(structure, flat):
    """Inverse of ``flatten``: rebuild ``structure`` with leaves taken from ``flat``."""
    it = iter(flat)

    def _pack(s):
        if isinstance(s, list):
            return [_pack(x) for x in s]
        if isinstance(s, tuple):
            items = [_pack(x) for x in s]
            return type(s)(*items) if hasattr(s, "_fields") else tuple(items)
        if isinstance(s, dict):
            packed = {k: _pack(s[k]) for k in sorted(s)}
            return {k: packed[k] for k in s}
        return next(it)

    return _pack(structure)
