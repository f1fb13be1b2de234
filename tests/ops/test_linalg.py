"""lamina.ops linalg functions against keras.ops (JAX backend), and jvp."""

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(3)
A = _rng.normal(size=(4, 4)).astype("float32")
SPD = (A @ A.T + 4 * np.eye(4)).astype("float32")
BATCH = _rng.normal(size=(2, 3, 3)).astype("float32")
TALL = _rng.normal(size=(5, 3)).astype("float32")
B = _rng.normal(size=(4, 2)).astype("float32")
LOWER = np.tril(A) + 3 * np.eye(4, dtype="float32")
RANK2 = (TALL[:, :2] @ _rng.normal(size=(2, 3))).astype("float32")


def assert_same(got, expected, rtol=1e-4, atol=1e-4):
    if isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e, rtol, atol)
        return
    g, e = got.detach().cpu().numpy(), np.asarray(expected)
    assert g.shape == e.shape and g.dtype == e.dtype, (g.shape, e.shape, g.dtype, e.dtype)
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


CASES = [
    ("cholesky", (SPD,), {}),
    ("cholesky", (SPD,), {"upper": True}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD).astype("float32"),), {}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD).T.astype("float32"),), {"upper": True}),
    ("det", (BATCH,), {}),
    ("det", (np.eye(3, dtype="int32") * 2,), {}),
    ("eigh", (SPD,), {}),
    ("inv", (BATCH,), {}),
    ("lu_factor", (A,), {}),
    ("lu_factor", (BATCH,), {}),
    ("solve", (A, B), {}),
    ("solve", (A, B[:, 0]), {}),
    ("solve_triangular", (LOWER, B), {"lower": True}),
    ("solve_triangular", (LOWER.T, B[:, 0]), {}),
    ("svd", (TALL,), {"compute_uv": False}),
    ("lstsq", (TALL, TALL[:, 0] + 1), {}),
    ("lstsq", (RANK2, np.ones((5, 2), "float32")), {"rcond": 1e-3}),
    ("matrix_rank", (RANK2,), {}),
    ("matrix_rank", (np.diag([10.0, 1.0, 0.01]).astype("float32"),), {"tol": 0.5}),
    ("pinv", (RANK2,), {}),
    ("pinv", (np.diag([10.0, 1.0, 0.01]).astype("float32"),), {"rcond": 0.05}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    assert_same(getattr(ops, name)(*args, **kwargs), expected)
    assert_same(getattr(ops.linalg, name)(*args, **kwargs), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_matches_keras(kops, mode):
    assert_same(ops.qr(TALL, mode=mode), kops.qr(TALL, mode=mode))


@pytest.mark.oracle
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_reconstructs_and_matches_singular_values(kops, full_matrices):
    u, s, vh = ops.svd(TALL, full_matrices=full_matrices)
    ku, ks, kvh = kops.svd(TALL, full_matrices=full_matrices)
    assert tuple(u.shape) == ku.shape and tuple(vh.shape) == kvh.shape
    np.testing.assert_allclose(s.numpy(), ks, rtol=1e-5)
    np.testing.assert_allclose((u[:, :3] * s) @ vh[:3], TALL, rtol=1e-4, atol=1e-5)


@pytest.mark.oracle
def test_eig_matches_keras_up_to_order(kops):
    w, v = ops.eig(SPD)
    kw, _ = kops.eig(SPD)
    assert w.dtype == torch.complex64 and v.dtype == torch.complex64
    np.testing.assert_allclose(np.sort_complex(w.numpy()), np.sort_complex(np.asarray(kw)), rtol=1e-4)
    np.testing.assert_allclose((torch.tensor(SPD, dtype=torch.complex64) @ v).numpy(), (v * w).numpy(), atol=1e-4)


@pytest.mark.oracle
def test_jvp_matches_keras(kops):
    x, t = np.arange(3, dtype="float32"), np.ones(3, "float32")
    got = ops.jvp(lambda a: torch.sin(a) * a, (torch.tensor(x),), (torch.tensor(t),))
    expected = kops.jvp(lambda a: kops.sin(a) * a, (x,), (t,))
    assert_same(got, expected, rtol=1e-6)
    out, tangent, aux = ops.jvp(lambda a: (a * 2, a + 1), (torch.tensor(x),), (torch.tensor(t),), has_aux=True)
    assert np.allclose(aux.numpy(), x + 1) and np.allclose(tangent.numpy(), 2.0)


def test_cholesky_of_an_indefinite_matrix_raises():
    with pytest.raises(ValueError, match="positive definite"):
        ops.cholesky(-np.eye(2, dtype="float32"))


def test_non_square_input_raises():
    with pytest.raises(ValueError, match="square"):
        ops.inv(TALL)


def test_symbolic_linalg_records_keras_nodes():
    import lamina

    inp = lamina.Input((3, 3))
    model = lamina.Model(inp, ops.linalg.det(ops.inv(inp)))
    assert tuple(model.output.shape) == (None,)
    np.testing.assert_allclose(model(BATCH).detach().numpy(), 1 / np.linalg.det(BATCH), rtol=1e-4)
