"""Compare an application built by Lamina with the same one built by Keras (the oracle)."""

import time

import numpy as np


def build_both(oracle, module, fn, **kwargs):
    import importlib

    import lamina

    lamina.backend.clear_session()
    oracle.backend.clear_session()
    start = time.perf_counter()
    ours = getattr(importlib.import_module(f"lamina.applications.{module}"), fn)(weights=None, **kwargs)
    built = time.perf_counter() - start
    theirs = getattr(oracle.applications, fn)(weights=None, **kwargs)
    return ours, theirs, built


def assert_same_structure(ours, theirs):
    """Same layers, weight paths (name scopes included, as NASNet's), shapes and counts."""
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()


def assert_same_outputs(ours, theirs, shape, rtol=1e-4, atol=1e-4, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    # Random (not zero) BN statistics, so normalization is really exercised.
    weights = [w if "variance" not in v.path else np.abs(w) + 0.5
               for w, v in zip([rng.normal(0, 0.05, w.shape).astype("float32") for w in theirs.get_weights()],
                               theirs.weights)]
    theirs.set_weights(weights)
    ours.set_weights(theirs.get_weights())
    x = (rng.uniform(0, 1, shape) * scale).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    got = np.asarray(ours.predict(x, verbose=0))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
