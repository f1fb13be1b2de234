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


class CountingCompile:
    """A stand-in for ``torch.compile`` that counts how often it compiles (``compiles``) and how
    often what it compiled runs (``calls``). ``compile_``: the real compiler to use; by default
    the function is returned as it is."""

    def __init__(self, compile_=None):
        self.compiles = self.calls = 0
        self._compile = compile_

    def __call__(self, fn, **kwargs):
        self.compiles += 1
        compiled = self._compile(fn, **kwargs) if self._compile is not None else fn

        def run(*args):
            self.calls += 1
            return compiled(*args)

        return run
