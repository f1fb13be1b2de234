"""``ProgbarLogger``: prints ``Epoch i/n`` and the progress bar during ``fit``/``evaluate``/``predict``."""

from lamina.callbacks.callback import Callback, DeferredLogs
from lamina.saving.object_registration import register_builtin
from lamina.utils import io_utils
from lamina.utils.progbar import Progbar


@register_builtin("keras.callbacks")
class ProgbarLogger(Callback):
    """Prints metrics to stdout: a live bar (``verbose=1``) or one line per epoch (``verbose=2``)."""

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self._bar = None

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _new_bar(self, target):
        self._bar = Progbar(target=target, verbose=self.verbose)

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            io_utils.print_msg(f"Epoch {epoch + 1}/{self.epochs}")
        self._new_bar(self.params.get("steps"))

    def _wants_batch_logs(self):
        # Only a bar redrawn in place shows per-batch values, and only when a redraw is due.
        return self._bar is not None and self._bar.redraw_due()

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(logs, DeferredLogs):
            # No values this batch: count it, and draw after a batch that has them.
            self._bar._seen = batch + 1
            return
        self._bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self._bar._seen, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._new_bar(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._bar.update(batch + 1, logs, finalize=False)

    def on_test_end(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._bar.update(self._bar._seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs=None):
        self._bar.update(self._bar._seen, finalize=True)
