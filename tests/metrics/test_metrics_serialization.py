"""Config round trips, ``serialize``/``deserialize`` (ours and Keras'), and ``get`` identifiers."""

import json

import numpy as np
import pytest

import lamina.metrics as lm
from lamina.saving import register_keras_serializable

# (class name, non-default constructor kwargs)
CONFIG_CASES = [
    ("Mean", {"name": "m", "dtype": "float16"}),
    ("Sum", {}),
    ("Accuracy", {"name": "acc"}),
    ("BinaryAccuracy", {"threshold": 0.7}),
    ("CategoricalAccuracy", {}),
    ("SparseCategoricalAccuracy", {}),
    ("TopKCategoricalAccuracy", {"k": 3}),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}),
    ("AUC", {"num_thresholds": 50, "curve": "PR", "summation_method": "majoring", "from_logits": True}),
    ("AUC", {"thresholds": [0.1, 0.4, 0.8], "multi_label": True, "num_labels": 2, "label_weights": [0.25, 0.75]}),
    ("Precision", {"thresholds": [0.2, 0.6], "class_id": 1}),
    ("Recall", {"top_k": 2}),
    ("PrecisionAtRecall", {"recall": 0.3, "num_thresholds": 10, "class_id": 2}),
    ("RecallAtPrecision", {"precision": 0.8}),
    ("SensitivityAtSpecificity", {"specificity": 0.4}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.6, "num_thresholds": 3}),
    ("TruePositives", {"thresholds": [0.3, 0.5]}),
    ("TrueNegatives", {"thresholds": 0.4}),
    ("FalsePositives", {}),
    ("FalseNegatives", {}),
    ("MeanSquaredError", {}),
    ("MeanAbsoluteError", {}),
    ("RootMeanSquaredError", {}),
    ("MeanAbsolutePercentageError", {}),
    ("MeanSquaredLogarithmicError", {}),
    ("CosineSimilarity", {"axis": 1}),
    ("LogCoshError", {}),
    ("R2Score", {"class_aggregation": None, "num_regressors": 3}),
    ("PearsonCorrelation", {"axis": 0}),
    ("ConcordanceCorrelation", {}),
    ("F1Score", {"average": "macro", "threshold": 0.4}),
    ("FBetaScore", {"average": "weighted", "beta": 0.5}),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2], "ignore_class": 1, "sparse_y_pred": False}),
    ("MeanIoU", {"num_classes": 4, "axis": 1}),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [1]}),
    ("OneHotMeanIoU", {"num_classes": 3, "sparse_y_pred": True}),
    ("Hinge", {}),
    ("SquaredHinge", {}),
    ("CategoricalHinge", {}),
    ("KLDivergence", {}),
    ("Poisson", {}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2, "axis": 1}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0}),
]
_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIG_CASES)]


def _plain(value):
    """JSON-friendly copy of an oracle config (arrays and numpy scalars to Python values)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return np.asarray(value).tolist()
    return value


@pytest.mark.parametrize("name, kwargs", CONFIG_CASES, ids=_IDS)
def test_config_round_trip(name, kwargs):
    metric = getattr(lm, name)(**kwargs)
    config = metric.get_config()
    clone = type(metric).from_config(config)
    assert clone.get_config() == config
    assert [v.path for v in clone.variables] == [v.path for v in metric.variables]
    serialized = json.loads(json.dumps(lm.serialize(metric)))
    assert serialized["module"] == "keras.metrics" and serialized["class_name"] == name
    restored = lm.deserialize(serialized)
    assert type(restored) is type(metric) and restored.get_config() == config


def test_every_metric_class_has_a_config_case():
    assert {getattr(lm, name) for name, _ in CONFIG_CASES} == set(lm.ALL_OBJECTS) - {lm.Metric, lm.MeanMetricWrapper}


@pytest.mark.oracle
@pytest.mark.parametrize("name, kwargs", CONFIG_CASES, ids=_IDS)
def test_deserialize_oracle_serialized_metric(oracle, name, kwargs):
    theirs = getattr(oracle.metrics, name)(**kwargs)
    serialized = json.loads(json.dumps(_plain(oracle.metrics.serialize(theirs))))
    ours = lm.deserialize(serialized)
    assert type(ours).__name__ == name
    assert ours.get_config() == _plain(theirs.get_config())
    legacy = lm.deserialize({"class_name": name, "config": serialized["config"]})
    assert legacy.get_config() == ours.get_config()


def test_mean_metric_wrapper_round_trip():
    metric = lm.MeanMetricWrapper(lm.binary_accuracy, name="acc_at_0.3", threshold=0.3)
    restored = lm.deserialize(json.loads(json.dumps(lm.serialize(metric))))
    assert restored._fn is lm.binary_accuracy and restored._fn_kwargs == {"threshold": 0.3}
    assert restored.get_config() == metric.get_config()
    restored.update_state([[1.0], [0.0]], [[0.4], [0.2]])
    assert float(restored.result()) == 1.0


@pytest.mark.oracle
def test_deserialize_oracle_serialized_wrapper_and_function(oracle):
    wrapper = oracle.metrics.MeanMetricWrapper(oracle.metrics.binary_accuracy, threshold=0.3)
    ours = lm.deserialize(_plain(oracle.metrics.serialize(wrapper)))
    assert isinstance(ours, lm.MeanMetricWrapper) and ours._fn is lm.binary_accuracy
    assert ours._fn_kwargs == {"threshold": 0.3}
    assert lm.deserialize(oracle.metrics.serialize(oracle.metrics.top_k_categorical_accuracy)) is (
        lm.top_k_categorical_accuracy
    )


# Names that give a metric with default arguments in Keras 3 (`get` instantiates classes).
_GET_NAMES = [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "AUC", "precision",
    "recall", "true_positives", "false_negatives", "mse", "MSE", "mae", "mape", "msle", "bce", "BCE",
    "mean_squared_error", "root_mean_squared_error", "cosine_similarity", "log_cosh_error",
    "r2_score", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "f1_score", "f_beta_score", "pearson_correlation", "concordance_correlation", "mean", "sum",
    "binary_io_u", "CategoricalCrossentropy", "Mean",
]  # fmt: skip


@pytest.mark.oracle
def test_get_strings_match_oracle(oracle):
    for name in _GET_NAMES:
        ours, theirs = lm.get(name), oracle.metrics.get(name)
        assert type(ours).__name__ == type(theirs).__name__, name
        assert ours.get_config() == _plain(theirs.get_config()), name
    for name in ("mean_io_u", "io_u", "precision_at_recall"):
        # These need constructor arguments.
        with pytest.raises(TypeError):
            oracle.metrics.get(name)
        with pytest.raises(TypeError):
            lm.get(name)


def test_get_other_identifiers():
    assert lm.get(None) is None
    assert isinstance(lm.get("acc"), lm.Accuracy)  # Keras 2 spelling, accepted as an alias
    assert isinstance(lm.get("logcosh"), lm.LogCoshError)
    assert lm.get(lm.binary_accuracy) is lm.binary_accuracy
    instance = lm.AUC()
    assert lm.get(instance) is instance
    assert isinstance(lm.get(lm.Recall), lm.Recall)
    auc = lm.get({"class_name": "AUC", "config": {"num_thresholds": 10, "curve": "PR"}})
    assert isinstance(auc, lm.AUC) and auc.num_thresholds == 10 and auc.curve == "PR"
    assert isinstance(lm.deserialize("mse"), lm.MeanSquaredError)
    assert lm.serialize(lm.binary_accuracy) == "binary_accuracy"
    for bad in ("not_a_metric", 3):
        with pytest.raises(ValueError, match="Could not interpret metric identifier"):
            lm.get(bad)
    with pytest.raises(ValueError, match="Unknown metric"):
        lm.deserialize("not_a_metric")
    with pytest.raises(ValueError, match="Unknown class"):
        lm.deserialize({"class_name": "NotAMetric", "config": {}})


def test_custom_metric_serialization():
    @register_keras_serializable(package="metrics_test")
    class Doubled(lm.Mean):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def update_state(self, values, sample_weight=None):
            super().update_state(self.factor * np.asarray(values, "float32"), sample_weight)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    metric = Doubled(factor=3.0, name="tripled")
    serialized = lm.serialize(metric)
    assert serialized["registered_name"] == "metrics_test>Doubled"
    restored = lm.deserialize(serialized)
    assert isinstance(restored, Doubled) and restored.factor == 3.0 and restored.name == "tripled"
    restored.update_state([1.0, 2.0])
    assert float(restored.result()) == pytest.approx(4.5)

    class Local(lm.Sum):
        pass

    local = lm.deserialize({"class_name": "Local", "config": {"name": "s"}}, custom_objects={"Local": Local})
    assert isinstance(local, Local) and local.name == "s"
    assert lm.deserialize("Local", custom_objects={"Local": Local}).name == "sum"
