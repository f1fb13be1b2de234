"""Fixtures of the preprocessing tests: Keras's Keras 2 preprocessing modules as the oracle."""

import importlib

import pytest


@pytest.fixture
def keras2(oracle):
    """``keras.preprocessing`` as Keras 3 ships it for Keras 2 code (``image``, ``sequence``,
    ``text``); it runs on the JAX backend without TensorFlow."""
    return importlib.import_module("keras._tf_keras.keras.preprocessing")
