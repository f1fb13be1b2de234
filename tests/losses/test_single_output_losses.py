"""Squared and absolute errors of single-output regressions (a last axis of size 1).

Their mean over the last axis is taken as a view of the values (no kernel): these tests check that
the numbers, the shapes and the gradients are those of the mean, and Keras's.
"""

import numpy as np
import pytest
import torch

from lamina import losses

CASES = [("MeanSquaredError", "mean_squared_error"), ("MeanAbsoluteError", "mean_absolute_error")]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"]
# (y_true shape, y_pred shape): one column; labels without their column; a sequence of columns.
SHAPES = [((6, 1), (6, 1)), ((6,), (6, 1)), ((6, 4, 1), (6, 4, 1))]


def _data(rng, true_shape, pred_shape):
    return rng.normal(size=true_shape).astype("float32"), rng.normal(size=pred_shape).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cls_name, fn_name", CASES)
def test_values_match_oracle(oracle, rng, cls_name, fn_name, reduction, shapes):
    y_true, y_pred = _data(rng, *shapes)
    weights = rng.random(shapes[1][:-1]).astype("float32")  # one per loss value
    for sample_weight in (None, weights):
        expected = getattr(oracle.losses, cls_name)(reduction=reduction)(y_true, y_pred, sample_weight)
        actual = getattr(losses, cls_name)(reduction=reduction)(y_true, y_pred, sample_weight)
        assert tuple(actual.shape) == tuple(np.shape(expected))
        np.testing.assert_allclose(actual.detach().numpy(), np.asarray(expected), rtol=1e-6, atol=1e-6)
    expected = getattr(oracle.losses, fn_name)(y_true, y_pred)
    actual = getattr(losses, fn_name)(y_true, y_pred)
    assert tuple(actual.shape) == tuple(np.shape(expected))
    np.testing.assert_allclose(actual.numpy(), np.asarray(expected), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(5, 1), (5, 3, 1), (5, 3)])
@pytest.mark.parametrize("fn_name, elementwise", [("mean_squared_error", torch.square), ("mean_absolute_error", torch.abs)])
def test_same_bits_as_the_mean_over_the_last_axis(rng, fn_name, elementwise, shape, dtype):
    y_true = torch.from_numpy(rng.normal(size=shape)).to(dtype)
    y_pred = torch.from_numpy(rng.normal(size=shape)).to(dtype)
    y_pred[0, 0] = y_true[0, 0]  # a zero error: its gradient keeps its sign too
    grad_out = torch.from_numpy(rng.normal(size=shape[:-1])).to(dtype)

    ours_pred = y_pred.clone().requires_grad_()
    values = getattr(losses, fn_name)(y_true, ours_pred)
    values.backward(grad_out)

    ref_pred = y_pred.clone().requires_grad_()
    reference = torch.mean(elementwise(y_true - ref_pred), dim=-1)
    reference.backward(grad_out)

    assert values.shape == reference.shape and values.dtype == reference.dtype
    assert torch.equal(values.detach(), reference.detach())
    assert torch.equal(ours_pred.grad, ref_pred.grad)
    assert torch.equal(torch.signbit(ours_pred.grad), torch.signbit(ref_pred.grad))
