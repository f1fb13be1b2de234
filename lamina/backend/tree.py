"""Nested structures (``keras.tree``): flatten, map and rebuild lists, tuples, dicts and friends.

The nodes are exactly the containers Keras treats as nodes: ``list``, ``tuple``, namedtuples and
struct sequences, ``dict``, ``collections.OrderedDict``, ``collections.defaultdict`` and
``collections.deque``. Everything else -- strings, arrays, tensors, sets, ``None``, and subclasses of
the containers -- is a leaf. Dict values are visited in sorted-key order (insertion order when the
keys cannot be sorted, and always for ``OrderedDict``), so flattening is deterministic and
``pack_sequence_as`` inverts ``flatten``.
"""

import collections

_SEQUENCE_TYPES = (list, tuple, collections.deque)
_MAPPING_TYPES = (dict, collections.OrderedDict, collections.defaultdict)
_NODE_TYPES = frozenset(_SEQUENCE_TYPES + _MAPPING_TYPES)


class MAP_TO_NONE:
    """Return this class from a ``traverse`` function to replace a subtree with ``None``."""


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure):
    """Whether ``structure`` is a node (a sequence, mapping or namedtuple) rather than a leaf.

    Example:

    >>> lamina.tree.is_nested(42)
    False
    >>> lamina.tree.is_nested({"foo": 42})
    True
    """
    kind = type(structure)
    if kind in _NODE_TYPES:
        return True
    # Leaves (tensors, arrays, numbers) are the common case: one isinstance decides them.
    if not isinstance(structure, tuple):
        return False
    return hasattr(kind, "_fields") or hasattr(kind, "n_sequence_fields")


def _dict_keys(d):
    """Keys in visiting order: sorted, or insertion order for OrderedDict / unsortable keys."""
    if type(d) is collections.OrderedDict:
        return list(d)
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _children(structure):
    """``(keys, values)`` of a node's direct children, in visiting order."""
    if isinstance(structure, dict):
        keys = _dict_keys(structure)
        return keys, [structure[k] for k in keys]
    values = list(structure)
    return list(range(len(values))), values


def _rebuild(node, values):
    """A node of the same type as ``node`` holding ``values`` (in visiting order)."""
    kind = type(node)
    if kind is list:
        return list(values)
    if kind is tuple:
        return tuple(values)
    if isinstance(node, dict):
        by_key = dict(zip(_dict_keys(node), values))
        if kind is collections.defaultdict:
            out = collections.defaultdict(node.default_factory)
            for k in node:
                out[k] = by_key[k]
            return out
        return kind((k, by_key[k]) for k in node)
    if kind is collections.deque:
        return collections.deque(values, maxlen=node.maxlen)
    if _is_namedtuple(node):
        return kind(*values)
    return kind(values)  # struct sequence


def _is_leaf(x, none_is_leaf=True):
    if x is None:
        return none_is_leaf
    return not is_nested(x)


def _flatten_into(structure, out):
    if not is_nested(structure):
        out.append(structure)
        return
    for value in _children(structure)[1]:
        _flatten_into(value, out)


def flatten(structure):
    """Leaves of ``structure`` as a list (``None`` is a leaf; dicts in sorted-key order).

    Example:

    >>> lamina.tree.flatten([[1, 2, 3], [4, [5], [[6]]]])
    [1, 2, 3, 4, 5, 6]
    >>> lamina.tree.flatten({100: "world!", 6: "Hello"})
    ['Hello', 'world!']
    """
    kind = type(structure)
    # Layers and the training step flatten on every call: a bare leaf and plain lists/tuples of
    # tensors take fast paths.
    if kind is list or kind is tuple:
        if not any(is_nested(s) for s in structure):
            return list(structure)
    elif not is_nested(structure):
        return [structure]
    out = []
    _flatten_into(structure, out)
    return out


def flatten_with_path(structure):
    """Like ``flatten``, but each leaf comes with its path: a tuple of indices and dict keys.

    Example:

    >>> lamina.tree.flatten_with_path([{"foo": 42}])
    [((0, 'foo'), 42)]
    """
    out = []

    def _walk(s, path):
        if not is_nested(s):
            out.append((path, s))
            return
        for key, value in zip(*_children(s)):
            _walk(value, path + (key,))

    _walk(structure, ())
    return out


def _mismatch(expected, got):
    return ValueError(
        "The two structures don't have the same nested structure. Expected a "
        f"{type(expected).__name__} like {expected!r}, received {got!r}."
    )


def _same_node(a, b):
    """Whether nodes ``a`` and ``b`` have the same type and children keys (dict flavours match)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and is_nested(b) and set(a) == set(b)
    return type(a) is type(b) and len(a) == len(b)


def _map(func, structures, none_is_leaf, up_to=False):
    first = structures[0]
    if (first is None and not none_is_leaf) or _is_leaf(first, none_is_leaf):
        rest = structures[1:]
        if first is None and not none_is_leaf:
            for other in rest:
                if other is not None:
                    raise _mismatch(first, other)
            return None
        if not up_to:
            for other in rest:
                if not _is_leaf(other, none_is_leaf) or (other is None and not none_is_leaf):
                    raise ValueError(
                        "Structures don't have the same nested structure: a leaf "
                        f"({first!r}) lines up with {other!r}."
                    )
        return func(*structures)
    for other in structures[1:]:
        if not _same_node(first, other):
            raise _mismatch(first, other)
    keys, first_values = _children(first)
    columns = [first_values]
    for other in structures[1:]:
        columns.append([other[k] for k in keys] if isinstance(first, dict) else list(other))
    mapped = [_map(func, list(group), none_is_leaf, up_to) for group in zip(*columns)]
    return _rebuild(first, mapped)


def map_structure(func, *structures, none_is_leaf=True):
    """Apply ``func`` to the leaves of one or more structures of the same layout.

    Args:
        func: Callable taking as many arguments as there are structures.
        *structures: Structures with the same nesting (dict flavours with the same keys match).
        none_is_leaf: If ``False``, ``None`` values are kept as they are instead of being passed to
            ``func``.

    Returns:
        A new structure laid out like the first one.

    Example:

    >>> lamina.tree.map_structure(lambda x, y: x * y, [[1], [2]], [[3], [4]])
    [[3], [8]]
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func!r}")
    if len(structures) == 1:
        # One structure needs no layout checks; a bare leaf (a batch's single array) is mapped
        # directly.
        structure = structures[0]
        if structure is None:
            return func(None) if none_is_leaf else None
        if not is_nested(structure):
            return func(structure)
    return _map(func, structures, none_is_leaf)


def map_structure_up_to(shallow_structure, func, *structures):
    """Map ``func`` over ``structures`` only down to the leaves of ``shallow_structure``.

    Deeper parts of ``structures`` are passed to ``func`` whole.

    Example:

    >>> lamina.tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]])
    [2, 2]
    >>> lamina.tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]])
    ['[1, 1]', ['2', '2']]
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    return _map(lambda _, *args: func(*args), (shallow_structure,) + structures, True, up_to=True)


def assert_same_structure(a, b, check_types=None):
    """Raise ``ValueError`` unless ``a`` and ``b`` are nested the same way.

    Lists, tuples, namedtuples and deques are different structures; ``dict``, ``OrderedDict`` and
    ``defaultdict`` with the same keys are the same. ``check_types`` is accepted and ignored, as in
    Keras 3.
    """
    map_structure(lambda *_: None, a, b)


def _paths(structure):
    return {path for path, _ in flatten_with_path(structure)}


def assert_same_paths(a, b):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (container types ignored)."""
    a_paths, b_paths = _paths(a), _paths(b)
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence):
    """Inverse of ``flatten``: ``structure`` rebuilt with its leaves taken from ``flat_sequence``.

    Example:

    >>> lamina.tree.pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
    {'b': 3, 'a': [1, 2]}
    """
    flat = list(flat_sequence)
    position = 0

    def _pack(s):
        nonlocal position
        if not is_nested(s):
            if position >= len(flat):
                raise ValueError(
                    f"`flat_sequence` has too few leaves for `structure`: got {len(flat)}."
                )
            position += 1
            return flat[position - 1]
        return _rebuild(s, [_pack(v) for v in _children(s)[1]])

    packed = _pack(structure)
    if position != len(flat):
        raise ValueError(
            f"`flat_sequence` has too many leaves for `structure`: expected {position}, "
            f"got {len(flat)}."
        )
    return packed


def traverse(func, structure, top_down=True):
    """Visit every subtree depth-first, optionally replacing it by what ``func`` returns.

    Top down, a non-``None`` result replaces the subtree and stops the descent into it; bottom up,
    children are traversed first and a non-``None`` result replaces the rebuilt subtree. Return
    ``MAP_TO_NONE`` to replace a subtree with ``None``.

    Example:

    >>> v = []
    >>> lamina.tree.traverse(v.append, [(1, 2), [3]])
    [(1, 2), [3]]
    >>> v
    [[(1, 2), [3]], (1, 2), 1, 2, [3], 3]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func!r}")

    def _children_traversed(s):
        if not is_nested(s):
            return s
        return _rebuild(s, [traverse(func, c, top_down) for c in _children(s)[1]])

    if top_down:
        result = func(structure)
        if result is None:
            return _children_traversed(structure)
    else:
        traversed = _children_traversed(structure)
        result = func(traversed)
        if result is None:
            return traversed
    return None if result is MAP_TO_NONE else result


def lists_to_tuples(structure):
    """The same structure with every ``list`` turned into a ``tuple``."""
    return traverse(lambda s: tuple(s) if isinstance(s, list) else None, structure, top_down=False)


def _is_shape(x):
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func, structure):
    """Like ``map_structure``, but lists/tuples of ints and ``None`` (shapes) are leaves."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, c) for c in _children(structure)[1]])
