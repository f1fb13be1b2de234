"""Linear algebra (``keras.ops`` linalg): norms, factorizations, solvers and ``jvp``.

Integer inputs are computed in ``floatx()``. Tolerances follow Keras on JAX: ``matrix_rank``'s
``tol`` is absolute, ``pinv``'s and ``lstsq``'s ``rcond`` are relative to the largest singular
value.
"""

import math

import torch

from lamina.ops._utils import canonical_axes, promote, public_names, to_float

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as NumPy's ``linalg.norm``.

    Args:
        x: Input tensor.
        ord: Order of the norm. For vectors (an int ``axis``): any number, ``inf`` or ``-inf``
            (``None`` is the 2-norm). For matrices (a pair of axes): ``"fro"``, ``"nuc"``, ``1``,
            ``-1``, ``2``, ``-2``, ``inf`` or ``-inf`` (``None`` is the Frobenius norm).
        axis: An int (vector norm), a pair of ints (matrix norm) or ``None``: the 2-norm of the
            flattened ``x`` when ``ord`` is ``None``, else a vector or matrix norm of a 1-D or
            2-D ``x``.
        keepdims: Keep the reduced axes with size 1.

    Returns:
        The norm, in ``floatx()`` for integer inputs.
    """
    x = to_float(x)
    if axis is None:
        if ord is None:
            flat = torch.linalg.vector_norm(x)
            return flat.reshape((1,) * x.ndim) if keepdims else flat
        if x.ndim not in (1, 2):
            raise ValueError(f"`axis` is needed for a norm with `ord` of a tensor of rank {x.ndim}.")
        axis = tuple(range(x.ndim))
    dims = (axis,) if isinstance(axis, int) else tuple(axis)
    canonical_axes(dims, x.ndim)  # validates range and repeats
    # Keep the caller's order: for the 1 and inf matrix norms it says which axis holds the rows.
    dims = tuple(int(d) % x.ndim for d in dims)
    if len(dims) not in (1, 2):
        raise ValueError(f"`axis` must be an int or a pair of ints. Received: axis={axis!r}")
    if len(dims) == 1:
        if isinstance(ord, str):
            raise ValueError(f"Invalid `ord` {ord!r} for a vector norm: expected a number.")
        return torch.linalg.vector_norm(x, ord=2 if ord is None else ord, dim=dims, keepdim=keepdims)
    if ord is not None and ord not in _MATRIX_ORDS:
        raise ValueError(f"Invalid `ord` {ord!r} for a matrix norm: expected one of {_MATRIX_ORDS}.")
    return torch.linalg.matrix_norm(x, ord="fro" if ord is None else ord, dim=dims, keepdim=keepdims)


def _square(x, fn_name):
    x = to_float(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"`{fn_name}` expects square matrices in the last two axes. Received: x.shape={tuple(x.shape)}"
        )
    return x


def _matrices(x, fn_name):
    x = to_float(x)
    if x.ndim < 2:
        raise ValueError(f"`{fn_name}` expects input of rank >= 2. Received input with shape {tuple(x.shape)}.")
    return x


def cholesky(x, upper=False):
    """Cholesky factor of a symmetric positive-definite ``x``: lower ``L`` with ``x = L L^T``
    (upper ``U`` with ``x = U^T U`` when ``upper``)."""
    factor, info = torch.linalg.cholesky_ex(_square(x, "cholesky"), upper=upper)
    # (Meta tensors, used to infer symbolic shapes, carry no values to check.)
    if factor.device.type != "meta" and bool(torch.any(info != 0)):
        raise ValueError("Cholesky decomposition failed. The input might not be a valid positive definite matrix.")
    return factor


def cholesky_inverse(x, upper=False):
    """Inverse of ``A`` from its Cholesky factor ``x`` (lower, or upper when ``upper``)."""
    return torch.cholesky_inverse(_square(x, "cholesky_inverse"), upper=upper)


def det(x):
    """Determinant of each square matrix in the last two axes."""
    return torch.linalg.det(_square(x, "det"))


def eig(x):
    """Eigenvalues and right eigenvectors of a general square ``x`` (complex results).

    Returns:
        A tuple ``(eigenvalues, eigenvectors)``; column ``i`` of ``eigenvectors`` belongs to
        ``eigenvalues[..., i]``.
    """
    return tuple(torch.linalg.eig(_square(x, "eig")))


def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of a symmetric (Hermitian) ``x``, from its lower
    triangle."""
    return tuple(torch.linalg.eigh(_square(x, "eigh")))


def inv(x):
    """Inverse of each square matrix in the last two axes."""
    return torch.linalg.inv(_square(x, "inv"))


def lu_factor(x):
    """LU factorization with partial pivoting, packed as LAPACK does.

    Returns:
        A tuple ``(lu, pivots)``: ``L`` (unit diagonal, below) and ``U`` (on and above the
        diagonal) in one matrix, and the int32 row swapped with each row, counted from 0.
    """
    lu, pivots = torch.linalg.lu_factor(_matrices(x, "lu_factor"))
    return lu, (pivots - 1).to(torch.int32)


def qr(x, mode="reduced"):
    """QR decomposition ``x = q r``.

    Args:
        x: ``(..., M, N)`` tensor.
        mode: ``"reduced"`` (``q`` is ``(..., M, K)``, ``K = min(M, N)``) or ``"complete"``
            (``q`` is ``(..., M, M)``).

    Returns:
        A tuple ``(q, r)``.
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`mode` argument value not supported. Expected one of {{'reduced', 'complete'}}. Received: mode={mode}")
    return tuple(torch.linalg.qr(_matrices(x, "qr"), mode=mode))


def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition ``x = u diag(s) vh``.

    Returns:
        ``(u, s, vh)``, or only ``s`` (descending) when ``compute_uv`` is False.
    """
    x = _matrices(x, "svd")
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def solve(a, b):
    """Solve ``a x = b`` for square ``a``; ``b`` is a vector or a stack of matrices."""
    a, b = promote(a, b, force_float=True)
    return torch.linalg.solve(a, b)


def solve_triangular(a, b, lower=False):
    """Solve ``a x = b`` for triangular ``a`` (its lower triangle when ``lower``, else its upper).

    ``b`` is ``(..., M)`` or ``(..., M, N)``.
    """
    a, b = promote(a, b, force_float=True)
    vector = b.ndim == a.ndim - 1
    out = torch.linalg.solve_triangular(a, b.unsqueeze(-1) if vector else b, upper=not lower)
    return out.squeeze(-1) if vector else out


def _eps(x):
    return torch.finfo(x.dtype).eps


def lstsq(a, b, rcond=None):
    """Least-squares solution of ``a x = b`` (minimum norm when ``a`` is rank deficient).

    Args:
        a: ``(M, N)`` matrix.
        b: ``(M,)`` or ``(M, K)``.
        rcond: Singular values below ``rcond * max(s)`` count as zero (default
            ``eps * max(M, N)``).
    """
    a, b = promote(a, b, force_float=True)
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(
            "`lstsq` expects a of shape (M, N) and b of shape (M,) or (M, K). "
            f"Received: a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}"
        )
    u, s, vh = torch.linalg.svd(a, full_matrices=False)
    rcond = _eps(a) * max(a.shape) if rcond is None else rcond
    keep = s > rcond * s.max() if s.numel() else s > 0
    inv_s = torch.where(keep, 1.0 / torch.where(keep, s, 1.0), 0.0)
    ub = u.T @ b
    scaled = inv_s * ub if b.ndim == 1 else inv_s.unsqueeze(-1) * ub
    return vh.T @ scaled


def matrix_rank(x, tol=None):
    """Number of singular values above ``tol`` (absolute; default ``max(s) * max(M, N) * eps``),
    as int32."""
    x = _matrices(x, "matrix_rank")
    if tol is None:
        rank = torch.linalg.matrix_rank(x)
    else:
        rank = torch.linalg.matrix_rank(x, atol=tol, rtol=0.0)
    return rank.to(torch.int32)


def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse; singular values below ``rcond * max(s)`` count as zero
    (default ``rcond = 10 * max(M, N) * eps``)."""
    x = _matrices(x, "pinv")
    rcond = 10 * max(x.shape[-2:]) * _eps(x) if rcond is None else rcond
    return torch.linalg.pinv(x, rtol=rcond)


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative of ``fun`` at ``primals`` along ``tangents``.

    Args:
        fun: A function of ``len(primals)`` tensors.
        primals: Tuple of input tensors.
        tangents: Tuple of tangent tensors, shaped like ``primals``.
        has_aux: ``fun`` returns ``(output, aux)``; ``aux`` is returned untouched.

    Returns:
        ``(output, output_tangent)``, plus ``aux`` when ``has_aux``.
    """
    primals = tuple(to_float(p) for p in primals)
    tangents = tuple(to_float(t).to(p.dtype) for p, t in zip(primals, tangents))
    return torch.func.jvp(fun, primals, tangents, has_aux=has_aux)


__all__ = public_names(globals(), __name__)
