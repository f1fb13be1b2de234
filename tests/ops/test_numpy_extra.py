"""The NumPy-like ops beyond the basics (stats, bitwise, matrix, joining, windows, ...) against
keras.ops (JAX backend): values and exact result dtypes over boolean, integer and float inputs."""

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(1)
F32 = _rng.normal(size=(3, 4)).astype("float32")
F3D = _rng.normal(size=(2, 3, 4)).astype("float32")
NAN = F32.copy()
NAN[0, 1] = NAN[2, 3] = NAN[1, 0] = np.nan
NAN[:, 2] = np.nan
SQ = _rng.normal(size=(3, 3)).astype("float32")
I32 = _rng.integers(-5, 6, size=(3, 4)).astype("int32")
POS = _rng.integers(1, 20, size=(3, 4)).astype("int32")
BOOL = _rng.integers(0, 2, size=(3, 4)).astype(bool)

# One small tensor per dtype (bfloat16 has no NumPy dtype; 64-bit types are narrowed by JAX).
DTYPES = ["bool", "uint8", "int8", "int32", "float16", "float32"]
VALUES = {d: (np.array([[1, 0, 3], [2, 5, 1]]) if d in ("bool", "uint8") else
              np.array([[1, -2, 3], [0, 5, -1]])).astype(d) for d in DTYPES}


def _np(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        return x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()
    return np.asarray(x)


def _dtype(x):
    if isinstance(x, torch.Tensor):
        return str(x.dtype).replace("torch.", "")
    return str(np.asarray(x).dtype)


def assert_same(got, expected):
    """Same structure, shape, exact dtype and values (NaN where NaN)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected), (got, expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    assert isinstance(got, torch.Tensor), type(got)
    g, e = _np(got), np.asarray(expected)
    assert g.shape == e.shape, (g.shape, e.shape)
    assert _dtype(got) == str(e.dtype), (_dtype(got), e.dtype)
    tol = 2e-3 if e.dtype == np.float16 else 1e-5
    if e.dtype.kind in "biu":
        np.testing.assert_array_equal(g, e)
    else:
        np.testing.assert_allclose(g.astype("float64"), e.astype("float64"), rtol=tol, atol=tol)


def check(kops, name, *args, **kwargs):
    try:
        expected = getattr(kops, name)(*args, **kwargs)
    except Exception:  # Keras refuses the input: Lamina must refuse it too.
        with pytest.raises((ValueError, TypeError, RuntimeError)):
            getattr(ops, name)(*args, **kwargs)
        return
    assert_same(getattr(ops, name)(*args, **kwargs), expected)


UNARY = [
    "angle", "cbrt", "conj", "conjugate", "copy", "deg2rad", "rad2deg", "exp2", "fabs", "i0", "imag",
    "real", "isneginf", "isposinf", "isreal", "signbit", "sinc", "bitwise_invert", "bitwise_not",
    "nonzero", "median", "ptp", "nanmax", "nanmin", "nanmean", "nanstd", "nanvar", "nanmedian",
    "nanargmax", "nanargmin", "diff", "average", "fliplr", "flipud", "corrcoef", "array",
    "empty_like", "diagonal", "rot90", "diagflat", "nancumsum", "nancumprod",
]
# Sums and products widen uint8 to int32 in Lamina (as its `sum`), uint32 in Keras: for uint8 the
# values are compared and the dtype is Lamina's own.
ACCUMULATING = ["nansum", "nanprod", "trace"]


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY + ACCUMULATING)
def test_unary_dtypes_and_values(kops, name, dtype):
    if name in ACCUMULATING and dtype == "uint8":
        ours = getattr(ops, name)(VALUES[dtype])
        assert ours.dtype == torch.int32 == ops.sum(VALUES[dtype]).dtype
        np.testing.assert_array_equal(ours.numpy(), np.asarray(getattr(kops, name)(VALUES[dtype])))
        return
    check(kops, name, VALUES[dtype])


PAIRS = [
    ("bool", "bool"), ("bool", "int32"), ("uint8", "int8"), ("int8", "int8"), ("int32", "int32"),
    ("int8", "float16"), ("float16", "float32"), ("int32", "float32"), ("float32", "float32"),
]
BINARY = [
    "allclose", "append", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
    "bitwise_right_shift", "left_shift", "right_shift", "cross", "divide_no_nan", "fmax", "fmin",
    "fmod", "gcd", "lcm", "heaviside", "hypot", "inner", "kron", "ldexp", "logaddexp", "logaddexp2",
    "nextafter", "vdot", "isin",
]


@pytest.mark.oracle
@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("name", BINARY)
def test_binary_dtypes_and_values(kops, name, pair):
    x1, x2 = VALUES[pair[0]], VALUES[pair[1]][::-1]
    if name in ("bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift"):
        x2 = np.abs(x2.astype("int64")).astype(x2.dtype) if x2.dtype != bool else x2
    if name == "fmod":
        x2 = np.where(x2 == 0, np.ones_like(x2), x2)  # torch refuses integer division by zero
    check(kops, name, x1, x2)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack"])
@pytest.mark.parametrize("pair", [("int8", "uint8"), ("bool", "int32"), ("float16", "float32"), ("int32", "float16")])
def test_stacking_dtypes(kops, name, pair):
    check(kops, name, [VALUES[pair[0]], VALUES[pair[1]]])


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", ["int8", "int32", "float16", "float32"])
@pytest.mark.parametrize("scalar", [2, 3.5])
@pytest.mark.parametrize("name", ["fmax", "fmin", "fmod", "hypot", "heaviside", "divide_no_nan", "append", "nextafter"])
def test_python_scalars_are_weak(kops, name, dtype, scalar):
    check(kops, name, VALUES[dtype], scalar)


CASES = [
    # order statistics
    ("median", (F3D,), {"axis": 1}),
    ("median", (F3D,), {"axis": (0, 2), "keepdims": True}),
    ("median", (NAN,), {"axis": 0}),
    ("quantile", (F3D, 0.3), {}),
    ("quantile", (F3D, np.array([0.1, 0.5, 0.95], "float32")), {"axis": -1}),
    ("quantile", (F3D, np.array([0.25, 0.75])), {"axis": (0, 2), "keepdims": True}),
    ("percentile", (I32, 40), {"axis": 1}),
    ("percentile", (F32, np.array([10.0, 90.0])), {"axis": 0, "keepdims": True}),
    ("nanmedian", (NAN,), {"axis": 1}),
    ("nanmedian", (NAN,), {}),
    ("nanquantile", (NAN, np.array([0.2, 0.9])), {"axis": 0}),
    ("nanpercentile", (NAN, 75), {"axis": 1, "keepdims": True}),
] + [
    ("quantile", (np.arange(7.0).astype("float32"), np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.0])), {"method": m})
    for m in ("linear", "lower", "higher", "midpoint", "nearest")
] + [
    (name, (NAN,), kw)
    for name in ("nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanstd", "nanvar", "nanargmax", "nanargmin")
    for kw in ({}, {"axis": 0}, {"axis": 1, "keepdims": True})
] + [
    ("nanargmax", (NAN,), {"axis": None, "keepdims": True}),
    ("nancumsum", (NAN,), {"axis": 1}),
    ("nancumprod", (NAN,), {}),
    ("nancumsum", (I32,), {"axis": 0, "dtype": "float32"}),
    ("ptp", (F3D,), {"axis": (0, 2)}),
    ("ptp", (I32,), {"axis": 1, "keepdims": True}),
    ("average", (F32,), {"axis": 1}),
    ("average", (F32,), {"axis": 1, "weights": np.array([1.0, 2.0, 0.5, 3.0], "float32")}),
    ("average", (I32,), {"axis": 0, "weights": np.array([1, 2, 3], "int32")}),
    ("average", (F32,), {"weights": np.abs(F32)}),
    ("histogram", (F32.ravel(),), {}),
    ("histogram", (F32.ravel(),), {"bins": 4, "range": (-1.0, 1.0)}),
    ("histogram", (POS.ravel(),), {"bins": 3}),
    ("histogram", (np.array([3.0, 3.0], "float32"),), {"bins": 2}),
    ("bincount", (POS.ravel(),), {}),
    ("bincount", (POS.ravel(),), {"minlength": 25}),
    ("bincount", (POS.ravel(), np.abs(F32).ravel()), {}),
    ("bincount", (np.array([1, 1, 3], "int32"),), {"weights": np.array([5, 1, 2], "int8")}),
    ("corrcoef", (F32,), {}),
    ("corrcoef", (F32[0],), {}),
    # searching and indexing
    ("searchsorted", (np.sort(F32.ravel()), F3D), {}),
    ("searchsorted", (np.array([1, 2, 2, 3], "int32"), np.array([2, 0, 5], "int32")), {"side": "right"}),
    ("digitize", (F32, np.array([-1.0, 0.0, 0.5, 1.0], "float32")), {}),
    ("digitize", (np.array([1.0, 2, 3, 0.5, 4], "float32"), np.array([3.0, 2, 1], "float32")), {}),
    ("digitize", (I32, np.array([-2, 0, 3], "int32")), {}),
    ("argpartition", (F32.ravel(), 4), {}),
    ("argpartition", (I32, 1), {"axis": 0}),
    ("argpartition", (F3D, -2), {}),
    ("argpartition", (np.array([3, 3, 1, 3, 0, 3], "int32"), 3), {}),
    ("unique", (I32,), {}),
    ("unique", (I32,), {"return_index": True, "return_inverse": True, "return_counts": True}),
    ("unique", (np.array([3, 1, 3, 2], "int32"),), {"size": 5, "return_index": True, "return_counts": True}),
    ("unique", (np.array([3, 1, 3, 2], "int32"),), {"size": 5, "fill_value": -1}),
    ("unique", (np.array([[1, 2], [0, 1], [1, 2]], "int32"),), {"axis": 0, "return_inverse": True}),
    ("unique", (F32.round(),), {"return_counts": True}),
    ("nonzero", (F3D > 0,), {}),
    ("unravel_index", (np.array([5, 7, 0], "int32"), (2, 4)), {}),
    ("unravel_index", (5, (2, 4)), {}),
    ("unravel_index", (np.array([[1, 23], [11, 5]], "int32"), (2, 3, 4)), {}),
    ("select", ([F32 > 0.5, F32 < -0.5], [F32, -F32]), {}),
    ("select", ([I32 > 0], [I32]), {"default": -1}),
    ("select", ([np.array([True, False, False])], [np.array([1, 2, 3], "int8")]), {"default": 0.5}),
    ("isin", (I32, np.array([0, 3, -5], "int32")), {}),
    ("isin", (I32, np.array([[1], [2]], "int32")), {"invert": True}),
    ("allclose", (F32, F32 + 1e-7), {}),
    ("allclose", (NAN, NAN), {"equal_nan": True}),
    ("allclose", (F32, F32 + 0.1), {"rtol": 0.0, "atol": 0.01}),
    # joining and splitting
    ("append", (F32, F32[:1]), {"axis": 0}),
    ("append", (I32, 7), {}),
    ("hstack", ([F32[0], F32[1]],), {}),
    ("hstack", ([F3D, F3D[:, :1]],), {}),
    ("vstack", ([F32, F32[0]],), {}),
    ("dstack", ([F32[0], F32[1]],), {}),
    ("dstack", ([F3D, F3D],), {}),
    ("array_split", (F32.ravel(), 5), {}),
    ("hsplit", (F32, 2), {}),
    ("hsplit", (F32.ravel(), [3, 5]), {}),
    ("vsplit", (F32, 3), {}),
    ("dsplit", (F3D, [1]), {}),
    # matrix and vector routines
    ("diag", (F32,), {}),
    ("diag", (F32,), {"k": -1}),
    ("diag", (I32[0],), {"k": 2}),
    ("diagflat", (I32[:2, :2],), {"k": 1}),
    ("diagonal", (F3D,), {"offset": 1, "axis1": 1, "axis2": 2}),
    ("diagonal", (F3D,), {"axis1": -1, "axis2": 0}),
    ("trace", (F3D,), {"offset": -1, "axis1": 2, "axis2": 1}),
    ("trace", (I32,), {"offset": 1}),
    ("fliplr", (F3D,), {}),
    ("flipud", (I32,), {}),
    ("rot90", (F3D,), {}),
    ("rot90", (F3D,), {"k": -3, "axes": (2, 0)}),
    ("rot90", (I32,), {"k": 2}),
    ("diff", (F3D,), {}),
    ("diff", (I32,), {"n": 2, "axis": 0}),
    ("diff", (BOOL,), {"axis": 1}),
    ("diff", (F32,), {"n": 0}),
    ("trapezoid", (F3D,), {}),
    ("trapezoid", (I32,), {"dx": 0.5, "axis": 0}),
    ("trapezoid", (F32,), {"x": np.array([0.0, 1.0, 3.0, 3.5], "float32")}),
    ("trapezoid", (F32,), {"x": np.cumsum(np.abs(F32), axis=0), "axis": 0}),
    ("vander", (F32[0],), {}),
    ("vander", (I32[0],), {"N": 3, "increasing": True}),
    ("inner", (F3D, F32), {}),
    ("inner", (F32[0], F32[1]), {}),
    ("inner", (2.0, F32), {}),
    ("vdot", (F32, F32[::-1]), {}),
    ("kron", (F32[:2, :2], I32[:2, :3]), {}),
    ("cross", (F3D[..., :3], F3D[..., 1:]), {}),
    ("cross", (F32[:, :2], F32[:, 2:]), {}),
    ("cross", (F32[:2, :3], F32[1:3, 1:3]), {}),
    ("cross", (F32[:, :3].T, F32[:, 1:]), {"axisa": 0, "axisc": 0}),
    ("cross", (F3D[:, :, :3], F3D[:, :, 1:]), {"axis": -1}),
    ("slogdet", (SQ,), {}),
    ("slogdet", (np.stack([SQ, -SQ, SQ.T]),), {}),
    ("slogdet", (np.array([[1, 2], [3, 4]], "int32"),), {}),
] + [
    ("correlate", (a, v), {"mode": m})
    for m in ("valid", "same", "full")
    for a, v in [
        (F32.ravel()[:5], F32.ravel()[5:8]),
        (F32.ravel()[:3], F32.ravel()[5:11]),
        (F32.ravel()[:6], F32.ravel()[6:10]),
        (I32[0], I32[1]),
    ]
] + [
    # element-wise edge values
    ("angle", (np.array([-1.0, 0.0, -0.0, 2.0, np.nan], "float32"),), {}),
    ("cbrt", (np.array([-27.0, -1.0, 0.0, 8.0, 1e-6], "float32"),), {}),
    ("sinc", (np.array([0.0, 0.5, -1.5, 2.0], "float32"),), {}),
    ("signbit", (np.array([-0.0, 0.0, -np.inf, np.nan, -1.0], "float32"),), {}),
    ("isposinf", (np.array([np.inf, -np.inf, np.nan, 1.0], "float32"),), {}),
    ("isneginf", (np.array([np.inf, -np.inf, np.nan, 1.0], "float32"),), {}),
    ("fmax", (np.array([np.nan, 1.0, np.nan], "float32"), np.array([2.0, np.nan, np.nan], "float32")), {}),
    ("fmin", (np.array([np.nan, 1.0, np.nan], "float32"), np.array([2.0, np.nan, np.nan], "float32")), {}),
    ("fmod", (np.array([-7.5, 7.5, -3.0], "float32"), np.array([2.0, -2.0, 3.0], "float32")), {}),
    ("fmod", (np.array([-7, 7, -3], "int32"), np.array([2, -2, 3], "int32")), {}),
    ("heaviside", (np.array([-1.0, 0.0, 2.0, np.nan], "float32"), 0.5), {}),
    ("divide_no_nan", (F32, np.array([0.0, 1.0, -2.0, 0.0], "float32")), {}),
    ("divide_no_nan", (I32, np.array([0, 3, 0, 2], "int32")), {}),
    ("ldexp", (F32, np.array([3, -1, 0, 2], "int32")), {}),
    ("ldexp", (I32, 2), {}),
    ("logaddexp", (F32 * 50, -F32 * 50), {}),
    ("logaddexp2", (F32 * 50, F32), {}),
    ("nextafter", (F32, np.zeros_like(F32)), {}),
    ("nextafter", (np.array([1.0, 0.0], "float16"), np.array([2.0, -1.0], "float16")), {}),
    ("gcd", (np.array([12, -18, 0, 7], "int32"), np.array([8, 12, 5, 0], "int32")), {}),
    ("lcm", (np.array([4, -6, 0, 7], "int32"), np.array([6, 4, 5, 3], "int32")), {}),
    ("hypot", (F32, F32[::-1] * 1e3), {}),
    ("bitwise_right_shift", (np.array([-8, 8, -1], "int32"), np.array([1, 2, 3], "int32")), {}),
    ("bitwise_xor", (I32, 3), {}),
    ("view", (F32, "int32"), {}),
    ("view", (F32, "int16"), {}),
    ("view", (np.array([[1, 2, 3, 4]], "int16"), "int32"), {}),
    ("view", (I32, None), {}),
]

CREATION = [
    ("empty", ((2, 3),), {}),
    ("empty", (4,), {"dtype": "int32"}),
    ("empty_like", (F32,), {"dtype": "int8"}),
    ("array", ([1, 2],), {"dtype": "int32"}),
    ("array", ([1.0, 2.0],), {}),
    ("array", (I32,), {"dtype": "float32"}),
    ("tri", (3,), {}),
    ("tri", (2, 4), {"k": 1, "dtype": "int32"}),
    ("tri", (4, 3), {"k": -1, "dtype": "bool"}),
    ("logspace", (0, 2, 3), {}),
    ("logspace", (0.0, 3.0, 5), {"endpoint": False, "base": 2}),
    ("logspace", (0, 2, 3), {"dtype": "int32"}),
    ("logspace", (np.array([0.0, 1.0]), np.array([1.0, 3.0]), 4), {"axis": 1}),
    ("geomspace", (1, 1000, 4), {}),
    ("geomspace", (-1.0, -16.0, 5), {}),
    ("geomspace", (2.0, 64.0, 5), {"endpoint": False, "dtype": "float16"}),
    ("geomspace", (np.array([1.0, 2.0]), np.array([100.0, 32.0]), 3), {"axis": -1}),
    ("meshgrid", (np.array([1, 2], "int32"), np.array([1.0, 2.0, 3.0], "float32")), {}),
    ("meshgrid", (np.arange(2.0, dtype="float32"), np.arange(3, dtype="int8"), np.arange(4.0, dtype="float16")), {"indexing": "ij"}),
    ("meshgrid", (np.arange(2.0, dtype="float32"), np.arange(3, dtype="int8"), np.arange(4.0, dtype="float16")), {}),
] + [(w, (n,), {}) for w in ("bartlett", "blackman", "hamming", "hanning") for n in (0, 1, 5, 12)] + [
    ("kaiser", (n, beta), {}) for n, beta in [(1, 3.0), (6, 0.0), (9, 8.6), (12, 2)]
]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name,args,kwargs", CASES + CREATION, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES + CREATION)]
)
def test_matches_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected)


@pytest.mark.oracle
def test_vectorize_matches_keras(kops):
    a, b = F3D, F32[0]
    got = ops.vectorize(lambda u, v: ops.sum(u * v), signature="(n),(n)->()")(a, b)
    assert_same(got, kops.vectorize(lambda u, v: kops.sum(u * v), signature="(n),(n)->()")(a, b))
    got = ops.vectorize(lambda u, k: u * k, excluded={1})(F32, 3.0)
    assert_same(got, kops.vectorize(lambda u, k: u * k, excluded={1})(F32, 3.0))


def test_array_split_accepts_split_points():
    parts = ops.array_split(F3D, [1, 3], axis=2)
    assert [tuple(p.shape) for p in parts] == [(2, 3, 1), (2, 3, 2), (2, 3, 1)]


def test_meta_tensors_give_shapes_without_data():
    m = torch.empty(2, 3, 4, device="meta")
    assert ops.median(m, axis=1).shape == (2, 4)
    assert ops.nanstd(m, axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert ops.hstack([m, m]).shape == (2, 6, 4)
    assert ops.cross(m[..., :3], m[..., 1:]).shape == (2, 3, 3)
    assert ops.logaddexp(m, 1.0).device.type == "meta"


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ops.quantile(F32, 0.5, method="bogus"), "method"),
        (lambda: ops.bitwise_and(F32, F32), "integer"),
        (lambda: ops.gcd(F32, F32), "integer"),
        (lambda: ops.ldexp(F32, F32), "integer"),
        (lambda: ops.correlate(F32, F32[0]), "1-D"),
        (lambda: ops.correlate(F32[0], F32[1], mode="bogus"), "mode"),
        (lambda: ops.cross(F32, F32), "2 or 3"),
        (lambda: ops.histogram(F32), "1-D"),
        (lambda: ops.bincount(F32[0]), "integer"),
        (lambda: ops.bincount(POS[0], sparse=True), "sparse"),
        (lambda: ops.searchsorted(F32, F32[0]), "1-D"),
        (lambda: ops.searchsorted(F32[0], F32[0], side="middle"), "side"),
        (lambda: ops.select([BOOL], [F32, F32]), "same length"),
        (lambda: ops.average(F32, axis=1, weights=np.ones(3)), "weights"),
        (lambda: ops.vsplit(F32[0], 2), "rank"),
        (lambda: ops.dsplit(F32, 2), "rank"),
        (lambda: ops.fliplr(F32[0]), "rank"),
        (lambda: ops.rot90(F32, axes=(0, 0)), "axes"),
        (lambda: ops.diff(F32, n=-1), "n"),
        (lambda: ops.meshgrid(F32[0], indexing="xx"), "indexing"),
        (lambda: ops.ptp(BOOL), "boolean"),
        (lambda: ops.argpartition(F32, 9), "kth"),
        (lambda: ops.vectorize(lambda u: u, signature="n->()")(F32), "signature"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
