"""Variable autocast: while a layer under a mixed dtype policy runs, variables read in its ``call``
have its compute dtype, as inside Keras's autocast scope.

Keras casts every read of an ``autocast=True`` float variable while a mixed-policy layer runs, so
all the arithmetic of the call happens in the compute dtype: ``x @ kernel + bias``, an einsum, a
recurrent step or ``alpha * x`` give float16 (bfloat16) outputs. A sublayer called through its own
``__call__`` opens its own scope (a float32 sublayer reads float32 weights again); a sublayer whose
``call`` is run directly (``TimeDistributed``, an RNN's cell loop) reads them in the enclosing
scope. ``torch.autocast`` is not that: it lowers only the ops on its list (matmul, conv, ...), so a
following ``+ bias`` promotes back to float32, and it leaks into float32 sublayers.

A lamina variable is the tensor itself (``self.kernel`` is a plain attribute, see
``_parameter_mirror``), so there is no read to hook. Instead, for the duration of the call, the
attributes holding the variables of the layer and of its sublayers are rebound to differentiable
casts (gradients flow back to the float32 variables), then rebound to what they held before.
Sublayers whose own call would open a different scope are flagged so that their ``__call__``
enters this context too and rebinds their weights for themselves; layers outside any mixed policy
never enter it, so they pay nothing.
"""

import torch

# Set on a cast: the variable it stands for, so a nested scope can rebind the attribute.
_SOURCE = "_lamina_autocast_source"


class AutocastVariables:
    """Context manager giving ``layer`` (and its sublayers) the variables of its autocast scope."""

    __slots__ = ("_layer", "_undo")

    def __init__(self, layer):
        self._layer = layer
        self._undo = None

    def __enter__(self):
        root = self._layer
        target = root._compute_torch_dtype
        if not (root._autocast and target.is_floating_point):
            target = None  # Keras's `AutocastScope(None)`: variables read as they are stored.
        undo = []
        casts = {}
        stack, seen = [root], set()
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            attributes = layer.__dict__
            if layer is not root and not attributes.get("_autocast_context", True):
                # Its `__call__` must open its own scope (see the module docstring).
                attributes["_autocast_context"] = True
                undo.append((attributes, "_autocast_context", False, True))
            _rebind(layer, target, casts, undo)
            for module in layer._modules.values():
                if "_autocast_context" in module.__dict__:
                    stack.append(module)
        self._undo = undo
        return self

    def __exit__(self, *exc):
        for attributes, name, before, now in reversed(self._undo):
            # Something set during the call (a lazily built weight, a user assignment) wins.
            if attributes.get(name) is now:
                attributes[name] = before
        self._undo = None
        return False


def _rebind(layer, target, casts, undo):
    variables = {}
    for value in layer._parameters.values():
        # `autocast` is a lamina.Variable flag; a tensor substituted by torch.func.functional_call
        # or torch.export has none and follows the default (cast).
        if isinstance(value, torch.Tensor) and value.is_floating_point() and getattr(value, "autocast", True):
            variables[id(value)] = value
    if not variables:
        return
    attributes = layer.__dict__
    for name, value in list(attributes.items()):
        if not isinstance(value, torch.Tensor):
            continue
        source = variables.get(id(value))
        if source is None:
            source = getattr(value, _SOURCE, None)
            if source is None or variables.get(id(source)) is not source:
                continue
        want = target or source.dtype
        if value.dtype is want:
            continue
        if source.dtype is want:
            new = source
        else:
            # One cast per variable and scope, shared by aliases (`self.w = self.add_weight(...)`).
            new = casts.get(id(source))
            if new is None:
                new = source.to(want)
                setattr(new, _SOURCE, source)
                casts[id(source)] = new
        attributes[name] = new
        undo.append((attributes, name, value, new))
