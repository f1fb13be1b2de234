"""The Metric base class, state handling, masks, argument errors, and the no-host-sync contract."""

import numpy as np
import pytest
import torch

import lamina.metrics as lm
from lamina.backend.variables import Variable
from metric_batches import C, make_batch


class _CountPositives(lm.Metric):
    def __init__(self, name="count_positives", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values):
        self._assign_add(self.count, (torch.as_tensor(values) > 0).sum())

    def result(self):
        return self.count.detach().clone()


class _Composite(lm.Metric):
    """Holds two metrics as attributes: their variables follow its own."""

    def __init__(self):
        super().__init__(name="composite")
        self.steps = self.add_variable(shape=(), initializer="zeros", dtype="int32", name="steps")
        self.inner_mean = lm.Mean(name="inner")
        self.inner_auc = lm.AUC(num_thresholds=3)

    def update_state(self, y_true, y_pred):
        self._assign_add(self.steps, 1)
        self.inner_mean.update_state(y_pred)
        self.inner_auc.update_state(y_true, y_pred)

    def result(self):
        return self.inner_mean.result()


def test_custom_metric_variables_call_reset_and_config():
    m = _CountPositives()
    assert [v.path for v in m.variables] == ["count_positives/count"]
    assert isinstance(m.count, Variable) and not m.count.trainable and not m.count.requires_grad
    assert m.count.aggregation == "sum" and m.count.synchronization == "on_read"
    assert float(m([1, -2, 3])) == 2.0
    assert float(m(torch.tensor([5.0]))) == 3.0
    assert isinstance(m.result(), torch.Tensor)
    m.reset_state()
    assert float(m.result()) == 0.0
    assert m.get_config() == {"name": "count_positives", "dtype": "float32"}
    clone = _CountPositives.from_config(m.get_config())
    assert clone.name == m.name and clone.dtype == m.dtype
    assert repr(m) == "<_CountPositives name=count_positives>"


def test_metrics_held_as_attributes_contribute_variables():
    m = _Composite()
    assert [v.path for v in m.variables] == [
        "composite/steps",
        "inner/total",
        "inner/count",
        "auc/true_positives",
        "auc/false_positives",
        "auc/true_negatives",
        "auc/false_negatives",
    ]
    m.update_state([0, 1, 1], [0.2, 0.9, 0.4])
    assert int(m.steps) == 1
    assert float(m.result()) == pytest.approx(0.5)
    m.reset_state()
    assert all(not v.detach().any() for v in m.variables)


def test_forgetting_super_init_raises():
    class Broken(lm.Metric):
        def __init__(self):
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    with pytest.raises(RuntimeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_default_names_are_unique_unless_given():
    assert [lm.AUC().name, lm.AUC().name, lm.Precision().name] == ["auc", "auc_1", "precision"]
    assert [lm.Mean().name, lm.Mean().name] == ["mean", "mean"]
    assert lm.MeanIoU(num_classes=2).name == "mean_io_u"


@pytest.mark.parametrize(
    "dtype, compute",
    [(None, "float32"), ("float16", "float16"), ("mixed_float16", "float16"), ("float64", "float64")],
)
def test_dtype_and_policies(dtype, compute):
    m = lm.Mean(dtype=dtype)
    assert m.dtype == compute
    assert [v.dtype_name for v in m.variables] == [compute, compute]
    m.update_state(np.array([1.0, 2.0], "float64"))
    assert m.result().dtype == getattr(torch, compute)
    assert m.get_config()["dtype"] == compute


@pytest.mark.oracle
def test_wrapped_losses_are_minimized(oracle):
    assert lm.MeanMetricWrapper(lm.mean_squared_error)._direction == "down"
    assert oracle.metrics.MeanMetricWrapper(oracle.metrics.mean_squared_error)._direction == "down"
    assert not hasattr(lm.MeanMetricWrapper(lambda y_true, y_pred: y_pred), "_direction")
    assert float(lm.F1Score().result()) == float(lm.R2Score().result()) == 0.0  # nothing seen yet


def test_result_is_a_snapshot_not_a_view_of_the_state():
    for m in (lm.Sum(), lm.TruePositives(), lm.Mean()):
        if isinstance(m, lm.TruePositives):
            m.update_state([1, 1], [0.9, 0.8])
        else:
            m.update_state([1.0, 1.0])
        before = m.result()
        snapshot = before.clone()
        m.update_state(*([[1, 1], [0.9, 0.8]] if isinstance(m, lm.TruePositives) else [[5.0, 7.0]]))
        assert torch.equal(before, snapshot)


def test_updates_stay_outside_autograd():
    y_pred = torch.tensor([[0.2, 0.8], [0.6, 0.4]], requires_grad=True)
    for m in (lm.MeanSquaredError(), lm.AUC(), lm.CategoricalAccuracy(), lm.R2Score(), lm.F1Score()):
        m.update_state(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), y_pred)
        assert all(not v.requires_grad and v.grad_fn is None for v in m.variables)
        assert not m.result().requires_grad


@pytest.mark.parametrize("dtype", ["float32", "int32", "float16"])
def test_assign_add_of_counts_and_tensors_needing_grad(dtype):
    # A custom metric adding a tensor that needs grad, an int count and a float: the state holds the
    # sums and stays out of autograd, whichever path each add takes.
    class Adds(lm.Metric):
        def __init__(self):
            super().__init__(name="adds", dtype=dtype)
            self.total = self.add_variable(shape=(), initializer="zeros", dtype=dtype, name="total")

        def update_state(self, value):
            self._assign_add(self.total, value)

        def result(self):
            return self.total.detach().clone()

    m = Adds()
    grad_value = torch.tensor(2.0, requires_grad=True).to(m.total.dtype) * 1
    for value in (grad_value, 3, torch.tensor(4).to(m.total.dtype)) + ((0.5,) if dtype != "int32" else ()):
        m.update_state(value)
    assert m.result().item() == (9.5 if dtype != "int32" else 9)
    assert not m.total.requires_grad and m.total.grad_fn is None


def test_stateless_api_leaves_variables_untouched():
    m = lm.Precision(thresholds=[0.3, 0.6])
    m.update_state([1, 0, 1], [0.9, 0.7, 0.4])
    state = [v.detach().clone() for v in m.variables]
    new_state = m.stateless_update_state(state, [1, 1], [0.5, 0.1])
    assert all(torch.equal(v.detach(), s) for v, s in zip(m.variables, state))
    reference = lm.Precision(thresholds=[0.3, 0.6])
    reference.update_state([1, 0, 1], [0.9, 0.7, 0.4])
    reference.update_state([1, 1], [0.5, 0.1])
    assert all(torch.equal(n, r.detach()) for n, r in zip(new_state, reference.variables))
    assert torch.equal(m.stateless_result(new_state), reference.result())
    assert all(not s.any() for s in m.stateless_reset_state())
    assert m.variables[0].detach().any()
    with pytest.raises(ValueError, match="corresponding 1:1"):
        m.stateless_result(state[:1])


def test_mask_on_predictions_leaves_entries_out():
    y_true = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y_pred = torch.zeros(2, 3)
    y_pred._keras_mask = torch.tensor([True, False])
    m = lm.MeanAbsoluteError()
    m.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(2.0)
    m.update_state(y_true, y_pred, sample_weight=torch.tensor([0.5, 3.0]))
    # The second batch adds 0.5 * 2.0 over weight 0.5.
    assert float(m.result()) == pytest.approx(2.0)
    values = torch.tensor([1.0, 10.0, 3.0])
    values._keras_mask = torch.tensor([True, False, True])
    mean = lm.Mean()
    mean.update_state(values, sample_weight=torch.ones(3))
    assert float(mean.result()) == pytest.approx(2.0)


def test_sparse_crossentropy_ignore_class():
    y_pred = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    kept = -(np.log(0.7) + np.log(0.3))
    m = lm.SparseCategoricalCrossentropy(ignore_class=2)
    m.update_state([0, 2, 1], y_pred, sample_weight=[1.0, 1.0, 1.0])
    assert float(m.result()) == pytest.approx(kept / 2, rel=1e-5)
    # As in Keras, without sample weights the ignored entry counts as a zero in the mean.
    m = lm.SparseCategoricalCrossentropy(ignore_class=2)
    m.update_state([0, 2, 1], y_pred)
    assert float(m.result()) == pytest.approx(kept / 3, rel=1e-5)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: lm.AUC(curve="ROCK"), "Invalid AUC curve value.*PR.*ROC.*PRGAIN"),
        (lambda: lm.AUC(summation_method="trapezoid"), "summation method.*interpolation.*majoring.*minoring"),
        (lambda: lm.AUC(num_thresholds=1), "`num_thresholds` must be an integer > 1"),
        (lambda: lm.AUC(num_labels=3), "`num_labels` is needed only when `multi_label` is True"),
        (lambda: lm.AUC(thresholds=[0.2, 1.5]), "Threshold values must be in \\[0, 1\\]"),
        (lambda: lm.Precision(thresholds=-0.1), "Threshold values must be in \\[0, 1\\]"),
        (lambda: lm.Recall(thresholds=[0.5, None]), "Threshold values must be in \\[0, 1\\]"),
        (lambda: lm.SensitivityAtSpecificity(1.5), "`specificity` must be in the range \\[0, 1\\]"),
        (lambda: lm.SpecificityAtSensitivity(-1), "`sensitivity` must be in the range \\[0, 1\\]"),
        (lambda: lm.PrecisionAtRecall(2), "`recall` must be in the range \\[0, 1\\]"),
        (lambda: lm.RecallAtPrecision(0.5, num_thresholds=0), "`num_thresholds` must be an integer > 0"),
        (lambda: lm.R2Score(class_aggregation="mean"), "`class_aggregation`.*uniform_average"),
        (lambda: lm.R2Score(num_regressors=-1), "`num_regressors`.*>= 0"),
        (lambda: lm.FBetaScore(average="samples"), "`average`.*micro.*macro.*weighted"),
        (lambda: lm.FBetaScore(beta=2), "`beta`.*Python float"),
        (lambda: lm.FBetaScore(beta=-1.0), "`beta`.*> 0"),
        (lambda: lm.F1Score(threshold=1), "`threshold`.*Python float"),
        (lambda: lm.F1Score(threshold=1.5), "`threshold`.*0 < threshold <= 1"),
        (lambda: lm.IoU(num_classes=3, target_class_ids=[0, 3]), "`target_class_ids`.*\\[0, 3\\)"),
        (lambda: lm.MeanIoU(num_classes=0), "`num_classes` must be a positive integer"),
        (lambda: lm.MeanMetricWrapper(fn="mse"), "`fn` must be callable"),
        (lambda: lm.CategoricalCrossentropy(axis=True)([[0, 1]], [[0.2, 0.8]]), "`axis` must be of type `int`"),
    ],
)
def test_invalid_arguments_raise(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize(
    "metric, y_true, y_pred, pattern",
    [
        (lambda: lm.Precision(class_id=1), [1, 0], [0.3, 0.8], "class_id is provided, y_pred must be a 2D"),
        (lambda: lm.AUC(multi_label=True), np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), "must have rank 2"),
        (lambda: lm.R2Score(), [1.0, 2.0], [1.0, 2.0], "R2Score expects 2D inputs"),
        (lambda: lm.F1Score(), np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), "FBetaScore expects 2D inputs"),
    ],
)
def test_invalid_inputs_raise(metric, y_true, y_pred, pattern):
    with pytest.raises(ValueError, match=pattern):
        metric().update_state(y_true, y_pred)


# One instance per metric class, with a batch kind it accepts.
_SYNC_CASES = [
    (lm.Mean, {}, "values"),
    (lm.Sum, {}, "values"),
    (lm.MeanMetricWrapper, {"fn": lm.binary_accuracy, "threshold": 0.3}, "multilabel"),
    (lm.Accuracy, {}, "ids"),
    (lm.BinaryAccuracy, {}, "binary"),
    (lm.CategoricalAccuracy, {}, "categorical"),
    (lm.SparseCategoricalAccuracy, {}, "sparse_col"),
    (lm.TopKCategoricalAccuracy, {"k": 2}, "categorical"),
    (lm.SparseTopKCategoricalAccuracy, {"k": 2}, "sparse"),
    (lm.AUC, {"curve": "PR"}, "binary"),
    (lm.AUC, {"multi_label": True, "label_weights": [1, 2, 3, 4], "thresholds": [0.3, 0.6]}, "multilabel"),
    (lm.Precision, {"top_k": 2}, "multilabel"),
    (lm.Recall, {"class_id": 1, "thresholds": [0.0, 0.5, 1.0]}, "multilabel"),
    (lm.PrecisionAtRecall, {"recall": 0.5}, "binary"),
    (lm.RecallAtPrecision, {"precision": 0.5}, "binary"),
    (lm.SensitivityAtSpecificity, {"specificity": 0.5}, "binary"),
    (lm.SpecificityAtSensitivity, {"sensitivity": 0.5}, "binary"),
    (lm.TruePositives, {}, "binary"),
    (lm.TrueNegatives, {}, "binary"),
    (lm.FalsePositives, {}, "binary"),
    (lm.FalseNegatives, {}, "binary"),
    (lm.MeanSquaredError, {}, "regression"),
    (lm.MeanAbsoluteError, {}, "regression"),
    (lm.RootMeanSquaredError, {}, "regression"),
    (lm.MeanAbsolutePercentageError, {}, "regression"),
    (lm.MeanSquaredLogarithmicError, {}, "positive"),
    (lm.CosineSimilarity, {}, "regression"),
    (lm.LogCoshError, {}, "regression"),
    (lm.R2Score, {"num_regressors": 2}, "regression"),
    (lm.PearsonCorrelation, {}, "regression"),
    (lm.ConcordanceCorrelation, {}, "regression"),
    (lm.F1Score, {"average": "weighted"}, "categorical"),
    (lm.FBetaScore, {"beta": 2.0, "threshold": 0.5}, "multilabel"),
    (lm.IoU, {"num_classes": C, "target_class_ids": [1, 2]}, "ids"),
    (lm.MeanIoU, {"num_classes": C, "ignore_class": 0}, "ids"),
    (lm.BinaryIoU, {}, "binary"),
    (lm.OneHotIoU, {"num_classes": C, "target_class_ids": [0]}, "categorical"),
    (lm.OneHotMeanIoU, {"num_classes": C}, "categorical"),
    (lm.Hinge, {}, "hinge"),
    (lm.SquaredHinge, {}, "multilabel"),
    (lm.CategoricalHinge, {}, "categorical"),
    (lm.KLDivergence, {}, "categorical"),
    (lm.Poisson, {}, "positive"),
    (lm.BinaryCrossentropy, {"label_smoothing": 0.1}, "multilabel"),
    (lm.CategoricalCrossentropy, {"from_logits": True}, "categorical_logits"),
    (lm.SparseCategoricalCrossentropy, {"ignore_class": 1}, "sparse"),
]


def test_sync_cases_cover_every_metric_class():
    covered = {cls for cls, _, _ in _SYNC_CASES}
    assert covered == set(lm.ALL_OBJECTS) - {lm.Metric}


def _forbid_host_reads(monkeypatch):
    """Make every way of reading a tensor value on the host raise (what would sync a GPU)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a metric read a tensor value on the host")

    for name in ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__", "nonzero"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for name in ("nonzero", "unique", "masked_select", "bincount"):
        monkeypatch.setattr(torch, name, refuse)
    getitem = torch.Tensor.__getitem__

    def no_boolean_masks(self, index):
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, torch.Tensor) and p.dtype == torch.bool for p in parts):
            refuse()
        return getitem(self, index)

    monkeypatch.setattr(torch.Tensor, "__getitem__", no_boolean_masks)


@pytest.mark.parametrize("cls, kwargs, kind", _SYNC_CASES, ids=[f"{c.__name__}-{k}" for c, _, k in _SYNC_CASES])
def test_update_and_result_never_read_values_on_the_host(monkeypatch, cls, kwargs, kind):
    rng = np.random.default_rng(0)
    metric = cls(**kwargs)
    if kind == "values":
        batches = [(torch.as_tensor(rng.random((8, 3), dtype=np.float32)),) for _ in range(3)]
    else:
        batches = [tuple(torch.as_tensor(a) for a in make_batch(kind, rng)) for _ in range(3)]
    weights = torch.as_tensor(rng.integers(1, 3, 8) if "IoU" in cls.__name__ else rng.random(8, dtype=np.float32))
    metric.update_state(*batches[0])  # lazily built state is made here, outside the check
    with monkeypatch.context() as patch:
        _forbid_host_reads(patch)
        metric.update_state(*batches[1])
        metric.update_state(*batches[2], sample_weight=weights)
        result = metric.result()
        metric.reset_state()
    assert isinstance(result, torch.Tensor)


def test_host_read_check_catches_value_branching(monkeypatch):
    class Branchy(lm.Mean):
        def update_state(self, values, sample_weight=None):
            if torch.as_tensor(values).sum() > 0:  # Python branch on a device value
                super().update_state(values)

    metric = Branchy()
    with monkeypatch.context() as patch:
        _forbid_host_reads(patch)
        with pytest.raises(AssertionError, match="read a tensor value on the host"):
            metric.update_state(torch.ones(2))
        with pytest.raises(AssertionError, match="read a tensor value on the host"):
            torch.ones(3)[torch.ones(3) > 0]
