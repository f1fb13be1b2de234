"""Control flow and function transforms (``keras.ops`` core): cond, switch, loops, scans, maps and
``custom_gradient``.

These run eagerly, as PyTorch does: Python decides each branch and iteration, autograd records
what runs. Nested structures (tuples, lists, dicts of tensors) are walked with torch's pytree
utilities, as JAX walks its pytrees.
"""

import builtins

import torch
from torch.utils import _pytree as pytree

from lamina.ops._utils import public_names, tensor


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``."""
    return true_fn() if bool(tensor(pred)) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clamped to ``[0, len(branches) - 1]``."""
    index = builtins.min(builtins.max(int(tensor(index)), 0), len(branches) - 1)
    return branches[index](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds.

    Args:
        cond: Callable returning a boolean scalar.
        body: Callable returning new loop variables of the same structure.
        loop_vars: A tuple or list (passed positionally) or a single value or structure.
        maximum_iterations: Optional bound on the number of iterations.

    Returns:
        The final loop variables, a tuple if ``loop_vars`` was a tuple or list.
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    step = 0
    while (maximum_iterations is None or step < maximum_iterations) and bool(tensor(cond(*state))):
        out = body(*state)
        state = tuple(out) if is_tuple else (out,)
        step += 1
    return state if is_tuple else state[0]


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, starting from ``init_val``."""
    val = init_val
    for i in range(int(tensor(lower)), int(tensor(upper))):
        val = body_fun(i, val)
    return val


def _leading_length(leaves):
    lengths = {int(leaf.shape[0]) for leaf in leaves}
    if len(lengths) > 1:
        raise ValueError(f"All inputs must have the same leading axis size. Received sizes: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _stack(results):
    """Stack a list of same-structure outputs along a new leading axis."""
    leaves_per_step = [pytree.tree_flatten(r) for r in results]
    spec = leaves_per_step[0][1]
    columns = zip(*(leaves for leaves, _ in leaves_per_step))
    return pytree.tree_unflatten([torch.stack([tensor(v) for v in column]) for column in columns], spec)


def map(f, xs):
    """Apply ``f`` to each slice along the leading axis of ``xs`` (a tensor or structure), one
    at a time, and stack the results."""
    leaves, spec = pytree.tree_flatten(xs)
    leaves = [tensor(leaf) for leaf in leaves]
    n = _leading_length(leaves)
    return _stack([f(pytree.tree_unflatten([leaf[i] for leaf in leaves], spec)) for i in range(n)])


def vectorized_map(function, elements):
    """Apply ``function`` to every slice along the leading axis of ``elements`` in parallel.

    Uses ``torch.vmap``; a function ``vmap`` cannot batch (data-dependent Python control flow,
    in-place updates) runs slice by slice instead, with the same result.
    """
    leaves, spec = pytree.tree_flatten(elements)
    elements = pytree.tree_unflatten([tensor(leaf) for leaf in leaves], spec)
    try:
        return torch.vmap(function)(elements)
    except RuntimeError:
        return map(function, elements)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``, stacking the ``y``.

    Args:
        f: Callable ``(carry, x) -> (carry, y)``.
        init: Initial carry (a tensor or structure).
        xs: Values to loop over (a tensor or structure), or ``None`` to loop ``length`` times
            with ``x = None``.
        length: Number of iterations (required when ``xs`` is None).
        reverse: Loop from the last slice to the first (the stacked ``y`` keep ``xs``' order).
        unroll: Accepted for compatibility (a positive int or a bool); eager loops do not unroll.

    Returns:
        ``(final_carry, stacked_ys)``.
    """
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"`unroll` must be an positive integer or boolean. Received: unroll={unroll}")
    if xs is None:
        if length is None:
            raise ValueError("`length` must be given when `xs` is None.")
        leaves, spec, n = [], None, int(length)
    else:
        leaves, spec = pytree.tree_flatten(xs)
        leaves = [tensor(leaf) for leaf in leaves]
        n = _leading_length(leaves)
        if length is not None and length != n:
            raise ValueError(f"`length` ({length}) does not match the leading axis of `xs` ({n}).")
    carry, ys = init, [None] * n
    steps = range(n - 1, -1, -1) if reverse else range(n)
    for i in steps:
        x = None if spec is None else pytree.tree_unflatten([leaf[i] for leaf in leaves], spec)
        carry, ys[i] = f(carry, x)
    if n == 0 or all(y is None for y in ys):
        return carry, None
    return carry, _stack(ys)


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of ``elems`` along ``axis`` with an associative ``f``.

    ``f(a, b)`` combines two blocks of slices of the same shape, so it must work elementwise
    (e.g. ``add``, ``maximum`` or a matrix product over leading batch axes). The work is split
    into ``O(log n)`` rounds of batched calls (odd/even recursion), as JAX's
    ``associative_scan`` does, which also fixes the rounding of floating-point results.

    Args:
        f: Associative binary function on structures like ``elems``.
        elems: A tensor or structure of tensors with the same size along ``axis``.
        reverse: Scan from the end.
        axis: The scanned axis.

    Returns:
        The scanned structure, like ``elems``.
    """
    leaves, spec = pytree.tree_flatten(elems)
    leaves = [tensor(leaf) for leaf in leaves]
    if not leaves:
        return elems
    dim = axis % leaves[0].ndim
    sizes = {int(leaf.shape[dim]) for leaf in leaves}
    if len(sizes) > 1:
        raise ValueError(f"Array inputs to associative_scan must have the same size along `axis`. Received: {sorted(sizes)}")
    if reverse:
        leaves = [leaf.flip(dim) for leaf in leaves]

    def combine(a, b):
        out = f(pytree.tree_unflatten(a, spec), pytree.tree_unflatten(b, spec))
        return [tensor(v) for v in pytree.tree_flatten(out)[0]]

    def part(xs, start, stop=None, step=1):
        return [x[(builtins.slice(None),) * dim + (builtins.slice(start, stop, step),)] for x in xs]

    def scan_(xs):
        n = xs[0].shape[dim]
        if n < 2:
            return xs
        reduced = combine(part(xs, 0, -1, 2), part(xs, 1, None, 2))
        odd = scan_(reduced)
        if n % 2 == 0:
            even = combine(part(odd, 0, -1), part(xs, 2, None, 2))
        else:
            even = combine(odd, part(xs, 2, None, 2))
        even = [torch.cat([x0, e], dim=dim) for x0, e in zip(part(xs, 0, 1), even)]
        return [_interleave(e, o, dim) for e, o in zip(even, odd)]

    out = scan_(leaves)
    if reverse:
        out = [leaf.flip(dim) for leaf in out]
    return pytree.tree_unflatten(out, spec)


def _interleave(even, odd, dim):
    """Merge ``even`` (``ceil(n / 2)`` slices) and ``odd`` (``floor(n / 2)``) as e0 o0 e1 o1 ..."""
    n_odd = odd.shape[dim]
    paired = torch.stack([even.narrow(dim, 0, n_odd), odd], dim=dim + 1)
    merged = paired.flatten(dim, dim + 1)
    if even.shape[dim] > n_odd:
        merged = torch.cat([merged, even.narrow(dim, n_odd, 1)], dim=dim)
    return merged


def custom_gradient(f):
    """Decorate ``f`` so that autograd uses the gradient it defines.

    ``f(*args)`` returns ``(output, grad_fn)``; ``grad_fn(upstream)`` returns the gradient of
    each argument (a tensor, or a tuple with one entry per argument). Keras's spelling
    ``def grad_fn(*args, upstream=None)`` works too: the upstream gradient is passed
    positionally.

    Example:

    >>> @custom_gradient
    ... def log1pexp(x):
    ...     e = torch.exp(x)
    ...     def grad(*args, upstream=None):
    ...         if upstream is None:
    ...             (upstream,) = args
    ...         return upstream * (1.0 - 1.0 / (1 + e))
    ...     return torch.log(1 + e), grad
    """

    def wrapper(*args, **kwargs):
        positions = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]

        class _Function(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *tensors):
                call_args = list(args)
                for i, t in zip(positions, tensors):
                    call_args[i] = t
                output, grad_fn = f(*call_args, **kwargs)
                ctx.grad_fn = grad_fn
                return output

            @staticmethod
            def backward(ctx, *upstream):
                grads = ctx.grad_fn(*upstream)
                if not isinstance(grads, (tuple, list)):
                    grads = (grads,)
                if len(grads) == len(args) and len(args) != len(positions):
                    grads = [grads[i] for i in positions]
                return tuple(grads)

        return _Function.apply(*(args[i] for i in positions))

    return wrapper


__all__ = public_names(globals(), __name__)
