"""Stand-ins for ``torch.compile`` that make a compiled step measurably slower, shared by the
tests of the measure-and-keep-the-faster choice (train, evaluate and predict steps)."""

import time


def burn(seconds):
    """Keep the CPU busy for ``seconds`` of this process's CPU time (a slower step on any clock:
    a sleep would only be slower on the wall clock, which a loaded machine's timing ignores)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def fake_compile(delay):
    """A stand-in for ``torch.compile``: the same function, ``delay`` seconds slower per call."""

    def compile_(fn, **kwargs):
        def run(*args):
            burn(delay)
            return fn(*args)

        return run

    return compile_
