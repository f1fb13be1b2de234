"""Differential tests: every metric against Keras 3 (JAX backend) over several batches.

Each case feeds the same batches to both libraries, with and without ``sample_weight``, and
compares ``result()`` after every ``update_state``, then after ``reset_state()`` and one more batch.
Variable names/shapes and ``get_config()`` are compared too.
"""

import zlib

import numpy as np
import pytest

import lamina.metrics as lm
from metric_batches import C, N, make_batch

# Warnings the oracle itself emits (JAX without x64, Keras' adjusted-R2 fallback notice).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64"),
    pytest.mark.filterwarnings("ignore:More independent predictors than datapoints"),
]


# (class name, constructor kwargs, data kind)
CASES = [
    ("Accuracy", {}, "ids"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "multilabel"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_col"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse_col"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 7, "curve": "PR"}, "binary_flat"),
    ("AUC", {"num_thresholds": 11, "curve": "PR", "summation_method": "minoring"}, "multilabel"),
    ("AUC", {"num_thresholds": 11, "summation_method": "majoring"}, "multilabel"),
    ("AUC", {"curve": "PRGAIN", "num_thresholds": 9}, "binary"),
    ("AUC", {"multi_label": True, "num_thresholds": 13}, "multilabel"),
    ("AUC", {"multi_label": True, "num_labels": C, "label_weights": [0.1, 0.2, 0.3, 0.4], "curve": "PR"}, "multilabel"),
    ("AUC", {"label_weights": [1.0, 0.5, 0.0, 2.0]}, "multilabel"),
    ("AUC", {"from_logits": True, "thresholds": [0.2, 0.5, 0.6]}, "logits"),
    ("AUC", {"thresholds": [0.25, 0.5, 0.75], "multi_label": True}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, "binary_flat"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 1, "thresholds": [0.3, 0.6]}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"top_k": 1, "class_id": 2}, "multilabel"),
    ("Recall", {"thresholds": [0.1, 0.4, 0.9]}, "multilabel"),
    ("PrecisionAtRecall", {"recall": 0.6, "num_thresholds": 20}, "binary_flat"),
    ("RecallAtPrecision", {"precision": 0.5}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.4, "num_thresholds": 1}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "class_id": 0}, "multilabel"),
    ("TruePositives", {}, "binary"),
    ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}, "binary_flat"),
    ("FalsePositives", {"thresholds": [0.2, 0.7]}, "multilabel"),
    ("FalseNegatives", {}, "multilabel"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": 0}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("R2Score", {"class_aggregation": None, "num_regressors": 2}, "regression"),
    ("R2Score", {"num_regressors": 30}, "regression"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("F1Score", {}, "categorical"),
    ("F1Score", {"average": "micro", "threshold": 0.5}, "multilabel"),
    ("FBetaScore", {"average": "macro", "beta": 2.0, "threshold": 0.4}, "multilabel"),
    ("FBetaScore", {"average": "weighted", "beta": 0.5}, "categorical"),
    ("MeanIoU", {"num_classes": C}, "ids"),
    ("MeanIoU", {"num_classes": C, "ignore_class": 0}, "ids_2d"),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]}, "ids"),
    ("IoU", {"num_classes": 2, "target_class_ids": [1], "sparse_y_true": False, "sparse_y_pred": False}, "onehot2"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.4}, "binary"),
    ("BinaryIoU", {}, "multilabel"),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [1, 3]}, "categorical"),
    ("OneHotMeanIoU", {"num_classes": C}, "categorical"),
    ("Hinge", {}, "hinge"),
    ("Hinge", {}, "multilabel"),
    ("SquaredHinge", {}, "hinge"),
    ("CategoricalHinge", {}, "categorical"),
    ("KLDivergence", {}, "categorical"),
    ("Poisson", {}, "positive"),
    ("BinaryCrossentropy", {}, "multilabel"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "categorical_logits"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "sparse_col"),
]


def _case_id(case):
    name, kwargs, kind = case
    return f"{name}-{kind}-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _sample_weight(name, kwargs, rng, y_true):
    if kwargs.get("axis") == 0:
        return None  # the batch axis is reduced: no per-sample values left to weight
    if "IoU" in name:
        # IoU metrics count in int32 (as Keras does), so fractional weights would be truncated;
        # ids and scores get one weight per entry, one-hot labels one per row.
        one_hot = name.startswith("OneHot") or kwargs.get("sparse_y_true") is False
        shape = y_true.shape[:1] if one_hot else y_true.shape
        return rng.integers(0, 3, shape).astype("int32")
    return rng.random(y_true.shape[:1]).astype("float32")


def _close(ours, theirs, what):
    np.testing.assert_allclose(np.asarray(ours.cpu()), np.asarray(theirs), rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_metric_matches_oracle(oracle, case):
    name, kwargs, kind = case
    rng = np.random.default_rng(zlib.crc32(_case_id(case).encode()))
    ours, theirs = getattr(lm, name)(**kwargs), getattr(oracle.metrics, name)(**kwargs)
    # Unweighted, then weighted batches; then a reset and a weighted batch on fresh state.
    for step, weighted in enumerate([False, True, None, True]):
        if weighted is None:
            ours.reset_state()
            theirs.reset_state()
            assert all(not v.detach().any() for v in ours.variables), "reset_state left non-zero state"
            continue
        y_true, y_pred = make_batch(kind, rng)
        sw = _sample_weight(name, kwargs, rng, y_true) if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
        _close(ours.result(), theirs.result(), f"result after step {step} (weighted={weighted})")
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    assert [tuple(v.shape) for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]
    assert [v.dtype_name for v in ours.variables] == [v.dtype for v in theirs.variables]
    assert ours.get_config() == _plain(theirs.get_config())
    assert getattr(ours, "_direction", None) == getattr(theirs, "_direction", None)


def _plain(config):
    """The oracle's config with arrays and numpy scalars as Python values (ours is JSON-friendly)."""
    out = {}
    for key, value in config.items():
        if hasattr(value, "tolist"):
            value = np.asarray(value).tolist()
        elif isinstance(value, (list, tuple)):
            value = [v.item() if hasattr(v, "item") else v for v in value]
        out[key] = value
    return out


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, kind, fn_kwargs",
    [
        ("binary_accuracy", "multilabel", {"threshold": 0.7}),
        ("categorical_accuracy", "categorical", {}),
        ("sparse_categorical_accuracy", "sparse_col", {}),
        ("top_k_categorical_accuracy", "categorical", {"k": 2}),
        ("sparse_top_k_categorical_accuracy", "sparse", {"k": 3}),
        ("mean_squared_error", "regression", {}),
        ("mean_absolute_error", "regression", {}),
        ("mean_absolute_percentage_error", "regression", {}),
        ("mean_squared_logarithmic_error", "positive", {}),
        ("log_cosh", "regression", {}),
        ("huber", "regression", {"delta": 0.5}),
        ("hinge", "multilabel", {}),
        ("squared_hinge", "hinge", {}),
        ("categorical_hinge", "categorical", {}),
        ("kl_divergence", "categorical", {}),
        ("poisson", "positive", {}),
        ("binary_crossentropy", "logits", {"from_logits": True}),
        ("binary_focal_crossentropy", "multilabel", {"apply_class_balancing": True, "gamma": 1.5}),
        ("categorical_crossentropy", "categorical", {"label_smoothing": 0.1}),
        ("categorical_focal_crossentropy", "categorical_logits", {"from_logits": True}),
        ("sparse_categorical_crossentropy", "sparse", {}),
        ("pearson_correlation", "regression", {}),
        ("concordance_correlation", "regression", {}),
    ],
)
def test_metric_function_matches_oracle(oracle, rng, name, kind, fn_kwargs):
    y_true, y_pred = make_batch(kind, rng)
    ours = getattr(lm, name)(y_true, y_pred, **fn_kwargs)
    theirs = getattr(oracle.metrics, name)(y_true, y_pred, **fn_kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    _close(ours, theirs, name)


@pytest.mark.oracle
def test_sparse_top_k_from_sorted_ids(oracle, rng):
    y_true = rng.integers(0, C, N).astype("int32")
    sorted_ids = np.argsort(-rng.random((N, C)), axis=-1).astype("int32")
    kwargs = {"k": 2, "from_sorted_ids": True}
    ours, theirs = lm.SparseTopKCategoricalAccuracy(**kwargs), oracle.metrics.SparseTopKCategoricalAccuracy(**kwargs)
    ours.update_state(y_true, sorted_ids)
    theirs.update_state(y_true, sorted_ids)
    _close(ours.result(), theirs.result(), "from_sorted_ids")
    assert ours.get_config() == theirs.get_config()


@pytest.mark.oracle
def test_mean_metric_wrapper_with_kwargs_matches_oracle(oracle, rng):
    ours = lm.MeanMetricWrapper(lm.binary_accuracy, threshold=0.3)
    theirs = oracle.metrics.MeanMetricWrapper(oracle.metrics.binary_accuracy, threshold=0.3)
    for _ in range(2):
        y_true, y_pred = make_batch("multilabel", rng)
        sw = rng.random((N, C)).astype("float32")
        ours.update_state(y_true, y_pred, sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
    _close(ours.result(), theirs.result(), "wrapper")
    assert ours.name == theirs.name == "mean_metric_wrapper"


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_reduction_metrics_match_oracle(oracle, rng, name):
    ours, theirs = getattr(lm, name)(), getattr(oracle.metrics, name)()
    batches = [
        (rng.random((N, 3)).astype("float32"), rng.random((N,)).astype("float32")),
        (rng.random((N, 3)).astype("float32"), rng.random((N, 3)).astype("float32")),
        (rng.random((N, 2, 3)).astype("float32"), rng.random((N, 2)).astype("float32")),
        (rng.random((N,)).astype("float32"), None),
        (np.float32(2.5), None),
        (rng.random((N, 2)).astype("float32"), 8),
        (np.float32(1.5), 2.0),
        (rng.random((N, 1)).astype("float32"), rng.random((N,)).astype("float32")),
    ]
    for values, sw in batches:
        ours.update_state(values, sample_weight=sw)
        theirs.update_state(values, sample_weight=sw)
        _close(ours.result(), theirs.result(), f"{name} values {np.shape(values)} weights {np.shape(sw)}")
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["categorical_accuracy", "top_k_categorical_accuracy"])
def test_boolean_one_hot_labels_match_oracle(oracle, rng, name):
    # Keras 2 scripts build one-hot targets with `np.zeros(..., dtype=bool)`.
    y_true = np.eye(C, dtype=bool)[rng.integers(0, C, (N, 3))]
    y_pred = rng.random((N, 3, C)).astype("float32")
    expected = np.asarray(getattr(oracle.metrics, name)(y_true, y_pred))
    np.testing.assert_allclose(np.asarray(getattr(lm, name)(y_true, y_pred)), expected)
