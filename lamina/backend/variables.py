"""``lamina.Variable``: a Keras-style variable that *is* a ``torch.nn.Parameter``.

Subclassing ``Parameter`` keeps variables zero-cost in the forward pass (a layer's ``self.kernel`` is
the tensor itself), and makes ``parameters()``, ``state_dict()``, ``.to(device)``, optimizers,
``torch.compile`` and DDP see them without any bridging. Non-trainable variables are parameters with
``requires_grad=False``.

Deliberate difference from Keras: ``Variable.dtype`` is a ``torch.dtype`` (torch code reads it);
``Variable.dtype_name`` gives the Keras string.
"""

import contextlib
import copy
import math
import threading

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.core import convert_to_numpy, standardize_shape
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.torch_compat import unset_fake_temporarily
from lamina.backend.name_scoping import current_path


class _Scope(threading.local):
    def __init__(self):
        self.symbolic = False
        # The innermost open `StatelessScope`: assignments are collected there, not applied.
        self.stateless = None
        # Bytes new variables may still take (`allocation_budget`), or None for no limit.
        self.allocation_budget = None


# While layers run on meta tensors to infer shapes, variable updates must be skipped.
SCOPE = _Scope()


def whole_shape(weight):
    """``weight``'s whole shape: a variable held as its shard (ModelParallel / FullySharded)
    counts whole, as Keras reports it; any other tensor its own shape."""
    return getattr(weight, "global_shape", None) or weight.shape


def count_scalars(weights):
    """The number of scalars in ``weights``, by their whole shapes (an unknown size counts 0)."""
    return int(sum(math.prod(0 if d is None else int(d) for d in whole_shape(w)) for w in weights))


class Variable(torch.nn.Parameter):
    """A weight: a tensor with a name, a path, a trainable flag and the Keras assignment API.

    Args:
        initializer: Initial value (array-like or tensor), or an initializer (callable or string
            name) called with ``shape`` and ``dtype``.
        shape: Shape, required when ``initializer`` is a callable.
        dtype: Variable dtype; defaults to ``floatx()``.
        trainable: Whether gradients should update the variable.
        name: Variable name (e.g. ``"kernel"``).

    Example:

    >>> v = lamina.Variable(initializer=np.ones((2, 2)), name="w")
    >>> v.assign_add(np.ones((2, 2)))
    >>> v.numpy()
    array([[2., 2.], [2., 2.]], dtype=float32)
    """

    _is_lamina_variable = True
    # Set when a layer freezes a variable it created trainable (a LoRA-enabled kernel): Keras still
    # lists it among the trainable ones in `layer.weights` order.
    _tracked_trainable = None
    # The whole shape of a variable held as its shard (set by the distribution's sharding record).
    _global_shape = None

    def __new__(
        cls,
        initializer=None,
        shape=None,
        dtype=None,
        trainable=True,
        autocast=True,
        aggregation="none",
        synchronization="auto",
        name=None,
        **kwargs,
    ):
        # Weights made while symbolic shape inference runs (a sublayer built inside `call`) must be
        # real, initialized tensors, not fake ones.
        with unset_fake_temporarily():
            _charge_budget(initializer, shape, dtype)
            value = _initial_value(initializer, shape, dtype)
            self = torch.Tensor._make_subclass(cls, value, bool(trainable) and value.is_floating_point())
        self._trainable = bool(trainable)
        self._name = name or "variable"
        prefix = current_path()
        self.path = f"{prefix}/{self._name}" if prefix else self._name
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self._overwrite_with_gradient = False
        return self

    def __init__(self, *args, **kwargs):
        # Everything happens in __new__; Parameter has no __init__ work to redo.
        pass

    # --- Keras variable API ---------------------------------------------------------------------
    @property
    def value(self):
        """The variable's tensor: the variable itself, so ``v.value.grad`` is the gradient that
        ``loss.backward()`` fills (a torch custom training loop reads it there)."""
        return self

    @property
    def global_shape(self):
        """The variable's whole shape, as Keras reports it.

        Under ``ModelParallel`` / ``FullySharded`` a sharded variable holds only this process's
        shard between steps, so ``shape`` (a torch tensor's own) is the shard's shape;
        ``global_shape`` is the whole one on every process (equal to ``shape`` otherwise).
        ``count_params()`` and ``summary()`` count with it.
        """
        if self._global_shape is not None:
            return self._global_shape
        return tuple(self.shape)

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad_(self._trainable and self.is_floating_point())

    @property
    def overwrite_with_gradient(self):
        """Whether optimizers replace this variable's value by its gradient instead of applying
        an update rule (for values computed in the backward pass, e.g. float8 scaling history)."""
        return self._overwrite_with_gradient

    @overwrite_with_gradient.setter
    def overwrite_with_gradient(self, value):
        if not isinstance(value, bool):
            raise TypeError(
                f"`overwrite_with_gradient` must be a boolean. Received: {value!r} "
                f"(of type {type(value).__name__})"
            )
        self._overwrite_with_gradient = value

    @property
    def dtype_name(self):
        return standardize_dtype(self.dtype)

    def numpy(self, *, force=False):
        # `force` as torch.Tensor.numpy takes it (torch.onnx reads weights that way); a variable
        # always converts through a detached CPU copy, so it changes nothing here.
        return convert_to_numpy(self)

    def assign(self, value):
        """Replace the value in place; the shape must match."""
        if SCOPE.symbolic:
            return self
        value = torch.as_tensor(convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value)
        if tuple(value.shape) != tuple(self.shape):
            raise ValueError(
                f"Cannot assign a value of shape {tuple(value.shape)} to variable '{self.path}' of "
                f"shape {tuple(self.shape)}."
            )
        if SCOPE.stateless is not None:
            SCOPE.stateless.add_update((self, value))
            return self
        with torch.no_grad():
            self.data.copy_(value)
        return self

    def assign_add(self, value):
        if SCOPE.symbolic:
            return self
        if SCOPE.stateless is not None:
            return self.assign(self.data + torch.as_tensor(value, device=self.device, dtype=self.dtype))
        with torch.no_grad():
            self.data.add_(torch.as_tensor(value, device=self.device, dtype=self.dtype))
        return self

    def assign_sub(self, value):
        if SCOPE.symbolic:
            return self
        if SCOPE.stateless is not None:
            return self.assign(self.data - torch.as_tensor(value, device=self.device, dtype=self.dtype))
        with torch.no_grad():
            self.data.sub_(torch.as_tensor(value, device=self.device, dtype=self.dtype))
        return self

    # --- copying: Parameter's own versions would rebuild a plain Parameter ------------------------
    # Copies keep everything set on the variable (`__dict__`): its name and path, and what layers
    # attach (the constraint and regularizer a copied model must keep applying).
    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Variable(self.data.clone(memory_format=torch.preserve_format), trainable=self._trainable)
        memo[id(self)] = result  # before the attributes: one may lead back to this variable
        for key, val in self.__dict__.items():
            setattr(result, key, copy.deepcopy(val, memo))
        result.requires_grad_(self.requires_grad)
        return result

    def __reduce_ex__(self, protocol):
        return (
            _rebuild_variable,
            (self.data.detach().cpu(), self._trainable, self.requires_grad, dict(self.__dict__)),
        )

    def __repr__(self):
        return (
            f"<Variable path={self.path}, shape={tuple(self.shape)}, dtype={self.dtype_name}, "
            f"trainable={self._trainable}, value={convert_to_numpy(self)!r}>"
        )

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr


def _rebuild_variable(data, trainable, requires_grad, attributes):
    var = Variable(data, trainable=trainable)
    var.requires_grad_(requires_grad)
    for key, val in attributes.items():
        setattr(var, key, val)
    return var


@contextlib.contextmanager
def allocation_budget(nbytes, what):
    """Refuse, with a ``ValueError`` naming ``what``, any variable that would take the bytes made
    since the scope opened past ``nbytes``: checked from shape and dtype before allocating."""
    previous = SCOPE.allocation_budget
    SCOPE.allocation_budget = [int(nbytes), what]
    try:
        yield
    finally:
        SCOPE.allocation_budget = previous


def _charge_budget(initializer, shape, dtype):
    budget = SCOPE.allocation_budget
    if budget is None:
        return
    if shape is not None:
        count = math.prod(d or 0 for d in standardize_shape(shape))
        itemsize = torch.empty((), dtype=to_torch_dtype(dtype or config.floatx())).element_size()
        nbytes = count * itemsize
    else:
        nbytes = getattr(initializer, "nbytes", 0)
    if nbytes > budget[0]:
        raise ValueError(
            f"Refusing to create a variable of shape {shape} ({nbytes} bytes): {budget[1]} can "
            f"hold at most {budget[0]} more bytes of weights."
        )
    budget[0] -= nbytes


# A string initializer ("zeros") names an object of ``lamina.initializers``, a floor above the
# backend (DESIGN.md): that package installs its lookup here when it loads.
_INITIALIZER_LOOKUP = []


def set_initializer_lookup(get):
    """Install ``get(name)``, which turns an initializer name into an initializer."""
    _INITIALIZER_LOOKUP[:] = [get]


def _initial_value(initializer, shape, dtype):
    torch_dtype = to_torch_dtype(dtype) if dtype is not None else None
    if initializer is None:
        raise ValueError("A Variable needs an `initializer` (a value or an initializer callable).")
    if isinstance(initializer, str):
        if not _INITIALIZER_LOOKUP:
            raise ValueError(
                f"Cannot resolve the initializer {initializer!r}: `lamina.initializers` is not "
                "loaded; `import lamina` first or pass an initializer object."
            )
        initializer = _INITIALIZER_LOOKUP[0](initializer)
    if callable(initializer) and not isinstance(initializer, (torch.Tensor, np.ndarray)):
        if shape is None:
            raise ValueError("A Variable built from an initializer callable needs a `shape`.")
        value = initializer(standardize_shape(shape), dtype=standardize_dtype(dtype))
        value = torch.as_tensor(value)
    else:
        if isinstance(initializer, torch.Tensor):
            value = initializer.detach()
        else:
            arr = np.asarray(initializer)
            if arr.dtype == np.float64 and torch_dtype is None:
                torch_dtype = to_torch_dtype(config.floatx())
            value = torch.from_numpy(np.array(arr))
        if shape is not None and tuple(value.shape) != standardize_shape(shape):
            raise ValueError(
                f"Initial value shape {tuple(value.shape)} does not match `shape` {tuple(shape)}."
            )
    if torch_dtype is not None and value.dtype != torch_dtype:
        value = value.to(torch_dtype)
    device = config.get_device()
    if value.device != device:
        value = value.to(device)
    return value.clone() if value.data_ptr() and not value.is_contiguous() else value
