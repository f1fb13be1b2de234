"""``lamina.utils.tree``: the nested-structure utilities, which live in ``lamina.backend.tree`` (the
symbolic machinery on the ground floor needs them; DESIGN.md, issue 12)."""

from lamina.backend.tree import (  # noqa: F401
    MAP_TO_NONE,
    assert_same_paths,
    assert_same_structure,
    flatten,
    flatten_with_path,
    is_nested,
    lists_to_tuples,
    map_shape_structure,
    map_structure,
    map_structure_up_to,
    pack_sequence_as,
    traverse,
)
