"""Fixtures of the callback tests."""

import pytest


@pytest.fixture(scope="module")
def _keras():
    keras = pytest.importorskip("keras", reason="oracle unavailable: keras could not be imported")
    if keras.backend.backend() != "jax":
        pytest.skip(f"oracle must run on the JAX backend, found {keras.backend.backend()!r}")
    return keras


@pytest.fixture
def oracle(_keras):
    # The shared fixture's `clear_session()` also runs the garbage collector; only the name
    # counters need resetting here.
    _keras.backend.clear_session(free_memory=False)
    return _keras
