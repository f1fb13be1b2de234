"""Keep a layer's plain-attribute weight references in step with its ``_parameters``.

A layer keeps each of its variables twice: in ``_parameters`` (where torch looks for them) and as
a plain instance attribute, so that ``self.kernel`` in ``call`` is an ordinary attribute read rather
than a trip through ``Module.__getattr__`` on every call. torch's functional tools write
``module._parameters[name]`` directly to substitute other tensors for the weights while a module
runs: ``torch.func.functional_call``, ``torch.export.export`` in its default non-strict mode (fake
tensors stand in for the weights), ``torch.nn.utils.stateless``. Those writes would leave the plain
attribute pointing at the old variable, so ``call`` would mix the real weights with the substitutes
("Unable to cast NotImplemented to Tensor" under ``torch.export``) or silently ignore the
substitution (``functional_call``).

``ParameterMirror`` is the ``_parameters`` dict of a layer: reads are plain ``dict`` reads (no cost
on the call path); a write or delete of an entry also rewrites every instance attribute that held
the replaced object, so the attribute copies always name what ``_parameters`` holds.
"""

import weakref


class ParameterMirror(dict):
    """A layer's ``_parameters``: a ``dict`` whose writes also update the owner's attributes."""

    __slots__ = ("_owner",)

    def __init__(self, owner, items=()):
        super().__init__(items)
        self._owner = weakref.ref(owner) if owner is not None else None

    def _replace_in_owner(self, key, new):
        owner = self._owner() if self._owner is not None else None
        if owner is None or not dict.__contains__(self, key):
            return
        old = dict.__getitem__(self, key)
        if old is None or old is new:
            return
        attributes = owner.__dict__
        # Every alias: `self.w = self.add_weight(name="kernel")` keeps the variable under two names.
        for name in [name for name, value in attributes.items() if value is old]:
            if new is None:
                del attributes[name]
            else:
                attributes[name] = new

    def __setitem__(self, key, value):
        self._replace_in_owner(key, value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self._replace_in_owner(key, None)
        dict.__delitem__(self, key)

    def pop(self, key, *default):
        self._replace_in_owner(key, None)
        return dict.pop(self, key, *default)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __reduce_ex__(self, protocol):
        # The owner travels as an argument: pickle and deepcopy have already created the new
        # module when they reach its `_parameters`, so the copy mirrors into the copy.
        owner = self._owner() if self._owner is not None else None
        return (_rebuild, (owner, dict(self)))


def _rebuild(owner, items):
    return ParameterMirror(owner, items)


def install(layer):
    """Make ``layer._parameters`` a ``ParameterMirror`` (once)."""
    params = layer.__dict__["_parameters"]
    if type(params) is not ParameterMirror:
        layer.__dict__["_parameters"] = ParameterMirror(layer, params)
