"""``ModelCheckpoint``: save the model or its weights during training."""

import os
import warnings

import numpy as np
import torch

from lamina.callbacks.callback import pythonify_logs
from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.saving.object_registration import register_builtin
from lamina.utils import io_utils


@register_builtin("keras.callbacks")
class ModelCheckpoint(MonitorCallback):
    """Save the model (``.keras`` or legacy ``.h5``) or its weights (``.weights.h5``) at some
    frequency.

    Every file is written atomically (to a temporary file renamed into place), so an interrupted
    save never leaves a truncated checkpoint behind.

    Args:
        filepath: Path of the file to write (str or `os.PathLike`). It may hold named format
            fields filled from ``epoch`` (1-based), ``batch`` (1-based, when saving every
            ``save_freq`` batches) and the keys of the logs, e.g.
            ``"weights.{epoch:02d}-{val_loss:.2f}.keras"``. It must end in ``.weights.h5`` (or
            ``.weights.dcp``, a sharded checkpoint folder of a ``ModelParallel`` model) when
            ``save_weights_only=True`` and in ``.keras`` otherwise; a plain ``.h5`` / ``.hdf5``
            name writes Keras 2's legacy HDF5 file (weights, or the whole model) in either case,
            as Keras 2 did. Missing folders are created.
        monitor: Quantity compared when ``save_best_only=True``. Defaults to ``"val_loss"``.
        verbose: ``0`` is silent, ``1`` prints a message when the callback saves or skips.
        save_best_only: Save only when the monitored quantity improves on the best seen. With a
            fixed ``filepath`` this keeps overwriting one file with the latest best model.
        save_weights_only: Save with `model.save_weights` instead of `model.save`.
        mode: ``"min"``, ``"max"`` or ``"auto"``; the direction of improvement for
            ``save_best_only``.
        save_freq: ``"epoch"`` saves after every epoch; an integer ``N`` saves every ``N``
            training batches (the monitored value is then the running value within the epoch).
        initial_value_threshold: Initial "best" value for ``save_best_only``: nothing is saved
            until the monitored quantity beats it.

    Example:

    >>> checkpoint = lamina.callbacks.ModelCheckpoint(
    ...     "/tmp/ckpt/best.keras", monitor="val_accuracy", mode="max", save_best_only=True)
    >>> model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    >>> best = lamina.models.load_model("/tmp/ckpt/best.keras")
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or "
                "integer values"
            )
        if save_weights_only:
            # `.weights.dcp`: a sharded checkpoint folder of a ModelParallel model.
            # A plain `.h5` / `.hdf5` name writes the legacy (Keras 2) weights layout, as Keras 2
            # scripts expect; `save_weights` picks the layout from the name.
            if not self.filepath.endswith((".weights.h5", ".weights.dcp", ".h5", ".hdf5")):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format), or in "
                    "`.weights.dcp` (a sharded checkpoint folder). Received: "
                    f"filepath={self.filepath}"
                )
        elif not self.filepath.endswith((".keras", ".h5", ".hdf5")):
            # `.h5` / `.hdf5`: the legacy whole-model HDF5 file `model.save` writes (Keras 2
            # programs). Keras's message otherwise.
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). Received: "
                f"filepath={self.filepath}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, pythonify_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self._direction is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            # A batch index that did not grow means a new epoch started: count from zero.
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                io_utils.print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if isinstance(current, (np.ndarray, torch.Tensor)) and len(current.shape) > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                "Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                io_utils.print_msg(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath) and not filepath.endswith(".weights.dcp"):
            raise IOError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                f"existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs):
        """``filepath`` with ``epoch``, ``batch`` and the logs filled in."""
        logs = logs or {}
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}'
            ) from None
