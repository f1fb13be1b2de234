"""lamina.ops neural-network functions against keras.ops (JAX backend) on the same inputs."""

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(1)
X = (_rng.normal(size=(2, 3, 5)) * 3).astype("float32")
LOGITS = _rng.normal(size=(4, 3)).astype("float32")
PROBS = _rng.uniform(0.05, 1.0, size=(4, 3)).astype("float32")
PROBS_EDGE = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]], "float32")
ONE_HOT = np.eye(3, dtype="float32")[[0, 2, 1, 1]]
LABELS = np.array([0, 2, 1, 1])
BIN_T = _rng.integers(0, 2, size=(4, 3)).astype("float32")


def assert_same(got, expected):
    if isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    g, e = got.detach().cpu().numpy(), np.asarray(expected)
    assert g.shape == e.shape
    assert g.dtype.kind == e.dtype.kind
    if e.dtype.kind == "f":
        assert g.dtype == e.dtype
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


ACTIVATIONS = ["relu", "relu6", "sigmoid", "log_sigmoid", "hard_sigmoid", "hard_silu", "hard_swish",
               "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu"]

CASES = (
    [(n, (X,), {}) for n in ACTIVATIONS]
    + [
        ("relu", (np.array([-2, 0, 3], "int32"),), {}),
        ("gelu", (X,), {"approximate": False}),
        ("elu", (X,), {"alpha": 0.5}),
        ("leaky_relu", (X,), {"negative_slope": 0.01}),
        ("softmax", (X,), {}),
        ("softmax", (X,), {"axis": 1}),
        ("softmax", (X,), {"axis": (1, 2)}),
        ("softmax", (X,), {"axis": None}),
        ("log_softmax", (X,), {}),
        ("log_softmax", (X,), {"axis": 0}),
        ("log_softmax", (X,), {"axis": (0, 2)}),
        ("one_hot", (np.array([[0, 2], [1, -1]]), 3), {}),
        ("one_hot", (np.array([0, 2, 5]), 3), {"axis": 0}),
        ("one_hot", (np.array([0, 2]), 4), {"dtype": "int32"}),
        ("multi_hot", (np.array([0, 2]), 3), {}),
        ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
        ("binary_crossentropy", (BIN_T, PROBS), {}),
        ("binary_crossentropy", (BIN_T[:2], PROBS_EDGE), {}),
        ("binary_crossentropy", (BIN_T, LOGITS * 5), {"from_logits": True}),
        ("categorical_crossentropy", (ONE_HOT, PROBS), {}),
        ("categorical_crossentropy", (ONE_HOT[:2], PROBS_EDGE), {}),
        ("categorical_crossentropy", (ONE_HOT, LOGITS), {"from_logits": True}),
        ("categorical_crossentropy", (ONE_HOT.T, LOGITS.T), {"from_logits": True, "axis": 0}),
        ("sparse_categorical_crossentropy", (LABELS, PROBS), {}),
        ("sparse_categorical_crossentropy", (LABELS[:, None], LOGITS), {"from_logits": True}),
        ("sparse_categorical_crossentropy", (np.array([0, 7, 1, -1]), LOGITS), {"from_logits": True}),
        ("moments", (X,), {"axes": [0, 1]}),
        ("moments", (X,), {"axes": -1, "keepdims": True}),
        ("moments", (X.astype("float16"),), {"axes": 0}),
        ("normalize", (X,), {}),
        ("normalize", (X,), {"axis": 1, "order": 1}),
        ("normalize", (X,), {"axis": (1, 2), "order": 1}),
        ("normalize", (X,), {"axis": (1, 2)}),
        ("normalize", (X,), {"axis": 0, "order": 3}),
        ("normalize", (np.zeros((2, 3), "float32"),), {}),
        (
            "batch_normalization",
            (X, X.mean(axis=(0, 1)), X.var(axis=(0, 1)), -1),
            {"offset": np.arange(5, dtype="float32"), "scale": np.full(5, 2.0, "float32")},
        ),
        ("batch_normalization", (X, X.mean(axis=(0, 2)), X.var(axis=(0, 2)), 1), {"epsilon": 0.1}),
    ]
)


@pytest.mark.oracle
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected)


def test_crossentropy_gradients_are_finite_at_the_clip_edges():
    output = torch.tensor(PROBS_EDGE, requires_grad=True)
    ops.sum(ops.binary_crossentropy(torch.tensor(BIN_T[:2]), output)).backward()
    assert torch.isfinite(output.grad).all()


def test_softmax_is_differentiable_over_several_axes():
    x = torch.tensor(X, requires_grad=True)
    ops.sum(ops.softmax(x, axis=(1, 2))[..., 0]).backward()
    assert x.grad.shape == X.shape and torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ops.normalize(X, order=0), "order"),
        (lambda: ops.normalize(X, order=1.5), "order"),
        (lambda: ops.binary_crossentropy(BIN_T, PROBS[:2]), "same shape"),
        (lambda: ops.categorical_crossentropy(ONE_HOT, PROBS[:, :2]), "same shape"),
        (lambda: ops.sparse_categorical_crossentropy(LABELS[:2], PROBS), "same shape"),
        (lambda: ops.one_hot(LABELS, 3, sparse=True), "sparse"),
        (lambda: ops.one_hot(LABELS, 3, axis=3), "axis"),
        (lambda: ops.softmax(X, axis=3), "axis"),
        (lambda: ops.multi_hot(LABELS), "num_classes"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_moments_synchronized_is_not_supported():
    with pytest.raises(NotImplementedError, match="synchronized"):
        ops.moments(X, axes=0, synchronized=True)
