"""Keras 2 backend: the global learning phase (``K.learning_phase``, ``K.set_learning_phase``,
``K.learning_phase_scope``) and ``K.in_train_phase`` / ``K.in_test_phase``.

The learning phase is 0 (test) or 1 (train). Once set, it is the default ``training`` argument
of every outermost layer or model call that does not pass one (``fit``, ``evaluate`` and
``predict`` pass their own), as in tf-keras 2.x; ``K.clear_session`` unsets it. Kept free of
heavy imports: ``Layer.__call__`` reads it.
"""

import contextlib
import warnings

from lamina.backend.call_context import call_context_training

_PHASE = None


def global_learning_phase():
    """The learning phase set with ``set_learning_phase`` / ``learning_phase_scope``, or
    ``None`` when none is set."""
    return _PHASE


def reset_learning_phase():
    """Unset the learning phase (``K.clear_session`` calls this, as Keras 2's does)."""
    global _PHASE
    _PHASE = None


def _check(value):
    if isinstance(value, bool) or value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1. Received: {value!r}")
    return int(value)


class LearningPhase(int):
    """The value ``learning_phase()`` returns: the int 0 or 1, which also marks, in the inputs of
    ``K.function``, where the caller feeds the phase (Keras 2's ``K.function([x,
    K.learning_phase()], outputs)`` then ``f([data, 1])`` runs the outputs in training mode)."""

    def __repr__(self):
        return int.__repr__(self)


def learning_phase():
    """The learning phase: 0 (test, the default) or 1 (train)."""
    return LearningPhase(0 if _PHASE is None else _PHASE)


def set_learning_phase(value):
    """Fix the learning phase to ``value`` (0 = test, 1 = train).

    Deprecated in Keras 2 (a warning says so): pass ``training=`` to the layer call instead.
    """
    global _PHASE
    warnings.warn(
        "`set_learning_phase` is deprecated: pass a True/False value to the `training` argument "
        "of the `__call__` method of your layer or model.",
        stacklevel=2,
    )
    _PHASE = _check(value)


@contextlib.contextmanager
def learning_phase_scope(value):
    """A scope in which the learning phase is ``value`` (0 or 1); the previous value, or no
    value, is restored on exit.

    Example:

    >>> with K.learning_phase_scope(1):
    ...     K.learning_phase()
    1
    """
    global _PHASE
    warnings.warn(
        "`learning_phase_scope` is deprecated: pass a True/False value to the `training` "
        "argument of the `__call__` method of your layer or model.",
        stacklevel=3,
    )
    value = _check(value)
    previous = _PHASE
    _PHASE = value
    try:
        yield
    finally:
        _PHASE = previous


def _resolve(x):
    return x() if callable(x) else x


def in_train_phase(x, alt, training=None):
    """``x`` in the training phase, ``alt`` otherwise (each a value or a callable returning
    one; only the chosen callable runs).

    ``training`` defaults to the ``training`` flag of the layer call in progress, then to
    ``learning_phase()``. A boolean tensor ``training`` selects element-wise with
    ``torch.where``.
    """
    if training is None:
        training = call_context_training()
    if training is None:
        training = learning_phase()
    if not hasattr(training, "shape"):
        if training in (1, True):
            return _resolve(x)
        if training in (0, False):
            return _resolve(alt)
    from lamina.backend.legacy.arrays import switch

    return switch(training, x, alt)


def in_test_phase(x, alt, training=None):
    """``x`` in the test phase, ``alt`` otherwise (``in_train_phase`` with the two swapped)."""
    return in_train_phase(alt, x, training=training)


__all__ = [
    "in_test_phase",
    "in_train_phase",
    "learning_phase",
    "learning_phase_scope",
    "set_learning_phase",
]


# ``K.clear_session`` unsets the learning phase, as Keras 2's does.
from lamina.backend._hooks import on_clear_session  # noqa: E402

on_clear_session(reset_learning_phase)
