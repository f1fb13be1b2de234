"""lamina.utils.to_categorical / normalize against keras.utils (JAX backend)."""

import numpy as np
import pytest
import torch

from lamina import utils

_rng = np.random.default_rng(3)
X = _rng.normal(size=(4, 5)).astype("float32")
X[1] = 0.0  # a zero row stays zero


@pytest.fixture(scope="module")
def kutils(keras_oracle):
    return keras_oracle.utils


@pytest.mark.oracle
@pytest.mark.parametrize(
    "x,num_classes",
    [
        ([0, 1, 2, 3], 4),
        ([0, 2, 1], None),
        (np.array([[1], [0], [2]]), None),
        (np.array([[0, 1], [2, 2]]), 5),
        (np.array([3], "int32"), 6),
    ],
)
def test_to_categorical_matches_keras(kutils, x, num_classes):
    got, expected = utils.to_categorical(x, num_classes), kutils.to_categorical(x, num_classes)
    assert isinstance(got, np.ndarray) and got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_to_categorical_of_a_tensor_is_a_tensor():
    out = utils.to_categorical(torch.tensor([[2], [0]]), 3)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert out.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


@pytest.mark.oracle
@pytest.mark.parametrize("axis,order", [(-1, 2), (1, 1), (-1, 3), (1, np.inf)])
def test_normalize_matches_keras(kutils, axis, order):
    got, expected = utils.normalize(X, axis=axis, order=order), kutils.normalize(X, axis=axis, order=order)
    assert isinstance(got, np.ndarray) and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_normalize_along_axis_0_scales_columns():
    # Keras 3 maps axis=0 to -1 (`axis or -1`); here axis 0 means the columns, as documented.
    out = utils.normalize(X, axis=0)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), np.ones(5), rtol=1e-6)


def test_normalize_of_a_tensor_is_a_tensor():
    out = utils.normalize(torch.tensor(X), axis=-1)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), utils.normalize(X), rtol=1e-5, atol=1e-6)


def test_set_random_seed_makes_runs_reproducible():
    utils.set_random_seed(7)
    a = (np.random.rand(), torch.rand(1).item())
    utils.set_random_seed(7)
    assert (np.random.rand(), torch.rand(1).item()) == a


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: utils.to_categorical([0, 3], num_classes=3), "num_classes"),
        (lambda: utils.to_categorical([-1, 0]), "Class ids"),
        (lambda: utils.to_categorical([0.5, 1.0]), "integer"),
        (lambda: utils.to_categorical([]), "num_classes"),
    ],
)
def test_to_categorical_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
