"""Rematerialization (gradient checkpointing): recompute activations in the backward pass instead
of keeping them, trading compute for memory. On torch this is ``torch.utils.checkpoint``."""

import collections
import functools
import threading

import torch
import torch.utils.checkpoint

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)

RematMode = collections.namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names"])


class _Stack(threading.local):
    def __init__(self):
        self.scopes = []


_STACK = _Stack()


def remat(f):
    """Wrap ``f`` so its intermediate results are recomputed during backpropagation.

    Outside autograd (inference, ``torch.no_grad()``) the wrapped function simply runs ``f``.

    Args:
        f: A callable on tensors.

    Returns:
        A callable with the same signature and results as ``f``.

    Example:

    >>> heavy = lamina.remat(lambda x: lamina.ops.exp(lamina.ops.sin(x)))
    >>> y = heavy(x)  # sin(x) is recomputed in the backward pass, not stored
    """
    if not callable(f):
        raise TypeError(f"`remat` expects a callable. Received: {f!r}")

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        if not torch.is_grad_enabled():
            return f(*args, **kwargs)
        return torch.utils.checkpoint.checkpoint(f, *args, use_reentrant=False, **kwargs)

    return wrapped


class RematScope:
    """Rematerialize the layers created inside the scope.

    Args:
        mode: ``"full"`` (every layer), ``"activations"`` (the activation function of layers that
            have one), ``"larger_than"`` (layers whose output has more than
            ``output_size_threshold`` elements per sample batch), ``"list_of_layers"`` (the layers
            named in ``layer_names``) or ``None`` (none).
        output_size_threshold: Threshold of the ``"larger_than"`` mode.
        layer_names: Layer names of the ``"list_of_layers"`` mode.

    Example:

    >>> with lamina.RematScope(mode="full"):
    ...     layer = lamina.layers.Dense(128, activation="relu")
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(
                f"Invalid mode '{mode}'. Supported modes are: 'full', 'activations', "
                "'larger_than', 'list_of_layers', or None."
            )
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])
        self._pushed = False

    def __enter__(self):
        _STACK.scopes.append(self)
        self._pushed = True
        return self

    def __exit__(self, *exc):
        if self._pushed:
            _STACK.scopes.pop()
            self._pushed = False


def get_current_remat_mode():
    """The innermost open ``RematScope`` as a ``RematMode``, or ``None``."""
    if not _STACK.scopes:
        return None
    scope = _STACK.scopes[-1]
    return RematMode(scope.mode, scope.output_size_threshold, scope.layer_names)
