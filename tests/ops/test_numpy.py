"""lamina.ops numpy-like functions against keras.ops (JAX backend) on the same inputs."""

import math

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(0)
A = _rng.normal(size=(2, 3, 4)).astype("float32")
B = _rng.normal(size=(3, 4)).astype("float32")
M = _rng.normal(size=(4, 5)).astype("float32")
P = _rng.uniform(0.1, 2.0, size=(3, 4)).astype("float32")
U = _rng.uniform(-0.9, 0.9, size=(3, 4)).astype("float32")
I = np.array([[3, -1, 2], [0, 5, -4]], dtype="int32")
Q = np.array([[True, False, True], [False, False, True]])
R = np.array([[0.5, 1.5, 2.5], [-0.5, -1.5, 1.25]], dtype="float32")


def to_numpy(x):
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_same(got, expected):
    """Same structure, shape, dtype kind (and exact dtype for floats) and values."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    g, e = to_numpy(got), np.asarray(expected)
    assert g.shape == e.shape
    assert g.dtype.kind == e.dtype.kind, (g.dtype, e.dtype)
    if e.dtype.kind == "f":
        assert g.dtype == e.dtype
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


UNARY = ["abs", "negative", "square", "sign", "floor", "ceil", "trunc", "exp", "expm1", "sin", "cos",
         "tan", "arctan", "sinh", "cosh", "tanh", "arcsinh", "isnan", "isinf", "isfinite",
         "logical_not", "ravel"]
POSITIVE = ["sqrt", "log", "log1p", "log2", "log10", "reciprocal", "arccosh"]
UNIT = ["arcsin", "arccos", "arctanh"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "arctan2",
          "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
          "logical_or", "logical_xor", "mod", "floor_divide", "power"]

CASES = (
    [(n, (A,), {}) for n in UNARY]
    + [(n, (P + (1.0 if n == "arccosh" else 0.0),), {}) for n in POSITIVE]
    + [(n, (U,), {}) for n in UNIT]
    + [(n, (B, P if n == "power" else B[::-1]), {}) for n in BINARY]
    + [(n, (I,), {}) for n in ["abs", "square", "sign", "negative", "sqrt", "exp", "floor", "mean"]]
    + [(n, (I, 2), {}) for n in ["divide", "mod", "floor_divide", "power"]]
    + [(n, (I, 1.5), {}) for n in ["add", "maximum"]]
    + [(n, (B, 2.0), {}) for n in ["subtract", "power"]]
    + [
        ("round", (R,), {}),
        ("round", (B,), {"decimals": 2}),
        ("round", (I,), {}),
        ("clip", (A, -0.5, 0.5), {}),
        ("clip", (I, 0, 2), {}),
        ("clip", (I, 0.5, 2), {}),
        ("clip", (A, 1.0, -1.0), {}),
        ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], "float32"),), {}),
        ("isclose", (B, B + 1e-7), {}),
        ("where", (Q, I, -I), {}),
        ("where", (Q, 1, 2.5), {}),
        ("where", (Q,), {}),
        # products
        ("matmul", (B, M), {}),
        ("matmul", (A, M), {}),
        ("matmul", (B[0], M), {}),
        ("dot", (B, M), {}),
        ("dot", (A, _rng.normal(size=(2, 4, 3)).astype("float32")), {}),
        ("dot", (A, B[0]), {}),
        ("dot", (B[0], B[1]), {}),
        ("dot", (2.0, B), {}),
        ("tensordot", (A, _rng.normal(size=(3, 4, 2)).astype("float32")), {}),
        ("tensordot", (A, _rng.normal(size=(4, 3, 5)).astype("float32")), {"axes": ([1, 2], [1, 0])}),
        ("tensordot", (B, M), {"axes": 1}),
        ("tensordot", (B, B), {"axes": (0, 0)}),
        ("einsum", ("ij,jk->ik", B, M), {}),
        ("einsum", ("bij->bji", A), {}),
        ("outer", (B[0], M[0]), {}),
    ]
)

REDUCTIONS = ["sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "any", "all"]
for _name in REDUCTIONS:
    CASES += [(_name, (A,), {}), (_name, (A,), {"axis": -1, "keepdims": True}), (_name, (A,), {"axis": (2, 0)})]
CASES += [(_name, (I,), {"axis": 1}) for _name in ["sum", "max", "prod", "var"]]
CASES += [
    ("sum", (Q,), {}),
    ("sum", (A,), {"axis": ()}),
    ("max", (A,), {"axis": 0, "initial": 0.5}),
    ("min", (A,), {"axis": 1, "initial": -0.1}),
    ("prod", (I,), {"dtype": "float32"}),
    ("count_nonzero", (I,), {}),
    ("count_nonzero", (I,), {"axis": 0}),
    ("mean", (Q,), {}),
    ("std", (I,), {}),
]
for _name in ["argmax", "argmin"]:
    CASES += [(_name, (A,), {}), (_name, (A,), {"axis": -1, "keepdims": True}), (_name, (I,), {"axis": 0})]
for _name in ["cumsum", "cumprod"]:
    CASES += [(_name, (A,), {"axis": 1}), (_name, (I,), {})]
for _name in ["sort", "argsort"]:
    CASES += [(_name, (A,), {}), (_name, (I,), {"axis": None})]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_matches_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected)


MANIPULATION = [
    ("reshape", (A, (4, -1)), {}),
    ("reshape", (A, -1), {}),
    ("transpose", (A,), {}),
    ("transpose", (A, (1, 0, 2)), {}),
    ("expand_dims", (B, 0), {}),
    ("expand_dims", (B, -1), {}),
    ("expand_dims", (B, (0, 2)), {}),
    ("squeeze", (A[:, :1, None],), {}),
    ("squeeze", (A[:, :1, None],), {"axis": 1}),
    ("squeeze", (A[:, :1, None],), {"axis": (1, -2)}),
    ("moveaxis", (A, 0, -1), {}),
    ("moveaxis", (A, (0, 1), (2, 0)), {}),
    ("swapaxes", (A, 0, 2), {}),
    ("broadcast_to", (B[0], (2, 3, 4)), {}),
    ("concatenate", ([B, P],), {}),
    ("concatenate", ([B, P],), {"axis": -1}),
    ("concatenate", ([I, np.ones((2, 1), "int32")],), {"axis": 1}),
    ("stack", ([B, P],), {}),
    ("stack", ([B, P],), {"axis": -1}),
    ("split", (A, 2), {}),
    ("split", (A, [1, 3]), {"axis": -1}),
    ("tile", (B, 2), {}),
    ("tile", (B, (2, 1, 3)), {}),
    ("repeat", (B, 2), {}),
    ("repeat", (B, 2), {"axis": 0}),
    ("repeat", (B, np.array([1, 0, 2])), {"axis": 0}),
    ("flip", (A,), {}),
    ("flip", (A,), {"axis": (0, 2)}),
    ("roll", (B, 2), {}),
    ("roll", (B, -1), {"axis": 1}),
    ("tril", (B,), {}),
    ("triu", (B,), {"k": 1}),
    ("take", (B, np.array([0, 2, -1])), {}),
    ("take", (B, np.array([[0, 3], [1, 1]])), {"axis": 1}),
    ("take", (A, 1), {"axis": 1}),
    ("take_along_axis", (B, np.argsort(B, axis=1)), {"axis": 1}),
    ("take_along_axis", (B, np.array([[0, 2, 1, 0]])), {"axis": 0}),
    ("take_along_axis", (B, np.array([0, 5, -1])), {"axis": None}),
    ("ndim", (A,), {}),
    ("size", (A,), {}),
    ("pad", (B, 1), {}),
    ("pad", (B, ((1, 0), (2, 3))), {"constant_values": 2.5}),
    ("pad", (I, (1, 2)), {}),
] + [
    ("pad", (B, width), {"mode": mode})
    for mode in ["reflect", "symmetric", "edge", "wrap"]
    for width in [((2, 1), (0, 3)), ((5, 6), (1, 9))]
]

CREATION = [
    ("zeros", ((2, 3),), {}),
    ("ones", (4,), {"dtype": "int32"}),
    ("full", ((2, 2), 3), {}),
    ("full", ((2,), 7), {"dtype": "int32"}),
    ("zeros_like", (I,), {}),
    ("ones_like", (B,), {"dtype": "float16"}),
    ("full_like", (B, 2), {}),
    ("arange", (5,), {}),
    ("arange", (1, 2, 0.3), {}),
    ("arange", (2.0, 7.0), {}),
    ("arange", (10, 1, -3), {}),
    ("linspace", (0, 1, 5), {}),
    ("linspace", (-2.0, 3.0, 7), {"endpoint": False}),
    ("linspace", (0, 1, 4), {"retstep": True}),
    ("linspace", (np.array([0.0, 1.0]), np.array([1.0, 3.0]), 3), {"axis": 1}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {"k": 1}),
    ("eye", (4, 3), {"k": -2}),
    ("identity", (3,), {"dtype": "int32"}),
]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name,args,kwargs", MANIPULATION + CREATION,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(MANIPULATION + CREATION)],
)
def test_manipulation_and_creation_match_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected)


def test_python_scalars_do_not_upcast():
    x = torch.ones(3, dtype=torch.float16)
    assert ops.add(x, 1.5).dtype == torch.float16
    assert ops.multiply(torch.ones(3), 2).dtype == torch.float32
    assert ops.add(torch.ones(3, dtype=torch.int32), 2).dtype == torch.int32
    assert ops.add(torch.ones(3, dtype=torch.int32), 2.0).dtype == torch.float32
    assert ops.divide(torch.ones(3, dtype=torch.int64), 2).dtype == torch.float32
    assert ops.maximum(torch.ones(3, dtype=torch.float64), np.float32(1)).dtype == torch.float64


def test_accepts_lists_and_tensors_and_returns_tensors():
    out = ops.add([1.0, 2.0], torch.tensor([1.0, 1.0]))
    assert isinstance(out, torch.Tensor) and out.tolist() == [2.0, 3.0]
    assert isinstance(ops.sum(np.ones(3)), torch.Tensor)
    assert ops.mean([[1, 2], [3, 4]], axis=0).tolist() == [2.0, 3.0]


def test_gradients_flow():
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    ops.sum(ops.square(ops.clip(x, -1.0, 2.0))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [0.0, 1.0]])


def test_linspace_step():
    samples, step = ops.linspace(0.0, 1.0, 5, retstep=True)
    assert math.isclose(float(step), 0.25)
    assert samples.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ops.squeeze(np.ones((2, 3)), axis=0), "squeeze axis 0"),
        (lambda: ops.split(np.ones((2, 3)), 2, axis=1), "indices_or_sections"),
        (lambda: ops.sum(np.ones((2, 3)), axis=2), "axis"),
        (lambda: ops.mean(np.ones((2, 3)), axis=(0, 0)), "Repeated axis"),
        (lambda: ops.sum(np.ones(3), axis="x"), "axis"),
        (lambda: ops.transpose(np.ones((2, 3)), (0, 0)), "axes"),
        (lambda: ops.pad(np.ones(3), 1, mode="bogus"), "mode"),
        (lambda: ops.pad(np.ones(3), 1, mode="edge", constant_values=1), "constant_values"),
        (lambda: ops.pad(np.ones(3), -1), "pad_width"),
        (lambda: ops.pad(np.ones((2, 2)), ((1, 1), (1, 1), (1, 1))), "pad_width"),
        (lambda: ops.where(np.ones(3, bool), 1.0), "x1"),
        (lambda: ops.arange(0, 3, 0), "step"),
        (lambda: ops.linspace(0, 1, -1), "num"),
        (lambda: ops.tensordot(np.ones(3), np.ones(3), axes=(0, 0, 0)), "axes"),
        (lambda: ops.take_along_axis(np.ones((2, 2)), np.zeros((1, 1), int)), "indices"),
        (lambda: ops.argmax(np.ones((2, 2)), axis=3), "axis"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


OTHER = [
    # math
    ("logsumexp", (A,), {}),
    ("logsumexp", (A,), {"axis": (0, 2), "keepdims": True}),
    ("top_k", (B, 2), {}),
    ("in_top_k", (np.array([0, 3, 1]), B, 2), {}),
    ("erf", (A,), {}),
    ("erfinv", (U,), {}),
    ("rsqrt", (P,), {}),
    # linalg
    ("norm", (A,), {}),
    ("norm", (A,), {"axis": -1, "keepdims": True}),
    ("norm", (B,), {"ord": 1, "axis": 0}),
    ("norm", (B,), {"ord": np.inf, "axis": 1}),
    ("norm", (B,), {"ord": 3, "axis": 1}),
    ("norm", (B,), {"ord": "fro"}),
    ("norm", (B,), {"ord": "nuc"}),
    ("norm", (B,), {"ord": 2}),
    ("norm", (A,), {"ord": 1, "axis": (2, 1)}),
    ("norm", (A,), {"ord": -np.inf, "axis": (1, 2)}),
    ("norm", (I,), {}),
    # core
    ("cast", (R, "int32"), {}),
    ("convert_to_tensor", ([[1.0, 2.0]],), {}),
    ("shape", (A,), {}),
    ("unstack", (B,), {"axis": 1}),
    ("slice", (A, (1, 0, 1), (1, 2, 3)), {}),
    ("slice_update", (B, (1, 1), np.ones((2, 2), "float32")), {}),
    ("scatter", (np.array([[0, 1], [0, 1], [1, 0]]), np.array([1.0, 2.0, 3.0], "float32"), (2, 2)), {}),
    ("scatter_update", (B, np.array([[0, 0], [2, 3]]), np.array([9.0, 8.0], "float32")), {}),
    ("stop_gradient", (B,), {}),
]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name,args,kwargs", OTHER, ids=[f"{c[0]}-{i}" for i, c in enumerate(OTHER)]
)
def test_math_linalg_core_match_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected)


def test_core_helpers():
    assert ops.dtype(np.ones(2, "float16")) == "float16"
    assert ops.dtype(torch.ones(2, dtype=torch.int32)) == "int32"
    assert ops.is_tensor(torch.ones(1)) and not ops.is_tensor(np.ones(1))
    np.testing.assert_array_equal(ops.convert_to_numpy(torch.ones(2)), np.ones(2, "float32"))
    assert ops.convert_to_tensor(3.0).shape == ()
    assert ops.convert_to_tensor([1, 2], dtype="float16").dtype == torch.float16
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)
    with pytest.raises(ValueError, match="num"):
        ops.unstack(np.ones((2, 3)), num=3)
    with pytest.raises(ValueError, match="ord"):
        ops.norm(np.ones((2, 3)), ord="fro", axis=1)
    with pytest.raises(ValueError, match="ord"):
        ops.norm(np.ones((2, 3)), ord=7)
    with pytest.raises(ValueError, match="k"):
        ops.top_k(np.ones((2, 3)), 4)


def test_integer_accumulations_keep_their_width():
    x = torch.tensor([[1, 2], [3, 4]], dtype=torch.int32)
    assert ops.sum(x).dtype == torch.int32 and ops.prod(x, axis=0).dtype == torch.int32
    assert ops.cumsum(x).dtype == torch.int32
    assert ops.sum(torch.tensor([True, True])).dtype == torch.int32
    assert ops.argmax(x).dtype == torch.int32 and ops.arange(3).dtype == torch.int32


def test_shape_inference_on_meta_tensors():
    # Symbolic calls run layers on meta tensors: ops must not touch data.
    m = torch.empty(2, 3, 4, device="meta")
    assert ops.mean(m, axis=1, keepdims=True).shape == (2, 1, 4)
    assert ops.add(m, 1.5).device.type == "meta"
    assert ops.pad(m, 1, mode="reflect").shape == (4, 5, 6)
    assert ops.take(m, [0, 2], axis=1).shape == (2, 2, 4)
    assert ops.concatenate([m, m], axis=-1).shape == (2, 3, 8)
    assert ops.norm(m, axis=-1).shape == (2, 3)
