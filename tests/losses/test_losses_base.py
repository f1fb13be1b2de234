"""Tests of lamina.losses without the oracle: reductions and weights worked by hand, masks, input
types, dtypes, configs, identifiers and error messages."""

import json
import warnings

import numpy as np
import pytest
import torch

from lamina import losses
from lamina.dtype_policies import DTypePolicy
from lamina.saving import object_registration

CLASSES = [
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "KLDivergence",
    "Poisson",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "Dice",
    "Tversky",
    "CTC",
    "Circle",
    "CategoricalGeneralizedCrossEntropy",
]


class IdentityLoss(losses.Loss):
    """Returns ``y_pred`` as the per-sample values, so reductions can be checked by hand."""

    def call(self, y_true, y_pred):
        return y_pred


def _reduce(values, reduction, sample_weight=None, mask=None):
    values = torch.tensor(values)
    if mask is not None:
        values._keras_mask = torch.tensor(mask)
    return IdentityLoss(reduction=reduction)(torch.zeros(()), values, sample_weight=sample_weight)


# ----------------------------------------------------------------------------- reductions


def test_reductions_by_hand():
    v = [1.0, 2.0, 3.0, 4.0]
    w = [1.0, 0.0, 2.0, 1.0]
    assert _reduce(v, "sum").item() == 10.0
    assert _reduce(v, "sum_over_batch_size").item() == 2.5
    assert _reduce(v, "mean").item() == 2.5
    assert _reduce(v, "mean_with_sample_weight").item() == 2.5  # no weights: divides by the count
    torch.testing.assert_close(_reduce(v, "none"), torch.tensor(v))
    torch.testing.assert_close(_reduce(v, None), torch.tensor(v))
    assert _reduce(v, "sum", w).item() == 1 + 6 + 4
    assert _reduce(v, "sum_over_batch_size", w).item() == 11 / 4
    assert _reduce(v, "mean_with_sample_weight", w).item() == 11 / 4
    torch.testing.assert_close(_reduce(v, None, w), torch.tensor([1.0, 0.0, 6.0, 4.0]))
    assert _reduce(v, "sum", 3.0).item() == 30.0  # a scalar weight scales everything


def test_zero_weights_and_empty_batches_give_zero_not_nan():
    assert _reduce([1.0, 2.0], "mean_with_sample_weight", [0.0, 0.0]).item() == 0.0
    assert _reduce([1.0, 2.0], "sum_over_batch_size", mask=[False, False]).item() == 0.0
    assert _reduce(np.zeros((0, 3), "float32"), "sum_over_batch_size").item() == 0.0
    assert _reduce(np.zeros((0,), "float32"), "sum").shape == (0,)  # left alone, like Keras


def test_mask_averages_over_valid_entries_only():
    v = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    mask = [[True, True, False], [True, False, False]]
    assert _reduce(v, "sum_over_batch_size", mask=mask).item() == pytest.approx(7 / 3)
    assert _reduce(v, "sum", mask=mask).item() == 7.0
    assert _reduce(v, "mean_with_sample_weight", mask=mask).item() == pytest.approx(7 / 3)
    weighted = _reduce(v, "sum", [[2.0], [1.0]], mask=mask)
    assert weighted.item() == 2 * 3 + 4


def test_mask_from_call_combines_with_mask_on_predictions():
    y_true = torch.tensor([[0, 1, -1, 2]])
    y_pred = torch.randn(1, 4, 3)
    y_pred._keras_mask = torch.tensor([[True, False, True, True]])
    values = losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True, ignore_class=-1)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(y_true, y_pred)
    torch.testing.assert_close(loss, (values[0, 0] + values[0, 3]) / 2)


@pytest.mark.parametrize("reduction", ["auto_", "avg", "SUM", 0, "None"])
def test_invalid_reduction_is_rejected(reduction):
    with pytest.raises(ValueError, match=r"Invalid value for argument `reduction`.*'sum_over_batch_size'"):
        losses.MeanSquaredError(reduction=reduction)
    with pytest.raises(ValueError, match="Received: reduction="):
        losses.Loss(reduction=reduction)


def test_keras2_auto_reduction_is_read_as_the_default():
    assert losses.Huber(reduction="auto").reduction == "sum_over_batch_size"


def test_sample_weight_of_wrong_shape_is_rejected():
    loss = losses.MeanSquaredError()
    with pytest.raises(ValueError, match=r"`sample_weight` of shape \(3,\) cannot be broadcast.*\(4,\)"):
        loss(np.zeros((4, 2)), np.ones((4, 2)), sample_weight=np.ones(3))


# ----------------------------------------------------------------------------- inputs and dtypes


def test_numpy_lists_and_tensors_give_the_same_tensor():
    y_true = [[0.0, 1.0], [1.0, 1.0]]
    y_pred = [[0.2, 0.7], [0.9, 0.4]]
    loss = losses.BinaryCrossentropy()
    expected = loss(np.array(y_true, "float32"), np.array(y_pred, "float32"))
    assert isinstance(expected, torch.Tensor) and expected.dtype == torch.float32 and expected.shape == ()
    torch.testing.assert_close(loss(y_true, y_pred), expected)
    torch.testing.assert_close(loss(torch.tensor(y_true), torch.tensor(y_pred, dtype=torch.float64)), expected)
    unreduced = losses.BinaryCrossentropy(reduction=None)(y_true, y_pred)
    torch.testing.assert_close(losses.binary_crossentropy(y_true, y_pred), unreduced)
    torch.testing.assert_close(unreduced.mean(), expected)


def test_integer_inputs_are_promoted_to_float():
    out = losses.mean_squared_error([[1, 2]], [[1, 4]])
    assert out.dtype == torch.float32 and out.item() == 2.0


@pytest.mark.parametrize("dtype", ["float64", DTypePolicy("float64")])
def test_dtype_sets_the_computation_dtype(dtype):
    loss = losses.MeanAbsoluteError(dtype=dtype)
    assert loss.dtype == "float64"
    out = loss(np.zeros((2, 3), "float32"), np.ones((2, 3), "float16"))
    assert out.dtype == torch.float64 and out.item() == 1.0


def test_low_precision_predictions_are_computed_in_float32():
    y_pred = torch.full((2, 3), 0.5, dtype=torch.float16, requires_grad=True)
    out = losses.CategoricalCrossentropy()([[0, 1, 0], [1, 0, 0]], y_pred)
    assert out.dtype == torch.float32
    out.backward()
    assert y_pred.grad.dtype == torch.float16


def test_nested_structures_reach_call():
    class PairLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return torch.mean(torch.abs(y_true["a"] - y_pred["a"]), -1) + torch.mean(y_pred["b"], -1)

    out = PairLoss(reduction="sum")({"a": [[1.0, 2.0]], "b": [[0.0]]}, {"a": [[1.0, 4.0]], "b": [[3.0]]})
    assert out.item() == 4.0


def test_wrapper_squeezes_column_predictions():
    # (batch, 1) predictions and (batch,) labels meet as columns, not as a (batch, batch) grid.
    loss = losses.MeanSquaredError(reduction=None)
    assert loss([1.0, 0.0, 1.0], [[1.0], [1.0], [1.0]]).shape == (3,)


def test_single_class_categorical_crossentropy_warns():
    with pytest.warns(SyntaxWarning, match="single class"):
        losses.categorical_crossentropy([[1.0]], [[0.7]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses.categorical_crossentropy([[1.0, 0.0]], [[0.7, 0.3]])


def test_sparse_labels_with_size_one_axis_and_float_ids():
    y_pred = torch.softmax(torch.randn(3, 4), -1)
    expected = losses.sparse_categorical_crossentropy([0, 3, 1], y_pred)
    torch.testing.assert_close(losses.sparse_categorical_crossentropy([[0], [3], [1]], y_pred), expected)
    torch.testing.assert_close(losses.sparse_categorical_crossentropy([0.0, 3.0, 1.0], y_pred), expected)


def test_hinge_converts_binary_labels_only():
    y_pred = [[0.5, 0.5, 0.5]]
    # All labels in {0, 1}: 0 becomes -1, so the margins are 1.5, 0.5, 0.5.
    assert losses.hinge([[0.0, 1.0, 1.0]], y_pred).item() == pytest.approx(2.5 / 3)
    # A -1 among them: the labels are used as given, margins 1, 0.5, 1.5.
    assert losses.hinge([[0.0, 1.0, -1.0]], y_pred).item() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- argument errors


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), "`label_smoothing`"),
        (lambda: losses.CategoricalCrossentropy(label_smoothing=-0.1), "`label_smoothing`"),
        (lambda: losses.CategoricalFocalCrossentropy(label_smoothing="x"), "`label_smoothing`"),
        (lambda: losses.CategoricalCrossentropy(axis=True), "`axis` must be of type `int`"),
        (lambda: losses.SparseCategoricalCrossentropy(axis=1.5), "`axis` must be of type `int`"),
        (lambda: losses.Huber(delta=0.0), "`delta`"),
        (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), "`gamma`"),
        (lambda: losses.CategoricalGeneralizedCrossEntropy(q=1.0), "`q`"),
        (lambda: losses.CategoricalGeneralizedCrossEntropy(q=0), "`q`"),
        (lambda: losses.Tversky(alpha="0.3"), "`alpha`"),
        (lambda: losses.Circle(gamma=0), "`gamma`"),
    ],
)
def test_bad_constructor_arguments_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: losses.mean_squared_error(np.zeros((2, 3)), np.zeros((2, 4))), r"y_true.shape=\(2, 3\)"),
        (lambda: losses.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 4))), r"y_pred.shape=\(2, 4\)"),
        (lambda: losses.hinge(np.zeros((2, 3)), np.zeros((2, 4))), "same shape"),
        (lambda: losses.binary_crossentropy(np.zeros((2, 3)), np.zeros((2, 4))), "same shape"),
        (lambda: losses.categorical_crossentropy(np.zeros((2, 3)), np.zeros((2, 4))), "same shape"),
        (lambda: losses.sparse_categorical_crossentropy(np.zeros((2, 3)), np.zeros((2, 4))), "class axis"),
        (lambda: losses.CategoricalCrossentropy(axis=2)(np.zeros((2, 3)), np.ones((2, 3))), "out of range"),
        (lambda: losses.ctc(np.zeros((2,)), np.zeros((2, 3, 4))), "`y_true` must be integer labels"),
        (lambda: losses.ctc(np.zeros((2, 3)), np.zeros((2, 3))), "`y_pred` must be logits"),
    ],
)
def test_bad_inputs_are_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_base_call_must_be_implemented():
    with pytest.raises(NotImplementedError, match="Loss must implement"):
        losses.Loss()([1.0], [1.0])


# ----------------------------------------------------------------------------- names and configs


def test_default_names():
    assert losses.Loss().name == "loss" and losses.Loss().name == "loss_1"
    assert IdentityLoss().name == "identity_loss"
    assert losses.Huber().name == "huber_loss" and losses.Huber().name == "huber_loss"
    assert losses.LossFunctionWrapper(losses.mse).name == "loss_function_wrapper"


@pytest.mark.parametrize("name", CLASSES)
def test_config_round_trip(name):
    cls = getattr(losses, name)
    loss = cls(reduction="sum", name=f"my_{name.lower()}")
    config = loss.get_config()
    assert config["name"] == f"my_{name.lower()}" and config["reduction"] == "sum"
    assert cls.from_config(config).get_config() == config
    serialized = losses.serialize(loss)
    assert json.loads(json.dumps(serialized)) == serialized
    restored = losses.deserialize(serialized)
    assert type(restored) is cls and restored.get_config() == config
    legacy = losses.deserialize({"class_name": name, "config": config})
    assert legacy.get_config() == config


def test_non_default_arguments_survive_the_round_trip():
    for loss in (
        losses.Huber(delta=0.3),
        losses.CosineSimilarity(axis=1),
        losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0, axis=1),
        losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.1, gamma=4.0, label_smoothing=0.2),
        losses.Tversky(alpha=0.1, beta=0.9, axis=(1, 2)),
    ):
        restored = losses.deserialize(json.loads(json.dumps(losses.serialize(loss))))
        for key, value in loss.get_config().items():
            expected = list(value) if isinstance(value, tuple) else value
            assert restored.get_config()[key] == expected, (loss, key)
        assert restored._fn_kwargs.keys() == loss._fn_kwargs.keys()


def test_function_wrapper_round_trip_with_a_registered_function():
    @object_registration.register_keras_serializable(package="LossTests")
    def scaled_abs(y_true, y_pred, scale=1.0):
        return scale * torch.mean(torch.abs(y_true - y_pred), dim=-1)

    loss = losses.LossFunctionWrapper(scaled_abs, reduction="sum", name="s", scale=2.0)
    config = loss.get_config()
    assert config["scale"] == 2.0 and config["fn"]["registered_name"] == "LossTests>scaled_abs"
    restored = losses.LossFunctionWrapper.from_config(json.loads(json.dumps(config)))
    assert restored.fn is scaled_abs and restored.name == "s"
    assert restored([[0.0, 1.0]], [[1.0, 1.0]]).item() == 1.0
    assert "scaled_abs" in repr(restored)


def test_builtin_functions_serialize_in_the_keras_form():
    assert losses.serialize(losses.mse) == {
        "module": "builtins",
        "class_name": "function",
        "config": "mean_squared_error",
        "registered_name": "function",
    }
    assert losses.deserialize(losses.serialize(losses.kld)) is losses.kl_divergence
    assert losses.deserialize("logcosh") is losses.log_cosh
    assert isinstance(losses.deserialize("Poisson"), losses.Poisson)


# ----------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    "alias, fn",
    [
        ("mse", "mean_squared_error"),
        ("MSE", "mean_squared_error"),
        ("mae", "mean_absolute_error"),
        ("MAE", "mean_absolute_error"),
        ("mape", "mean_absolute_percentage_error"),
        ("MAPE", "mean_absolute_percentage_error"),
        ("msle", "mean_squared_logarithmic_error"),
        ("MSLE", "mean_squared_logarithmic_error"),
        ("kld", "kl_divergence"),
        ("KLD", "kl_divergence"),
        ("kullback_leibler_divergence", "kl_divergence"),
        ("bce", "binary_crossentropy"),
        ("BCE", "binary_crossentropy"),
        ("logcosh", "log_cosh"),
    ],
)
def test_aliases(alias, fn):
    assert getattr(losses, alias) is getattr(losses, fn)
    assert losses.get(alias) is getattr(losses, fn)


def test_get_resolves_every_kind_of_identifier():
    assert losses.get(None) is None
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.Hinge), losses.Hinge)
    instance = losses.Dice()
    assert losses.get(instance) is instance
    custom = lambda y_true, y_pred: y_pred  # noqa: E731
    assert losses.get(custom) is custom
    from_dict = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(from_dict, losses.CategoricalCrossentropy) and from_dict.from_logits


@pytest.mark.parametrize("identifier", ["nope", 3, "Mse"])
def test_get_rejects_unknown_identifiers(identifier):
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        losses.get(identifier)


def test_every_public_name_is_registered_for_keras_configs():
    registered = object_registration.builtin_objects("keras.losses")
    for name in CLASSES + ["Loss", "LossFunctionWrapper", "mean_squared_error", "ctc", "circle", "mse"]:
        assert registered[name] is getattr(losses, name), name
        assert name in losses.__all__

