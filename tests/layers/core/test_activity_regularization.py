"""Tests for lamina.layers.core.activity_regularization.ActivityRegularization."""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.layers.core.activity_regularization import ActivityRegularization
from lamina.layers.core.dense import Dense
from lamina.layers.core.masking import Masking


X = (np.arange(6, dtype="float32").reshape(3, 2) - 2.5) / 2


@pytest.mark.oracle
@pytest.mark.parametrize("l1, l2", [(0.1, 0.0), (0.0, 0.2), (0.1, 0.2)])
def test_output_and_losses_match_oracle(oracle, l1, l2):
    k = oracle.layers.ActivityRegularization(l1=l1, l2=l2)
    ours = ActivityRegularization(l1=l1, l2=l2)
    k_out = np.asarray(k(X))
    out = ours(X)
    np.testing.assert_array_equal(out.numpy(), k_out)
    assert len(ours.losses) == len(k.losses) == 1
    # Keras divides the penalty by the batch size (3 here).
    np.testing.assert_allclose(ours.losses[0].item(), float(k.losses[0]), rtol=1e-6)
    penalty = l1 * np.abs(X).sum() + l2 * (X**2).sum()
    np.testing.assert_allclose(ours.losses[0].item(), penalty / 3, rtol=1e-6)


def test_losses_reset_on_each_call_and_reach_the_model():
    layer = ActivityRegularization(l1=1.0)
    layer(X)
    layer(X[:1])
    assert [v.item() for v in layer.losses] == [pytest.approx(np.abs(X[:1]).sum())]
    model = lamina.Sequential([lamina.Input((2,)), layer, Dense(1)])
    model(X)
    assert [v.item() for v in model.losses] == [pytest.approx(np.abs(X).sum() / 3)]


def test_mask_passes_through():
    x = np.ones((1, 2, 2), "float32")
    x[0, 0] = 0
    out = ActivityRegularization(l2=1.0)(Masking()(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[False, True]])


@pytest.mark.oracle
def test_config_round_trip(oracle):
    k = oracle.layers.ActivityRegularization(l1=0.5, l2=0.25, name="reg")
    ours = ActivityRegularization(l1=0.5, l2=0.25, name="reg")
    assert ours.get_config() == k.get_config()
    assert ours.built and ours.weights == []
    for layer in (
        ActivityRegularization.from_config(ours.get_config()),
        layers.deserialize(oracle.layers.serialize(k)),
    ):
        assert isinstance(layer, ActivityRegularization) and (layer.l1, layer.l2) == (0.5, 0.25)
        layer(X)
        assert layer.losses[0].item() == pytest.approx((0.5 * np.abs(X).sum() + 0.25 * (X**2).sum()) / 3)


@pytest.mark.parametrize("kwargs, match", [({"l1": -1.0}, "l1"), ({"l2": "a"}, "l2")])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ActivityRegularization(**kwargs)
    with pytest.raises(ValueError, match="activity_regularizer"):
        ActivityRegularization(activity_regularizer="l2")
