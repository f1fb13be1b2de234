"""``CallbackList``: calls every hook on a list of callbacks, adding ``History`` and
``ProgbarLogger`` when asked."""

from lamina.callbacks.callback import Callback
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.saving.object_registration import register_builtin


def _flatten(callbacks):
    for c in callbacks:
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


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
        self._batch_methods = {}
        self.callbacks = list(_flatten(callbacks or []))
        self._add_default_callbacks(add_history, add_progbar)
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        has_progbar = any(isinstance(c, ProgbarLogger) for c in self.callbacks)
        if add_progbar and not has_progbar:
            self.callbacks.append(ProgbarLogger())

    def append(self, callback):
        self.callbacks.append(callback)
        self._batch_methods.clear()
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


# The Keras 2 aliases a training batch hook also calls by default.
_BATCH_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _implemented(callbacks, name):
    """Bound ``name`` methods of the callbacks that do something in that batch hook.

    Batch hooks run on every step; a callback that leaves a hook (and its alias) as ``Callback``'s
    no-op is skipped.
    """
    names = (name, _BATCH_ALIASES.get(name, name))
    return [
        getattr(c, name)
        for c in callbacks
        if any(
            getattr(type(c), n, None) is not getattr(Callback, n) or n in getattr(c, "__dict__", ())
            for n in names
        )
    ]


def _dispatch(name):
    # Every callback gets a `logs` dict (never None), passed the way Keras passes it, so hooks
    # written as `lambda epoch, logs: ...` or `lambda batch, logs=None: ...` both work.
    if name in ("on_epoch_begin", "on_epoch_end"):

        def hook(self, epoch, logs=None):
            logs = {} if logs is None else logs
            self._batch_methods.clear()
            for c in self.callbacks:
                getattr(c, name)(epoch, logs)

    elif "batch" in name:

        def hook(self, batch, logs=None):
            logs = {} if logs is None else logs
            methods = self._batch_methods.get(name)
            if methods is None:
                methods = self._batch_methods[name] = _implemented(self.callbacks, name)
            for method in methods:
                method(batch, logs=logs)

    else:

        def hook(self, logs=None):
            logs = {} if logs is None else logs
            # Callbacks may change between runs; the batch hooks are looked up again.
            self._batch_methods.clear()
            for c in self.callbacks:
                getattr(c, name)(logs)

    hook.__name__ = name
    hook.__doc__ = f"Call ``{name}`` on every callback."
    return hook


for _name in [n for n in vars(Callback) if n.startswith("on_")]:
    setattr(CallbackList, _name, _dispatch(_name))
