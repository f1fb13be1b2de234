"""Give each layer class a ``forward`` whose signature is its ``call``'s.

torch tools read ``inspect.signature(module.forward)`` to match their arguments with the inputs:
``torch.export.export(model, (x,), dynamic_shapes=({0: batch},))`` pairs each entry of
``dynamic_shapes`` with a parameter of ``forward``. ``Layer.forward`` is ``(*args, **kwargs)``, so
without this torch would see one parameter holding a tuple and ask for ``dynamic_shapes`` nested one
level deeper than for any torch module. A per-class ``forward`` that only carries the signature of
``call`` (``inputs, training=None, mask=None`` ...) lets the usual spelling work.
"""

import inspect


def forward_for(cls, base_forward):
    """A ``forward`` for ``cls`` that calls ``base_forward`` and shows ``cls.call``'s signature.

    Returns ``None`` when ``cls`` should keep what it inherits: it defines its own ``forward``, it
    inherits a ``forward`` written by the user, or ``call``'s signature cannot be read.
    """
    if "forward" in cls.__dict__ or "call" not in cls.__dict__:
        return None
    inherited = cls.forward
    if inherited is not base_forward and not getattr(inherited, "_lamina_forward", False):
        return None
    try:
        signature = inspect.signature(cls.call)
    except (TypeError, ValueError):
        return None

    def forward(self, *args, **kwargs):
        return base_forward(self, *args, **kwargs)

    forward.__signature__ = signature
    forward.__doc__ = base_forward.__doc__
    forward.__qualname__ = f"{cls.__qualname__}.forward"
    forward._lamina_forward = True
    return forward
