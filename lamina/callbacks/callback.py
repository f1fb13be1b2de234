"""``Callback`` and ``CallbackList``: hooks called by ``fit`` / ``evaluate`` / ``predict``."""

import numpy as np
import torch

from lamina.saving.object_registration import register_builtin


def pythonify_logs(logs):
    """A copy of ``logs`` with scalar tensors and arrays turned into Python floats.

    Batch-level logs hold device tensors (reading them forces a host-device sync), so callbacks
    that need the numbers call this only when they act on them.
    """
    result = {}
    for key, value in (logs or {}).items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, (np.ndarray, np.generic)) and value.size == 1:
            value = value.item()
        result[key] = value
    return result


@register_builtin("keras.callbacks")
class Callback:
    """Base class for callbacks: subclass it and override the ``on_*`` hooks you need.

    The training loop calls `set_model` and `set_params` before the first hook, so inside a hook
    ``self.model`` is the model being trained and ``self.params`` holds ``epochs``, ``steps`` and
    ``verbose``. Epoch-level ``logs`` hold Python floats; batch-level ``logs`` may hold device
    tensors, read them only when needed (each read waits for the device).

    ``on_train_batch_begin`` / ``on_train_batch_end`` call ``on_batch_begin`` / ``on_batch_end``
    by default, so overriding the short names works as in Keras 2.

    Example:

    >>> class PrintEpoch(lamina.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, logs["loss"])
    """

    def __init__(self):
        self._model = None
        self.params = {}

    @property
    def model(self):
        model = self._model
        # Hooks use the Keras model API, which a DistributedDataParallel wrapper does not forward.
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            return model.module
        return model

    @model.setter
    def model(self, model):
        self._model = model

    def set_model(self, model):
        self._model = model

    def set_params(self, params):
        self.params = params

    def _wants_batch_logs(self):
        # Whether the next `on_train_batch_end` may read its logs; when no callback does, `fit`
        # updates the metrics without computing their results for every batch.
        cls, own = type(self), self.__dict__
        return (
            cls.on_train_batch_end is not Callback.on_train_batch_end
            or cls.on_batch_end is not Callback.on_batch_end
            or "on_train_batch_end" in own
            or "on_batch_end" in own
        )

    def on_batch_begin(self, batch, logs=None):
        """Called at the start of a training batch (alias kept for Keras 2 code)."""

    def on_batch_end(self, batch, logs=None):
        """Called at the end of a training batch (alias kept for Keras 2 code)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (0-based) of ``fit``."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; ``logs`` has the epoch's metrics (``val_*`` included)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before training batch ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after training batch ``batch``; ``logs`` has the running metric values."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before an `evaluate` (or validation) batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after an `evaluate` (or validation) batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a `predict` batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a `predict` batch."""

    def on_train_begin(self, logs=None):
        """Called once when `fit` starts."""

    def on_train_end(self, logs=None):
        """Called once when `fit` ends normally; ``logs`` are the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called when `evaluate` (or a validation pass) starts."""

    def on_test_end(self, logs=None):
        """Called when `evaluate` (or a validation pass) ends."""

    def on_predict_begin(self, logs=None):
        """Called when `predict` starts."""

    def on_predict_end(self, logs=None):
        """Called when `predict` ends."""


def _flatten(callbacks):
    for c in callbacks:
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


class DeferredLogs(dict):
    """The (empty) logs of a training batch whose metric results no callback asked for.

    The metrics were updated; ``fit`` reads their results when the epoch ends.
    """


@register_builtin("keras.callbacks")
class CallbackList(Callback):
    """Calls every hook on a list of callbacks, in order.

    Args:
        callbacks: Callbacks (nested lists are flattened).
        add_history: Append a `History` callback if the list has none.
        add_progbar: Append a `ProgbarLogger` callback if the list has none.
        model: The model the callbacks act on.
        **params: The parameters passed to every callback's `set_params`
            (``epochs``, ``steps``, ``verbose``).
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(_flatten(callbacks or []))
        self._add_default_callbacks(add_history, add_progbar)
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        # Imported here: both modules subclass `Callback` from this one.
        from lamina.callbacks.history import History
        from lamina.callbacks.progbar_logger import ProgbarLogger

        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        has_progbar = any(isinstance(c, ProgbarLogger) for c in self.callbacks)
        if add_progbar and not has_progbar:
            self.callbacks.append(ProgbarLogger())

    def append(self, callback):
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)

    def set_model(self, model):
        super().set_model(model)
        if self._history is not None and model is not None:
            model.history = self._history
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params):
        self.params = params
        for c in self.callbacks:
            c.set_params(params)

    def wants_batch_logs(self):
        """Whether any callback may read the logs of the next training batch."""
        for c in self.callbacks:
            if c._wants_batch_logs():
                return True
        return False


def _dispatch(name):
    # Every callback gets a `logs` dict (never None), passed the way Keras passes it, so hooks
    # written as `lambda epoch, logs: ...` or `lambda batch, logs=None: ...` both work.
    if name in ("on_epoch_begin", "on_epoch_end"):

        def hook(self, epoch, logs=None):
            logs = {} if logs is None else logs
            for c in self.callbacks:
                getattr(c, name)(epoch, logs)

    elif "batch" in name:

        def hook(self, batch, logs=None):
            logs = {} if logs is None else logs
            for c in self.callbacks:
                getattr(c, name)(batch, logs=logs)

    else:

        def hook(self, logs=None):
            logs = {} if logs is None else logs
            for c in self.callbacks:
                getattr(c, name)(logs)

    hook.__name__ = name
    hook.__doc__ = f"Call ``{name}`` on every callback."
    return hook


for _name in [n for n in vars(Callback) if n.startswith("on_")]:
    setattr(CallbackList, _name, _dispatch(_name))
