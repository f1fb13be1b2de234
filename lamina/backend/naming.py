"""Unique default names for layers and other objects (``dense``, ``dense_1``, ...)."""

import collections
import contextlib
import re

_UIDS = collections.defaultdict(int)


def to_snake_case(name):
    """``"Conv2DTranspose"`` -> ``"conv2d_transpose"``, ``"LSTM"`` -> ``"lstm"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def get_uid(prefix):
    """Return 1, 2, 3, ... for successive calls with the same prefix (0-based counter + 1)."""
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def unique_name(prefix):
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ..."""
    uid = get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def reset_uids():
    _UIDS.clear()


@contextlib.contextmanager
def preserved_uids():
    """Restore the default-name counters on exit (for throw-away builds that must not use names)."""
    saved = dict(_UIDS)
    try:
        yield
    finally:
        _UIDS.clear()
        _UIDS.update(saved)
