"""Fixtures of the optimizer tests."""

import pytest


@pytest.fixture
def oracle():
    """Keras 3 (JAX) with a fresh session, as the shared fixture, but without its garbage collection
    (``free_memory=False``), which costs more than most comparisons in this folder."""
    try:
        import keras
    except ImportError as e:  # pragma: no cover - depends on the environment
        pytest.skip(f"oracle unavailable: keras could not be imported ({e})")
    if keras.backend.backend() != "jax":
        pytest.skip(f"oracle must run on the JAX backend, found {keras.backend.backend()!r}")
    keras.backend.clear_session(free_memory=False)
    return keras
