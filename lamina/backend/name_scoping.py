"""``name_scope``: a sub-namespace for the paths of variables created inside it."""

import threading


class _Stack(threading.local):
    def __init__(self):
        self.scopes = []


_STACK = _Stack()


class name_scope:
    """Prefix the ``path`` of variables created inside the scope with ``name``.

    Args:
        name: Scope name (a string without ``/``).
        caller: Optional object opening the scope; re-entering a scope with the same name and
            caller directly inside itself adds no new level (when ``deduplicate``).
        deduplicate: See ``caller``.
        override_parent: An absolute path that replaces the enclosing scopes' path.

    Example:

    >>> with lamina.name_scope("block"):
    ...     v = lamina.Variable(np.zeros(2), name="w")
    >>> v.path
    'block/w'
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                "Argument `name` must be a string and cannot contain character `/`. "
                f"Received: name={name}"
            )
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        self._pushed = False

    def __enter__(self):
        stack = _STACK.scopes
        if self.deduplicate and stack and self.caller is not None:
            parent = stack[-1]
            if parent.caller is self.caller and parent.name == self.name:
                return self
        stack.append(self)
        self._pushed = True
        return self

    def __exit__(self, *exc):
        if self._pushed:
            _STACK.scopes.pop()
            self._pushed = False


def current_path():
    """The ``/``-joined path of the open name scopes (``""`` outside any)."""
    parts = []
    for scope in _STACK.scopes:
        if scope.override_parent is not None:
            parts = [p for p in scope.override_parent.split("/") if p]
        parts.append(scope.name)
    return "/".join(parts)


def innermost_caller():
    """The ``caller`` of the innermost open scope (``None`` outside any)."""
    return _STACK.scopes[-1].caller if _STACK.scopes else None
