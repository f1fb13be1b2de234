"""Whole-shaped stand-ins for sharded variables while shapes are inferred.

A variable held as its shard (``sharded_variables.ShardedVariable``) has its shard's shape, but
a layer's symbolic call (``keras.Input`` -> output shape, run on fake tensors) must see the
variable's whole shape. Inside ``whole_views()`` every such variable holds a stand-in of its whole
shape that takes one element of memory (a broadcast scalar): shape inference never gathers (a
collective) nor materializes a weight. Kept free of ``torch.distributed`` imports: layers ask
``views_needed()`` on every symbolic call.
"""

import contextlib
import weakref

import torch

_RECORDS = weakref.WeakSet()  # every ShardedVariable record alive
_OPEN = []  # the stand-ins in place: [(record, the shard it replaced)], while whole_views() runs
_DEPTH = [0]


def track(record):
    """Register a new record; inside ``whole_views()`` it takes its stand-in at once."""
    _RECORDS.add(record)
    if _DEPTH[0]:
        _stand_in(record)


def views_needed():
    """Whether any variable is held as a shard (cheap: checked on every symbolic call)."""
    return bool(_RECORDS)


def views_active():
    """Whether ``whole_views()`` is running (no collective may start then)."""
    return _DEPTH[0] > 0


def _stand_in(record):
    variable = record.variable
    if record.whole or tuple(variable.shape) == tuple(record.shape):
        return
    _OPEN.append((record, variable.data))
    with torch.no_grad():
        variable.data = variable.data.new_zeros(()).expand(record.shape)


@contextlib.contextmanager
def whole_views():
    """Inside the block, sharded variables have their whole shapes (and no meaningful values)."""
    _DEPTH[0] += 1
    if _DEPTH[0] == 1:
        for record in list(_RECORDS):
            _stand_in(record)
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        if _DEPTH[0] == 0:
            with torch.no_grad():
                while _OPEN:
                    record, shard = _OPEN.pop()
                    record.variable.data = shard
