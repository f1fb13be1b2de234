"""``BaseLogger`` (Keras 2): epoch averages of the per-batch metrics."""

from lamina.backend.core import convert_to_numpy
from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin

# Keys of Keras 2 batch logs that describe the batch rather than measure it.
_BATCH_KEYS = ("batch", "size", "num_steps")


@register_builtin("keras.callbacks")
class BaseLogger(Callback):
    """Accumulate the epoch averages of metrics from Keras 2 style batch logs.

    Keras 2 training loops reported each batch's own metric values with its ``size`` and added
    this callback to every model, to write sample-weighted epoch means into the epoch logs. It
    does the same here: when the batch logs carry a ``size`` (as Keras 2 loops, and hand-written
    loops imitating them, pass), ``on_epoch_end`` sets each metric in ``logs`` to
    ``sum(value * size) / sum(size)``, except the ``stateful_metrics``, which keep their last
    value. Lamina's ``fit`` (like Keras 3's) passes running epoch means without a ``size`` and
    already puts the epoch means in the epoch logs; the callback then leaves them as they are.

    Args:
        stateful_metrics: Names of metrics not to average: their last batch value is logged.

    Example:

    >>> logger = lamina.callbacks.BaseLogger()
    >>> logger.set_params({"metrics": ["loss"]})
    >>> logger.on_epoch_begin(0)
    >>> logger.on_batch_end(0, {"size": 2, "loss": 1.0})
    >>> logger.on_batch_end(1, {"size": 1, "loss": 4.0})
    >>> logs = {}
    >>> logger.on_epoch_end(0, logs)
    >>> logs
    {'loss': 2.0}
    """

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])
        self.seen = 0
        self.totals = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        if "size" not in logs:
            return
        size = int(logs["size"])
        self.seen += size * int(logs.get("num_steps", 1))
        for key, value in logs.items():
            if key in _BATCH_KEYS:
                continue
            value = float(convert_to_numpy(value))
            if key in self.stateful_metrics:
                self.totals[key] = value
            else:
                self.totals[key] = self.totals.get(key, 0.0) + value * size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.seen:
            return
        names = self.params.get("metrics") or list(self.totals)
        for key in names:
            if key in self.totals:
                logs[key] = self.totals[key] if key in self.stateful_metrics else self.totals[key] / self.seen
