"""Where numpy meets torch tensors the way Keras users write it.

Two gaps between torch and what Keras code expects:

* ``np.asarray(layer(x))``, ``model(x).numpy()``: torch refuses to convert a tensor that carries
  autograd history. Eager outputs of an outermost layer call are given the class ``EagerTensor``
  (the same tensor object, re-labelled in place, so no copy and no autograd change) whose numpy
  conversions detach first. ``loss.backward()`` on them works as on any tensor, and ops on them
  return plain ``torch.Tensor``s.
* ``tensor * np.array(...)``: torch's operators refuse numpy operands, and numpy then converts the
  tensor itself, which fails for tensors with autograd history, fake tensors (symbolic shape
  inference) and accelerator tensors. ``torch.Tensor.__array_ufunc__`` is defined so that numpy
  first tries its own conversion, exactly as before, and only where that fails, or where a
  ``lamina.Variable`` takes part, computes the operator in torch instead. Code that worked before
  gives the same result; code that raised now gets a tensor.
"""

import numpy as np
import torch

from lamina.backend.torch_compat import is_compiling


class EagerTensor(torch.Tensor):
    """A ``torch.Tensor`` whose ``numpy()`` and ``__array__`` detach first, as Keras values do."""

    # Ops on it behave exactly as on torch.Tensor and return plain tensors (no subclass overhead).
    __torch_function__ = torch._C._disabled_torch_function_impl

    def numpy(self, *, force=False):
        return _to_numpy(self)

    def __array__(self, dtype=None, copy=None):
        array = _to_numpy(self)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __repr__(self, *, tensor_contents=None):
        # Printed as the plain tensor it is (`tensor([...], grad_fn=...)`).
        return torch.Tensor.__repr__(self.as_subclass(torch.Tensor), tensor_contents=tensor_contents)

    # Python scalars, without torch's warning about converting a tensor that requires grad.
    def item(self):
        return torch.Tensor.item(self.detach())

    def __float__(self):
        return float(self.detach())

    def __int__(self):
        return int(self.detach())

    def tolist(self):
        return torch.Tensor.tolist(self.detach())


def _to_numpy(tensor):
    tensor = tensor.detach()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        tensor = tensor.float()
    return torch.Tensor.numpy(tensor, force=True)


# Off while fit / evaluate run their own steps: those results never reach the user as values, and
# the relabel (a class change, and the subclass's slower deallocation) would cost every batch.
_RELABEL = [True]


def relabel_results(enabled):
    """Turn the relabelling of eager results on or off; returns the previous setting."""
    previous = _RELABEL[0]
    _RELABEL[0] = enabled
    return previous


def mark_eager_output(x):
    """Re-label a tensor with autograd history as an ``EagerTensor``; return it.

    Only computed results: a leaf (a weight, or the caller's own input passed through) keeps its
    class, so the caller's objects never change type.
    """
    # The flag first: fit's own steps turn relabelling off, and this runs on every one of them.
    if _RELABEL[0] and type(x) is torch.Tensor and x.requires_grad and not x.is_leaf:
        if not is_compiling():  # a traced graph keeps plain tensors
            x.__class__ = EagerTensor
    return x


# numpy ufuncs behind Python's operators, and their torch equivalents.
_OPERATOR_UFUNCS = {
    np.add: torch.add,
    np.subtract: torch.sub,
    np.multiply: torch.mul,
    np.true_divide: torch.true_divide,
    np.floor_divide: torch.floor_divide,
    np.remainder: torch.remainder,
    np.power: torch.pow,
    np.matmul: torch.matmul,
    np.equal: torch.eq,
    np.not_equal: torch.ne,
    np.less: torch.lt,
    np.less_equal: torch.le,
    np.greater: torch.gt,
    np.greater_equal: torch.ge,
    np.bitwise_and: torch.bitwise_and,
    np.bitwise_or: torch.bitwise_or,
    np.bitwise_xor: torch.bitwise_xor,
    np.maximum: torch.maximum,
    np.minimum: torch.minimum,
}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    torch_fn = _OPERATOR_UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
    if torch_fn is not None:
        # An operator on a value that autograd tracks, or on a Keras variable, stays a tensor.
        keep_tensor = any(
            isinstance(x, torch.Tensor) and (x.requires_grad or getattr(x, "_is_lamina_variable", False))
            for x in inputs
        )
        if not keep_tensor:
            try:
                arrays = tuple(np.asarray(x) if isinstance(x, torch.Tensor) else x for x in inputs)
            except (RuntimeError, TypeError):
                keep_tensor = True  # fake, meta or accelerator tensors: numpy cannot hold them
        if keep_tensor:
            return torch_fn(*_tensors_like(inputs))
    else:
        arrays = tuple(np.asarray(x) if isinstance(x, torch.Tensor) else x for x in inputs)
    return getattr(ufunc, method)(*arrays, **kwargs)


def _tensors_like(inputs):
    """numpy operands as tensors on the tensor operand's device, typed as Keras would promote."""
    anchor = next(x for x in inputs if isinstance(x, torch.Tensor))
    out = []
    for x in inputs:
        if isinstance(x, (np.ndarray, np.generic)):
            t = torch.as_tensor(np.asarray(x), device=anchor.device)
            # A numpy constant meeting a float tensor takes its dtype (Keras casts numpy float64
            # to floatx; ints and bools promote to the float type).
            if anchor.is_floating_point() and t.dtype != anchor.dtype and t.dtype != torch.complex128:
                t = t.to(anchor.dtype)
            x = t
        out.append(x)
    return out


def install():
    """Define ``torch.Tensor.__array_ufunc__`` once (torch itself leaves it undefined)."""
    if "__array_ufunc__" not in torch.Tensor.__dict__:
        torch.Tensor.__array_ufunc__ = _array_ufunc
