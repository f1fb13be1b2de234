"""``TerminateOnNaN``: stop training as soon as the loss becomes NaN or infinite."""

import math

from lamina.backend.core import convert_to_numpy
from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.callbacks")
class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite.

    The ``loss`` of every training batch is checked (one device-to-host read per batch). By
    default the callback sets ``model.stop_training = True``, so `fit` ends after the current
    batch and every callback's ``on_train_end`` runs; with ``raise_error=True`` it raises a
    `RuntimeError` at once instead, skipping that cleanup (useful to keep a `BackupAndRestore`
    checkpoint).

    Args:
        raise_error: Raise a `RuntimeError` instead of stopping gracefully. Defaults to
            ``False``.

    Example:

    >>> model.fit(x, y, callbacks=[lamina.callbacks.TerminateOnNaN()])
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(convert_to_numpy(loss))
        if math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
