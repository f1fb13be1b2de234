"""``History``: the per-epoch logs returned by ``fit``."""

from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.callbacks")
class History(Callback):
    """Records epoch-level logs in ``history.history`` (a dict of lists) and ``history.epoch``."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self
