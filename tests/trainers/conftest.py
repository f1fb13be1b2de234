"""Fixtures of the trainer tests: the oracle, and running the same training in Keras and Lamina."""

import numpy as np
import pytest

import lamina


class PerLib:
    """A compile/fit argument that differs per library: ``PerLib(lambda lib: lib.metrics.AUC())``."""

    def __init__(self, make):
        self.make = make


class Twin:
    """The same model in Keras (the oracle) and Lamina, trained side by side."""

    def __init__(self, keras):
        self.keras = keras

    def models(self, build):
        """``build(lib)`` with ``lib`` = keras, then lamina; the Keras weights are copied over."""
        keras_model, lamina_model = build(self.keras), build(lamina)
        lamina_model.set_weights(keras_model.get_weights())
        return keras_model, lamina_model

    def _resolve(self, lib, value):
        if isinstance(value, PerLib):
            return value.make(lib)
        if isinstance(value, dict):
            return {k: self._resolve(lib, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(lib, v) for v in value]
        return value

    def compile(self, keras_model, lamina_model, **kwargs):
        keras_model.compile(**self._resolve(self.keras, kwargs))
        lamina_model.compile(**self._resolve(lamina, kwargs))

    def call(self, method, keras_model, lamina_model, *args, **kwargs):
        """Call ``method`` on both models with library-specific arguments resolved."""
        expected = getattr(keras_model, method)(
            *self._resolve(self.keras, list(args)), **self._resolve(self.keras, kwargs)
        )
        actual = getattr(lamina_model, method)(
            *self._resolve(lamina, list(args)), **self._resolve(lamina, kwargs)
        )
        return expected, actual


@pytest.fixture
def twin(oracle):
    return Twin(oracle)


def _close(actual, expected, rtol, atol, what):
    if isinstance(expected, dict):
        assert list(actual) == list(expected), what
        for key in expected:
            _close(actual[key], expected[key], rtol, atol, f"{what}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            _close(a, e, rtol, atol, f"{what}[{i}]")
    else:
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol,
                                   err_msg=what)


@pytest.fixture
def assert_close():
    """``assert_close(actual, expected)``: same structure, keys in the same order, close values."""

    def check(actual, expected, rtol=1e-4, atol=1e-6, what="value"):
        _close(actual, expected, rtol, atol, what)

    return check


@pytest.fixture
def assert_same_weights(assert_close):
    def check(keras_model, lamina_model, rtol=1e-4, atol=1e-6):
        assert_close(lamina_model.get_weights(), keras_model.get_weights(), rtol, atol, "weights")

    return check


@pytest.fixture
def per_lib():
    """The `PerLib` marker class, for arguments built per library."""
    return PerLib
