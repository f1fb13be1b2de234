"""The application tests build Keras's largest models (the oracle) with ``weights=None``."""

import importlib

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _oracle_initial_weights_from_numpy(request, monkeypatch):
    """The oracle draws its initial weights with numpy instead of JAX in these tests.

    JAX compiles one random program per weight shape (a truncated normal costs about 50 ms), which
    was most of the time of an oracle application build (EfficientNetB1: 9 of 12 s). No test here
    compares those initial values with anything: structure tests compare names and shapes, output
    tests set every weight first, and file tests compare whatever values the file holds. Only the
    initial draws change; the numbers the oracle computes from its weights do not.
    """
    if "keras_oracle" not in request.fixturenames:
        return  # a test without the oracle needs neither keras nor this patch
    keras_oracle = request.getfixturevalue("keras_oracle")
    jax_random = importlib.import_module("keras.src.backend.jax.random")
    import jax.numpy as jnp

    rng = np.random.default_rng(0)

    def as_array(values, dtype):
        return jnp.asarray(values, dtype=dtype or keras_oracle.config.floatx())

    def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return as_array(rng.normal(mean, stddev, shape), dtype)

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return as_array(rng.uniform(minval, maxval, shape), dtype)

    def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        # Keras truncates at two standard deviations: redraw the values beyond.
        values = rng.standard_normal(shape)
        while (outside := np.abs(values) > 2.0).any():
            values[outside] = rng.standard_normal(int(outside.sum()))
        return as_array(values * stddev + mean, dtype)

    for draw in (normal, uniform, truncated_normal):
        monkeypatch.setattr(jax_random, draw.__name__, draw)
