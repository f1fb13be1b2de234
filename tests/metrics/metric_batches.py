"""Small random batches of every kind the metric tests feed (shared by the metric test modules)."""

import numpy as np

N, C = 8, 4


def make_batch(kind, rng):
    """One batch ``(y_true, y_pred)`` of the given kind."""
    if kind == "binary":
        return rng.integers(0, 2, (N, 1)).astype("float32"), rng.random((N, 1)).astype("float32")
    if kind == "binary_flat":
        # Scores on the threshold grid (0, 0.5, 1) exercise the ">" boundaries.
        scores = np.where(rng.random(N) < 0.3, rng.choice([0.0, 0.5, 1.0], N), rng.random(N))
        return rng.integers(0, 2, N).astype("float32"), scores.astype("float32")
    if kind == "multilabel":
        return rng.integers(0, 2, (N, C)).astype("float32"), rng.random((N, C)).astype("float32")
    if kind == "logits":
        return rng.integers(0, 2, (N, C)).astype("float32"), (3 * rng.standard_normal((N, C))).astype("float32")
    if kind in ("categorical", "categorical_logits"):
        y_true = np.eye(C, dtype="float32")[rng.integers(0, C, N)]
        logits = (2 * rng.standard_normal((N, C))).astype("float32")
        if kind == "categorical_logits":
            return y_true, logits
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        return y_true, probs.astype("float32")
    if kind in ("sparse", "sparse_col"):
        y_true, y_pred = make_batch("categorical", rng)
        ids = y_true.argmax(-1).astype("int32")
        return (ids[:, None] if kind == "sparse_col" else ids), y_pred
    if kind == "regression":
        return rng.standard_normal((N, 3)).astype("float32"), rng.standard_normal((N, 3)).astype("float32")
    if kind == "positive":
        return rng.random((N, 3)).astype("float32") + 0.1, rng.random((N, 3)).astype("float32") + 0.1
    if kind == "hinge":
        return rng.choice([-1.0, 1.0], (N, C)).astype("float32"), rng.standard_normal((N, C)).astype("float32")
    if kind == "ids":
        return rng.integers(0, C, N).astype("int32"), rng.integers(0, C, N).astype("int32")
    if kind == "ids_2d":
        return rng.integers(0, C, (2, N)).astype("int32"), rng.integers(-1, C + 1, (2, N)).astype("int32")
    if kind == "onehot2":
        return np.eye(2, dtype="float32")[rng.integers(0, 2, N)], rng.random((N, 2)).astype("float32")
    raise AssertionError(kind)


