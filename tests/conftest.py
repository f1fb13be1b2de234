"""Shared test fixtures. Oracle tests compare against Keras 3 on the JAX backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest


@pytest.fixture
def oracle():
    """The Keras 3 module (JAX backend); the test is skipped with a reason when it is missing."""
    try:
        import keras
    except ImportError as e:  # pragma: no cover - depends on the environment
        pytest.skip(f"oracle unavailable: keras could not be imported ({e})")
    if keras.backend.backend() != "jax":
        pytest.skip(f"oracle must run on the JAX backend, found {keras.backend.backend()!r}")
    keras.backend.clear_session()
    return keras


@pytest.fixture(autouse=True)
def _fresh_session():
    import lamina.backend

    lamina.backend.clear_session()
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
