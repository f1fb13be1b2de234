"""Helpers of the training loops: the logs, the callbacks, the compiled step, the outputs."""

import functools
import inspect
import warnings

import numpy as np
import torch

from lamina.backend.allocator import keep_freed_memory
from lamina.backend.core import convert_to_numpy
from lamina.callbacks.callback import DeferredLogs
from lamina.callbacks.callback_list import CallbackList
from lamina.utils import tree


class CompiledOrEager:
    """``torch.compile`` of a step function, or the function itself if compiling fails.

    The first call runs eagerly: it builds the model, the losses and the metrics, whose Python
    state would otherwise make the compiled graph recompile once.
    """

    def __init__(self, fn):
        self._eager = fn
        self._compiled = None
        self._failed = False

    def __call__(self, *args):
        if self._failed:
            return self._eager(*args)
        if self._compiled is None:
            self._compiled = torch.compile(self._eager)
            return self._eager(*args)
        try:
            return self._compiled(*args)
        except Exception as e:  # torch.compile raises many types; the eager run re-raises user errors
            self._failed = True
            warnings.warn(
                f"`jit_compile=True`: torch.compile failed ({type(e).__name__}: {e}); running "
                "the train step eagerly instead.",
                stacklevel=3,
            )
            return self._eager(*args)


class StepCache:
    """What the train step would otherwise gather from the model on every batch.

    ``fit`` makes one per epoch, in the epoch's first step: walking the layers for the trainable
    and regularized weights costs more than the whole optimizer step of a small model.
    """

    def __init__(self, model):
        self.layers = model._flatten_layers(include_self=True)
        self.trainable = model.trainable_weights
        self.regularized = [v for v in model.weights if getattr(v, "regularizer", None) is not None]


_TAKES_TRAINING = {}


def takes_training(fn):
    # Asked on every step: inspect each `compute_loss` implementation once.
    if fn not in _TAKES_TRAINING:
        try:
            _TAKES_TRAINING[fn] = "training" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            _TAKES_TRAINING[fn] = False
    return _TAKES_TRAINING[fn]


def batch_size(x):
    """The number of samples in a batch (the first dimension of its first array)."""
    if isinstance(x, torch.Tensor):  # one input, the usual case: no tree walk
        return x.shape[0]
    return next(t for t in tree.flatten(x) if t is not None).shape[0]


def detach(struct):
    """Predictions without their autograd history, for the metrics."""
    if isinstance(struct, torch.Tensor):
        return struct.detach()
    return tree.map_structure(lambda t: t.detach() if isinstance(t, torch.Tensor) else t, struct)


def flatten_logs(logs):
    """Merge nested dicts (e.g. ``{"compile_metrics": {...}}``) into one flat dict."""
    if not isinstance(logs, dict) or isinstance(logs, DeferredLogs):
        return logs
    flat = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            flat.update(flatten_logs(value))
        else:
            flat[key] = value
    return flat


def pythonify_logs(logs):
    """Sorted ``{name: float}`` (values that are not numbers are kept as they are)."""
    out = {}
    for key, value in sorted(flatten_logs(logs or {}).items()):
        try:
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu()
            out[key] = float(value)
        except (TypeError, ValueError, RuntimeError):
            out[key] = value
    return out


def concat_outputs(outputs):
    """Join per-batch outputs (tensors, or lists / dicts of them) into numpy arrays."""
    first = outputs[0]
    flat = [tree.flatten(o) for o in outputs]
    merged = []
    for i in range(len(flat[0])):
        parts = [f[i] for f in flat]
        if isinstance(parts[0], torch.Tensor):
            # convert_to_numpy: numpy has no bfloat16, such outputs come back as float32.
            merged.append(convert_to_numpy(torch.cat([p.detach() for p in parts])))
        else:
            merged.append(np.concatenate([np.asarray(p) for p in parts]))
    if isinstance(first, torch.Tensor):
        return merged[0]
    return _sorted_dicts(tree.pack_sequence_as(first, merged))


def _sorted_dicts(struct):
    # Keras's `predict` returns dicts with sorted keys (its tree utilities sort them).
    if isinstance(struct, dict):
        return {key: _sorted_dicts(struct[key]) for key in sorted(struct)}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_sorted_dicts(s) for s in struct)
    return struct


def should_eval(epoch, validation_freq):
    """Whether epoch ``epoch`` (0-based) runs validation: every ``n``-th epoch, or those listed."""
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple)):
        return epoch + 1 in validation_freq
    raise ValueError(
        "Expected `validation_freq` to be a list or int. Received: "
        f"validation_freq={validation_freq} of the type {type(validation_freq)}."
    )


def resolve_verbose(verbose):
    """``"auto"`` means 1, as in Keras; anything but 0, 1, 2 is refused."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return int(verbose)


def callback_list(callbacks, model, verbose, add_history=False, **params):
    """The user's callbacks plus ``History`` (for ``fit``) and a ``ProgbarLogger`` unless silent."""
    if isinstance(callbacks, CallbackList):
        return callbacks
    verbose = resolve_verbose(verbose)
    return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0, model=model,
                        verbose=verbose, **params)


def compile_config(**config):
    """The arguments of ``compile`` in a JSON-friendly form (objects serialized, Keras-style)."""
    from lamina.saving import serialization_lib
    from lamina.saving.object_registration import get_registered_name

    def serialize(value):
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if inspect.isfunction(value) and value.__name__ != "<lambda>":
            # As Keras writes a function: Keras resolves a bare name among its built-in losses
            # and metrics only, so a custom function's file would not load there.
            return {"module": "builtins", "class_name": "function",
                    "config": get_registered_name(value), "registered_name": "function"}
        if isinstance(value, (list, tuple)):
            return [serialize(v) for v in value]
        if isinstance(value, dict):
            return {k: serialize(v) for k, v in value.items()}
        try:
            return serialization_lib.serialize_keras_object(value)
        except Exception:  # an object Keras could not serialize either (e.g. a lambda)
            return None

    return {key: serialize(value) for key, value in config.items()}


_LOOP_STATE = ("_layer_metric_lists", "_step_cache", "_batch_logs_wanted")
_MISSING = object()


def with_loop_state(method):
    """Run ``method`` with the layers' ``add_metric`` lists gathered once, not on every step.

    The per-loop state (those lists, the epoch's `StepCache`, whether batch logs are wanted) is
    restored afterwards, so a loop started inside another (``evaluate`` from a callback) leaves
    the outer one's state as it was.
    """

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        keep_freed_memory()  # steady step times: see lamina/backend/allocator.py
        state = self.__dict__  # plain reads and writes: Module.__setattr__ is slow
        previous = {key: state.get(key, _MISSING) for key in _LOOP_STATE}
        state["_layer_metric_lists"] = [
            layer._metrics for layer in self._flatten_layers(include_self=True)
        ]
        try:
            return method(self, *args, **kwargs)
        finally:
            for key, value in previous.items():
                if value is _MISSING:
                    state.pop(key, None)
                else:
                    state[key] = value

    return run


def keras2_argument_aliases(stacklevel=2, **aliases):
    """Accept Keras 2's old keyword names (``nb_epoch=`` for ``epochs=``) with a warning, as it did.

    Args:
        stacklevel: Where the warning points: 2 is the caller of the decorated method, one more
            for each wrapper put outside this one.
        **aliases: Old name -> current name.

    Returns:
        A decorator for a loop method: renamed arguments reach it under their current name; an
        argument given under both names raises a ``TypeError``.
    """

    def decorate(method):
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            for old, new in aliases.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"`{method.__name__}` received both `{old}` (its Keras 2 name) and "
                            f"`{new}`; pass only `{new}`."
                        )
                    warnings.warn(
                        f"The `{old}` argument in `{method.__name__}` has been renamed `{new}`.",
                        stacklevel=stacklevel,
                    )
                    kwargs[new] = kwargs.pop(old)
            return method(self, *args, **kwargs)

        return run

    return decorate
