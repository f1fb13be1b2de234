"""``ReduceLROnPlateau``: lower the learning rate when a metric stops improving."""

import warnings

import numpy as np

from lamina.backend.core import convert_to_numpy
from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.saving.object_registration import register_builtin
from lamina.utils import io_utils


@register_builtin("keras.callbacks")
class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate when a metric has stopped improving.

    After ``patience`` epochs without an improvement larger than ``min_delta``, the optimizer's
    learning rate is multiplied by ``factor`` (never below ``min_lr``), then the callback waits
    ``cooldown`` epochs before counting again. The current rate is added to the epoch logs as
    ``"learning_rate"`` (so it appears in ``history.history``).

    Args:
        monitor: Quantity to watch. Defaults to ``"val_loss"``.
        factor: Factor the learning rate is multiplied by (``new_lr = lr * factor``); must be
            below 1. Defaults to ``0.1``.
        patience: Number of epochs without improvement before the rate is reduced.
            Defaults to ``10``.
        verbose: ``0`` is silent, ``1`` prints a message on each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (direction inferred from the metric name).
        min_delta: Minimum change that counts as an improvement. Defaults to ``1e-4``.
        cooldown: Number of epochs to wait after a reduction before resuming normal operation.
        min_lr: Lower bound on the learning rate. Defaults to ``0``.
        **kwargs: ``epsilon``, the Keras 2 name of ``min_delta``, is accepted (with a
            deprecation warning).

    Example:

    >>> reduce_lr = lamina.callbacks.ReduceLROnPlateau(
    ...     monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    >>> model.fit(x_train, y_train, validation_split=0.2, callbacks=[reduce_lr])
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        if "epsilon" in kwargs:
            warnings.warn(
                "`epsilon` argument is deprecated and will be removed, use `min_delta` instead.",
                stacklevel=2,
            )
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(
                f"ReduceLROnPlateau got unexpected keyword argument(s): {sorted(kwargs)}"
            )
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        """Whether the callback is still waiting out the cooldown after a reduction."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self._direction is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(convert_to_numpy(self.model.optimizer.learning_rate))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_lr(self, epoch):
        optimizer = self.model.optimizer
        old_lr = float(convert_to_numpy(optimizer.learning_rate))
        # The rate lives in float32: compare there, or a rate already at min_lr would be
        # "reduced" again forever.
        if not old_lr > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
