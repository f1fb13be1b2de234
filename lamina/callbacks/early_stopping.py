"""``EarlyStopping``: stop `fit` when a monitored metric stops improving."""

import warnings

import numpy as np

from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.saving.object_registration import register_builtin
from lamina.utils import io_utils


@register_builtin("keras.callbacks")
class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    At the end of every epoch the monitored value is compared with the best one so far. After
    ``patience`` epochs in a row without an improvement larger than ``min_delta``, the callback
    sets ``model.stop_training = True`` and `fit` returns after that epoch.

    Args:
        monitor: Quantity to watch, a key of the epoch logs. Defaults to ``"val_loss"``.
        min_delta: Minimum change that counts as an improvement. Defaults to ``0``.
        patience: Number of epochs without improvement after which training stops.
            Defaults to ``0``.
        verbose: ``0`` is silent, ``1`` prints a message when the callback acts.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (direction inferred from the metric name).
        baseline: If not ``None``, training stops unless the metric improves on this value
            within ``patience`` epochs.
        restore_best_weights: If ``True``, put back the weights of the best epoch when training
            ends (even when no epoch beat ``baseline``: the best of the ones seen is used).
        start_from_epoch: Number of warm-up epochs during which the metric is not watched.

    Example:

    >>> callback = lamina.callbacks.EarlyStopping(monitor="loss", patience=3)
    >>> model = lamina.Sequential([lamina.layers.Dense(10)])
    >>> model.compile(lamina.optimizers.SGD(), loss="mse")
    >>> history = model.fit(np.arange(100).reshape(5, 20), np.zeros(5), epochs=10,
    ...                     batch_size=1, callbacks=[callback], verbose=0)
    >>> len(history.history["loss"])  # only 4 epochs ran
    4
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self._direction is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # The first watched epoch is the fallback when nothing ever counts as better.
            self.best_weights = self._snapshot_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot_weights()
            # Beating the best so far resets patience only if it also beats the baseline.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _snapshot_weights(self):
        # Copies: on the CPU the arrays from `get_weights()` can share memory with the live
        # parameters, and would follow them as training goes on.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            io_utils.print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                io_utils.print_msg(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """The monitored value from ``logs``, or ``None`` (with a warning) when it is missing."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
        return value
