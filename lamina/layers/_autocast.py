"""Variable autocast: while a layer under a mixed dtype policy runs, the variables its ``call`` reads
have its compute dtype, as inside Keras's autocast scope.

Keras casts every read of an ``autocast=True`` float variable while a mixed-policy layer runs, so
all the arithmetic of the call happens in the compute dtype: ``x @ kernel + bias``, an einsum, a
recurrent step or ``alpha * x`` give float16 (bfloat16) outputs. A sublayer called through its
``__call__`` opens its own scope (a float32 sublayer reads float32 weights). ``torch.autocast`` is
not that: it lowers only the ops on its list (matmul, conv, ...), so a following ``+ bias``
promotes back to float32, and it leaks into float32 sublayers.

A lamina variable is the tensor itself (``self.kernel`` is a plain attribute, see
``_parameter_mirror``), so there is no read to hook. Instead, for the duration of the call, the
attributes holding the layer's variables are rebound to differentiable casts (gradients flow back
to the float32 variables), then rebound to the variables. A cast stands in for its variable:
``assign`` and the other variable attributes (``path``, ``trainable``, ...) go to the variable, and
an assignment rebinds the attribute to a cast of the new value. Layers outside any mixed policy
never enter this context, so they pay nothing.

Where Lamina runs a sublayer's ``call`` without its ``__call__`` (an RNN stepping its cell),
``AutocastVariables(sublayer, recursive=True)`` gives the sublayer and its own sublayers their own
scopes; ``dtype=`` forces one scope for a ``call`` Keras runs inside another layer's
(``TimeDistributed``).
"""

import torch

# Set on every cast: the variable it stands for.
_SOURCE = "_lamina_autocast_source"


class AutocastValue(torch.Tensor):
    """A variable's value cast to the compute dtype, standing in for the variable during a call.

    Arithmetic sees a plain tensor (the results are plain tensors); the Keras variable API goes
    to the variable.
    """

    __torch_function__ = torch._C._disabled_torch_function_impl

    @property
    def name(self):
        return getattr(self, _SOURCE).name

    def __getattr__(self, name):
        # Only reached for what a tensor lacks: `path`, `trainable`, `regularizer`, ... Private
        # names stay unanswered (torch asks `_is_param` to tell parameters).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(getattr(self, _SOURCE), name)

    def assign(self, value):
        getattr(self, _SOURCE).assign(value)
        return self._rebind_fresh()

    def assign_add(self, value):
        getattr(self, _SOURCE).assign_add(value)
        return self._rebind_fresh()

    def assign_sub(self, value):
        getattr(self, _SOURCE).assign_sub(value)
        return self._rebind_fresh()

    def _rebind_fresh(self):
        # Later reads in the same call see the new value, as Keras's re-cast on every read does.
        fresh = _cast(getattr(self, _SOURCE), self.dtype)
        slots = self.__dict__.get("_lamina_autocast_slots", ())
        fresh._lamina_autocast_slots = slots
        for attributes, name in slots:
            if attributes.get(name) is self:
                attributes[name] = fresh
        return fresh


def _cast(variable, dtype):
    value = variable.to(dtype)
    if type(value) is torch.Tensor:
        # Fake tensors (shape inference, torch.export) cannot change class; they stay plain.
        value = value.as_subclass(AutocastValue)
    setattr(value, _SOURCE, variable)
    return value


class AutocastVariables:
    """Context manager rebinding ``layer``'s float variables to casts in its compute dtype.

    Args:
        layer: The layer whose call runs.
        dtype: A torch dtype overriding the layer's own scope (a call run inside another scope).
        recursive: Also give every sublayer its own scope (sublayers whose ``call`` runs directly).
    """

    __slots__ = ("_layer", "_dtype", "_recursive", "_undo")

    def __init__(self, layer, dtype=None, recursive=False):
        self._layer = layer
        self._dtype = dtype
        self._recursive = recursive
        self._undo = None

    def __enter__(self):
        undo = []
        if not self._recursive:
            _rebind(self._layer, self._dtype or _scope_dtype(self._layer), undo)
        else:
            stack, seen = [self._layer], set()
            while stack:
                layer = stack.pop()
                if id(layer) in seen:
                    continue
                seen.add(id(layer))
                dtype = self._dtype if layer is self._layer and self._dtype else _scope_dtype(layer)
                _rebind(layer, dtype, undo)
                stack.extend(m for m in layer._modules.values() if "_autocast_context" in m.__dict__)
        self._undo = undo
        return self

    def __exit__(self, *exc):
        for attributes, name, before in reversed(self._undo):
            now = attributes.get(name)
            # A cast (or a re-cast after `assign`) goes; anything else set during the call stays.
            if now is not before and getattr(now, _SOURCE, None) is getattr(before, _SOURCE, before):
                attributes[name] = before
        self._undo = None
        return False


def in_autocast_scope(layer, fn):
    """``fn`` run inside ``layer``'s autocast scope (for shape inference's call on fake tensors)."""

    def run(*args, **kwargs):
        with AutocastVariables(layer):
            return fn(*args, **kwargs)

    return run


def _scope_dtype(layer):
    """The dtype variables are read in inside ``layer``'s call; None: as stored."""
    if not layer.__dict__.get("_autocast_context"):
        return None
    return layer._compute_torch_dtype


def _slots(layer):
    """``(attribute name, variable)`` for the float ``autocast`` variables ``layer`` holds as
    attributes; cached on the layer while its variables and attributes stay the same."""
    attributes = layer.__dict__
    own = attributes.get("_own_variables", ())
    key = (len(layer._parameters), len(own))
    cached = attributes.get("_autocast_slot_cache")
    if cached is not None and cached[0] == key and all(attributes.get(n) is v for n, v in cached[1]):
        return cached[1]
    variables = {}
    # `_own_variables` adds those a layer tracks but torch registers elsewhere (the wrapped
    # kernel of SpectralNormalization). `autocast` is a lamina.Variable flag; a tensor substituted
    # by torch.func.functional_call or torch.export has none and follows the default (cast).
    for value in (*layer._parameters.values(), *own):
        if isinstance(value, torch.Tensor) and value.is_floating_point() and getattr(value, "autocast", True):
            variables[id(value)] = value
    slots = tuple(
        (name, value)
        for name, value in attributes.items()
        if value is not None and variables.get(id(value)) is value
    )
    if {id(v) for _, v in slots} == set(variables):
        # Not while some are bound elsewhere (a cast of an enclosing scope): the list would miss them.
        attributes["_autocast_slot_cache"] = (key, slots)
    return slots


def _rebind(layer, dtype, undo):
    if dtype is None:
        return
    attributes = layer.__dict__
    casts = {}
    for name, variable in _slots(layer):
        if variable.dtype is dtype:
            continue
        cast = casts.get(id(variable))
        if cast is None:
            # One cast per variable, shared by its aliases (`self.w = self.add_weight(...)`).
            cast = casts[id(variable)] = _cast(variable, dtype)
            if type(cast) is AutocastValue:
                cast._lamina_autocast_slots = []
        if type(cast) is AutocastValue:
            cast._lamina_autocast_slots.append((attributes, name))
        attributes[name] = cast
        undo.append((attributes, name, variable))
