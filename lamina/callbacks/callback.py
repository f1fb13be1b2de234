"""``Callback``: hooks called by ``fit`` / ``evaluate`` / ``predict`` (``CallbackList`` is in
``callback_list``)."""

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


class DeferredLogs(dict):
    """The (empty) logs of a training batch whose metric results no callback asked for.

    The metrics were updated; ``fit`` reads their results when the epoch ends.
    """
