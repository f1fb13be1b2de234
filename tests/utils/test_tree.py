"""``lamina.tree`` against ``keras.tree``: the same leaves, paths, structures and errors."""

import collections

import numpy as np
import pytest
import torch

import lamina

Point = collections.namedtuple("Point", ["x", "y"])
OtherPoint = collections.namedtuple("OtherPoint", ["x", "y"])


class _MyList(list):
    pass


def _structures():
    return [
        42,
        None,
        "abc",
        np.zeros(2),
        [],
        (),
        {},
        [None, {}, [], ()],
        [[1, 2, 3], [4, [5], [[6]]]],
        {100: "world!", 6: "Hello"},
        {"b": [1, {"c": None}], "a": (2,)},
        collections.OrderedDict([("b", 1), ("a", 2)]),
        collections.defaultdict(int, {"b": 1, "a": 2}),
        collections.deque([1, [2, 3]]),
        Point(1, [2, 3]),
        {1: "a", "b": 2},
        {3, 4},
        _MyList([1, 2]),
        torch.Size([2, 3]),
        [{"k": (None, 3)}, Point(x=(1,), y={"z": [4]})],
    ]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return type(a) is type(b) and a == b


@pytest.mark.oracle
@pytest.mark.parametrize("index", range(len(_structures())))
def test_flatten_paths_nesting_match_keras(oracle, index):
    s = _structures()[index]
    k = _structures()[index]
    assert lamina.tree.is_nested(s) == oracle.tree.is_nested(k)
    ours, theirs = lamina.tree.flatten(s), oracle.tree.flatten(k)
    assert len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    ours_p = lamina.tree.flatten_with_path(s)
    theirs_p = oracle.tree.flatten_with_path(k)
    assert [p for p, _ in ours_p] == [p for p, _ in theirs_p]
    leaves = list(range(len(ours)))
    packed, packed_k = lamina.tree.pack_sequence_as(s, leaves), oracle.tree.pack_sequence_as(k, leaves)
    assert type(packed) is type(packed_k) and repr(packed) == repr(packed_k)
    assert repr(lamina.tree.lists_to_tuples(s)) == repr(oracle.tree.lists_to_tuples(k))
    f = lambda x: ("leaf", repr(x))  # noqa: E731
    assert repr(lamina.tree.map_structure(f, s)) == repr(oracle.tree.map_structure(f, k))
    assert repr(lamina.tree.map_structure(f, s, none_is_leaf=False)) == repr(
        oracle.tree.map_structure(f, k, none_is_leaf=False)
    )
    g = lambda x: repr(x)  # noqa: E731
    assert repr(lamina.tree.map_shape_structure(g, s)) == repr(oracle.tree.map_shape_structure(g, k))


@pytest.mark.oracle
def test_traverse_matches_keras(oracle):
    s = [(1, 2), [3], {"a": 4}]
    for top_down in (True, False):
        ours, theirs = [], []
        assert lamina.tree.traverse(ours.append, s, top_down) == oracle.tree.traverse(
            theirs.append, s, top_down
        )
        assert ours == theirs
    ours = lamina.tree.traverse(lambda x: lamina.tree.MAP_TO_NONE if x == 2 else None, [1, [2, 3]])
    theirs = oracle.tree.traverse(lambda x: oracle.tree.MAP_TO_NONE if x == 2 else None, [1, [2, 3]])
    assert ours == theirs == [1, [None, 3]]
    sizes = lambda x: len(x) if isinstance(x, tuple) else None  # noqa: E731
    assert lamina.tree.traverse(sizes, s) == oracle.tree.traverse(sizes, s)
    with pytest.raises(TypeError, match="callable"):
        lamina.tree.traverse(3, s)


@pytest.mark.oracle
def test_map_structure_several_and_dict_flavours_match_keras(oracle):
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    add = lambda a, b: a + b  # noqa: E731
    for a, b in [({"b": 1, "a": 2}, od), (od, {"b": 1, "a": 2}), ([[1], [2]], [[3], [4]])]:
        assert repr(lamina.tree.map_structure(add, a, b)) == repr(oracle.tree.map_structure(add, a, b))
    lamina.tree.assert_same_structure({"a": 1, "b": 2}, od)
    lamina.tree.assert_same_structure(Point(0, 1), Point(2, 3))
    assert lamina.tree.map_structure(lambda x: x * 2, Point(1, 2)) == Point(2, 4)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "a, b",
    [
        ([1, 2], (1, 2)),
        ([1, 2], [1, [2]]),
        ([1, 2], [1, 2, 3]),
        (Point(0, 1), OtherPoint(0, 1)),
        ({"a": 1}, {"b": 1}),
        ([1, None], [1, [2]]),
        (collections.deque([1]), [1]),
    ],
)
def test_structure_mismatches_raise_like_keras(oracle, a, b):
    with pytest.raises(ValueError):
        oracle.tree.assert_same_structure(a, b)
    with pytest.raises(ValueError):
        lamina.tree.assert_same_structure(a, b)
    with pytest.raises(ValueError):
        lamina.tree.map_structure(lambda *x: x, a, b)


@pytest.mark.oracle
def test_assert_same_paths_matches_keras(oracle):
    lamina.tree.assert_same_paths([0, 1], (2, 3))
    lamina.tree.assert_same_paths(Point(0, 1), OtherPoint(2, 3))
    oracle.tree.assert_same_paths(Point(0, 1), OtherPoint(2, 3))
    with pytest.raises(ValueError) as ours:
        lamina.tree.assert_same_paths([1, 2], [1, 2, 3])
    with pytest.raises(ValueError) as theirs:
        oracle.tree.assert_same_paths([1, 2], [1, 2, 3])
    assert str(ours.value) == str(theirs.value)


@pytest.mark.oracle
def test_map_structure_up_to_matches_keras(oracle):
    structure = [[1, 1], [2, 2]]
    for shallow in ([0, 0], [0, [0, 0]]):
        for func in (len, str):
            if func is len and shallow == [0, [0, 0]]:
                continue
            assert lamina.tree.map_structure_up_to(shallow, func, structure) == (
                oracle.tree.map_structure_up_to(shallow, func, structure)
            )
    pair = lambda a, b: (a, b)  # noqa: E731
    assert lamina.tree.map_structure_up_to([0, [0, 0]], pair, structure, [[3, 3], [4, 4]]) == (
        oracle.tree.map_structure_up_to([0, [0, 0]], pair, structure, [[3, 3], [4, 4]])
    )
    with pytest.raises(ValueError):
        lamina.tree.map_structure_up_to([0, [0, 0]], str, [[1, 1], 2])


def test_map_structure_up_to_accepts_none_placeholders_as_documented():
    # Keras's docstring examples use None in the shallow structure (Keras 3.15 itself rejects them).
    assert lamina.tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert lamina.tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == [
        "[1, 1]",
        ["2", "2"],
    ]


@pytest.mark.oracle
def test_pack_sequence_as_errors_and_leaf_structure(oracle):
    assert lamina.tree.pack_sequence_as(1, [5]) == oracle.tree.pack_sequence_as(1, [5]) == 5
    for structure, flat in (([1, 2], [1]), (1, [1, 2])):
        with pytest.raises(ValueError):
            oracle.tree.pack_sequence_as(structure, flat)
        with pytest.raises(ValueError, match="too (few|many) leaves"):
            lamina.tree.pack_sequence_as(structure, flat)
    structure = {"key3": {"c": ("alpha", "beta"), "a": ("gamma")}, "key1": {"e": "val1", "d": "val2"}}
    flat = ["val2", "val1", 3.0, 1.0, 2.0]
    assert lamina.tree.pack_sequence_as(structure, flat) == oracle.tree.pack_sequence_as(structure, flat)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least one structure"):
        lamina.tree.map_structure(len)
    with pytest.raises(TypeError, match="callable"):
        lamina.tree.map_structure(3, [1])


def test_public_names_match_keras_3_15():
    names = {
        "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path",
        "is_nested", "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to",
        "pack_sequence_as", "traverse",
    }
    assert names <= set(dir(lamina.tree))
