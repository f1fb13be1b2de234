"""The per-thread state of the layer call in progress: the ``training`` flag handed down to
nested calls, the nesting depth, and the count of outermost calls (losses belong to one)."""

import threading


class _CallContext(threading.local):
    """Per-thread state of the layer call in progress.

    ``state`` is one tuple ``(training, depth, epoch)``: the call path reads it once and writes it
    twice per call (attribute access on a thread-local costs more than on a plain object).
    ``epoch`` counts outermost calls; a layer's losses belong to the epoch of its last call.
    """

    def __init__(self):
        self.state = (None, 0, 0)

    @property
    def training(self):
        return self.state[0]

    @property
    def depth(self):
        return self.state[1]

    @property
    def epoch(self):
        return self.state[2]


CONTEXT = _CallContext()


def call_context_training():
    """The ``training`` flag of the layer call in progress (``None`` outside a call or when
    none was given); Keras 2's ``K.in_train_phase`` reads it."""
    return CONTEXT.training
