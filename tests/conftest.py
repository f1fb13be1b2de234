"""Shared test fixtures. Oracle tests compare against Keras 3 on the JAX backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _fast_oracle_compiles():
    """XLA flags that cut the oracle's compile time (most of an oracle test's cost) by about 60%.

    JAX compiles every eager op once per shape and dtype; on CPU most of that time is LLVM
    optimising code that then runs once on a few numbers. Level 0 and the older elemental emitters
    compile the same HLO without fast math: exp, log, erf, softmax, sums and matmuls give the same
    bits, tanh and gelu differ by at most one float32 ulp, far inside every test's tolerance. XLA
    aborts the process on a flag it does not know, so they are set only for the jaxlib series they
    were checked against (constraints.txt) and never over a user's own ``XLA_FLAGS``.
    """
    from importlib import metadata

    try:
        series = tuple(int(p) for p in metadata.version("jaxlib").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return
    if series == (0, 10):
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
        )


_fast_oracle_compiles()

import numpy as np
import pytest


def _import_oracle():
    """Keras 3 on the JAX backend, or a failure saying why it cannot serve as the oracle.

    A missing or misconfigured oracle fails the tests that need it instead of skipping them: a skip
    would let a run without Keras (a broken CI image, a typo in the pins) pass while comparing nothing.
    """
    try:
        import keras
    except ImportError as e:
        pytest.fail(
            f"oracle unavailable: keras could not be imported ({e}); install the test extra "
            "(`pip install -c constraints.txt -e .[test]`)",
            pytrace=False,
        )
    if keras.backend.backend() != "jax":
        pytest.fail(
            f"oracle must run on the JAX backend (KERAS_BACKEND=jax), found {keras.backend.backend()!r}",
            pytrace=False,
        )
    return keras


@pytest.fixture(scope="session")
def keras_oracle():
    """The Keras 3 module (JAX backend), imported once for the whole run; the session is not cleared."""
    return _import_oracle()


@pytest.fixture(scope="session")
def kops(keras_oracle):
    """``keras.ops`` of the oracle."""
    return keras_oracle.ops


@pytest.fixture
def oracle(keras_oracle):
    """The Keras 3 module with fresh name counters (``clear_session``) for each test.

    ``free_memory=False``: the garbage collection of a full clear costs more (about 0.1 s) than most
    comparisons, and no test depends on it.
    """
    keras_oracle.backend.clear_session(free_memory=False)
    return keras_oracle


@pytest.fixture(autouse=True)
def _fresh_session(request):
    """A fresh Lamina session and a fixed seed per test.

    Every test draws the same random numbers on every run, alone or in any order: an unseeded
    random layer or initializer can then neither pass nor fail by chance in CI.
    """
    import zlib

    import lamina.backend
    from lamina.backend import random as backend_random

    lamina.backend.clear_session()
    backend_random.set_random_seed(zlib.crc32(request.node.nodeid.encode()))
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving the folder ``server.root``; ``server.url(name)``
    is the address of a file in it. For download code: tests never reach the internet."""
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.root = root
    server.url = lambda name: f"http://127.0.0.1:{server.server_address[1]}/{name}"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
