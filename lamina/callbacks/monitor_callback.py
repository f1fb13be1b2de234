"""``MonitorCallback``: the shared logic of callbacks that watch one metric for improvement."""

import warnings

import numpy as np

from lamina.callbacks.callback import Callback


def _flat_metrics(metrics):
    """The metrics in ``metrics``, with containers (compiled metrics) opened up."""
    for metric in metrics:
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            yield from _flat_metrics(inner)
        else:
            yield metric


class MonitorCallback(Callback):
    """Base class for callbacks that track whether a monitored quantity improves.

    Used by `EarlyStopping`, `ModelCheckpoint` and `ReduceLROnPlateau`; not meant to be used on
    its own.

    Args:
        monitor: Name of the quantity in the epoch logs (``"val_loss"``, ``"accuracy"``, ...).
        mode: ``"min"``, ``"max"`` or ``"auto"``. ``"auto"`` minimizes ``loss`` / ``val_loss``
            (and other ``*_loss`` values) and, for a compiled metric, follows the direction the
            metric declares (accuracy-like metrics up, error-like metrics down); other names
            holding ``"acc"`` are maximized as Keras 2 did, and any other name raises a
            `ValueError` when the first value is checked. An unknown mode warns and
            falls back to ``"auto"``, as Keras does.
        baseline: Initial "best" value; ``None`` lets the first value seen become the best.
        min_delta: Smallest change that counts as an improvement (its sign is ignored).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        # "min" or "max", resolved on first use: "auto" needs the compiled model's metrics.
        self._direction = None

    def _resolve_direction(self):
        if self.mode != "auto":
            return self.mode
        name = self.monitor[len("val_"):] if self.monitor.startswith("val_") else self.monitor
        direction = "min" if name == "loss" or name.endswith("_loss") else None
        for metric in _flat_metrics(getattr(self.model, "metrics", None) or []):
            goal = getattr(metric, "_direction", None)
            if getattr(metric, "name", None) == name and goal is not None:
                direction = "max" if goal == "up" else "min"
        if direction is None and ("acc" in name or name.startswith("fmeasure")):
            # Keras 2's rule, for names no compiled metric claims: its scripts monitor "val_acc"
            # (the accuracy's Keras 2 log name); Keras 3 refuses them.
            direction = "max"
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but Lamina "
                "isn't able to automatically determine whether that metric should be maximized "
                "or minimized. Pass `mode='max'` in order to monitor based on the highest metric "
                "value, or pass `mode='min'` in order to use the lowest value."
            )
        return direction

    def _set_monitor_op(self):
        self._direction = self._resolve_direction()

    def _is_improvement(self, monitor_value, reference_value):
        """Whether ``monitor_value`` beats ``reference_value`` by more than ``min_delta``."""
        if reference_value is None:
            return True
        if self._direction is None:
            self._set_monitor_op()
        # Keras compares in float32 (its backend's default float), after shifting by min_delta
        # in Python precision; doing the same keeps decisions identical on near-ties.
        if self._direction == "min":
            return bool(np.float32(monitor_value + self.min_delta) < np.float32(reference_value))
        return bool(np.float32(monitor_value - self.min_delta) > np.float32(reference_value))
