"""``BackupAndRestore``: resume an interrupted `fit` from its last backup."""

import json
import os
import shutil

import torch.distributed

from lamina.callbacks.callback import Callback
from lamina.distribution import devices, distribution_lib
from lamina.saving.object_registration import register_builtin
from lamina.utils import atomic_files


_PENDING_PREFIX = ".lamina-pending-"


def _copy_atomically(source, destination):
    atomic_files.atomic_write(destination, lambda tmp: shutil.copyfile(source, tmp))


def _write_text_atomically(destination, text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    atomic_files.atomic_write(destination, write)


def _keep_aside(source, destination):
    """``destination`` becomes a second name of ``source``'s content (a hard link when possible)."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


@register_builtin("keras.callbacks")
class BackupAndRestore(Callback):
    """Back up the training state so an interrupted `fit` can resume where it stopped.

    At the end of every epoch (or every ``save_freq`` batches) the model's weights, the
    optimizer state (slots, iteration count, learning rate) and the number of finished epochs
    are written to ``backup_dir``. When `fit` starts with a backup present, they are loaded and
    training continues from the first unfinished epoch, so with the same data order
    (``shuffle=False`` or a seeded shuffle) the run ends with the same weights as one that was
    never interrupted. When `fit` completes, the backup is deleted (``delete_checkpoint=True``).

    Under ``ModelParallel`` / ``FullySharded`` on several processes (the distribution set when
    the callback is made), the weights are a sharded ``latest.weights.dcp`` folder each process
    writes its shards into (``backup_dir`` must be shared by the processes), and the backup
    resumes onto any number of processes.

    Files in ``backup_dir`` (the Keras layout): ``latest.weights.h5`` and
    ``training_metadata.json`` (``{"epoch": finished_epochs, "batch": last_batch}``), plus
    ``*.bkp`` copies of the previous backup with ``double_checkpoint=True``. A backup is one
    atomic commit: a process killed at any point of a save resumes from the previous backup or
    from the new one, never from the weights of one and the epoch of the other.

    The model must be built before `fit` is called (e.g. made with an `Input`), so there are
    variables to restore into.

    Args:
        backup_dir: Folder where the backup is kept (str or `os.PathLike`). Use a different
            folder for each training run.
        save_freq: ``"epoch"`` backs up after every epoch; an integer ``N`` backs up every ``N``
            training batches. A mid-epoch backup holds mid-epoch weights but resumes at the
            start of that epoch.
        double_checkpoint: Keep the previous backup as well, and fall back to it when the latest
            one cannot be read.
        delete_checkpoint: Delete ``backup_dir`` when training finishes. Defaults to ``True``.

    Example:

    >>> class InterruptingCallback(lamina.callbacks.Callback):
    ...     def on_epoch_begin(self, epoch, logs=None):
    ...         if epoch == 4:
    ...             raise RuntimeError("Interrupting!")
    >>> backup = lamina.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    >>> try:
    ...     model.fit(x, y, epochs=10, callbacks=[backup, InterruptingCallback()])
    ... except RuntimeError:
    ...     pass
    >>> history = model.fit(x, y, epochs=10, callbacks=[backup])  # runs epochs 5 to 10
    """

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        double_checkpoint=False,
        delete_checkpoint=True,
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)):
            raise ValueError(
                "Invalid value for argument `save_freq`. "
                f"Received: save_freq={save_freq}. Expected either 'epoch' or an integer value."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        # Under a model parallel distribution each process backs up its own shards.
        self._sharded = _sharded_run()
        weights_file = "latest.weights.dcp" if self._sharded else "latest.weights.h5"
        self._weights_path = os.path.join(self.backup_dir, weights_file)
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def on_train_begin(self, logs=None):
        if self._sharded:
            # Process 0 keeps the folder; every process then reads its shards.
            if _rank() == 0:
                self._finish_interrupted_save()
            _barrier()
            optimizer = getattr(self.model, "optimizer", None)
            if os.path.exists(self._weights_path) and optimizer is not None and not optimizer.built:
                # The backup holds the optimizer's state; it is read into built slots only.
                optimizer.build(self.model.trainable_weights)
            self._load_model()
            return
        self._finish_interrupted_save()
        try:
            self._load_model()
        except (OSError, ValueError, KeyError):
            # The latest backup is unreadable: fall back to the previous one if it was kept.
            if not os.path.exists(self._prev_weights_path):
                raise
            _copy_atomically(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                _copy_atomically(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self):
        model = self.model
        if not model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call "
                f"`fit()`. Model {model} is unbuilt. You can build it beforehand by calling it on "
                "a batch of data."
            )
        if os.path.exists(self._weights_path):
            # Loading creates the optimizer slots first, so the saved optimizer state is restored.
            model.load_weights(self._weights_path)
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path) as f:
                metadata = json.load(f)
            # The trainer starts the epoch loop at `model._initial_epoch` when a callback sets it.
            model._initial_epoch = int(metadata["epoch"])
            self._current_epoch = int(metadata["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model()

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:
            # The batch index went back: a new epoch started.
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    # A backup is two files (Keras's layout), written as one commit. Before the weights are
    # replaced, the backup being superseded is kept aside under a name that records its
    # metadata ("pending" file); the metadata rename is the commit; the pending file is removed
    # last. On restart a pending file still there means the save was interrupted: if the
    # metadata still names the old backup, the commit did not happen and the old weights are
    # put back; otherwise it did and the pending file is just stale. Either way the weights and
    # the metadata agree, whichever step the process died at.
    def _save_model(self):
        if self._sharded:
            self._save_sharded()
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        self._discard_pending()
        if self.double_checkpoint:
            if os.path.exists(self._weights_path):
                _copy_atomically(self._weights_path, self._prev_weights_path)
            if os.path.exists(self._training_metadata_path):
                _copy_atomically(self._training_metadata_path, self._prev_training_metadata_path)
        old = self._read_metadata()
        pending = os.path.join(self.backup_dir, _PENDING_PREFIX + _metadata_tag(old))
        if old is not None and os.path.exists(self._weights_path):
            _keep_aside(self._weights_path, pending)
        else:
            open(pending, "w").close()  # "no committed backup yet"
        self.model.save_weights(self._weights_path, overwrite=True)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        _write_text_atomically(self._training_metadata_path, json.dumps(metadata))
        os.remove(pending)

    def _save_sharded(self):
        # The same commit as `_save_model`, for a checkpoint folder every process writes into:
        # process 0 moves the superseded folder aside (a rename), all write the new one, then
        # process 0 commits the metadata and drops the old folder.
        if _rank() == 0:
            os.makedirs(self.backup_dir, exist_ok=True)
            self._discard_pending()
            if self.double_checkpoint:
                for source, target in ((self._weights_path, self._prev_weights_path),
                                       (self._training_metadata_path, self._prev_training_metadata_path)):
                    if os.path.isdir(source):
                        _remove(target)
                        shutil.copytree(source, target)
                    elif os.path.exists(source):
                        _copy_atomically(source, target)
            old = self._read_metadata()
            pending = os.path.join(self.backup_dir, _PENDING_PREFIX + _metadata_tag(old))
            if old is not None and os.path.exists(self._weights_path):
                os.replace(self._weights_path, pending)
            else:
                _remove(self._weights_path)
                open(pending, "w").close()
        _barrier()
        self.model.save_weights(self._weights_path, overwrite=True)
        _barrier()
        if _rank() == 0:
            metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
            _write_text_atomically(self._training_metadata_path, json.dumps(metadata))
            _remove(pending)
        _barrier()

    def _read_metadata(self):
        if not os.path.exists(self._training_metadata_path):
            return None
        with open(self._training_metadata_path) as f:
            return json.load(f)

    def _pending_files(self):
        if not os.path.isdir(self.backup_dir):
            return []
        return sorted(n for n in os.listdir(self.backup_dir) if n.startswith(_PENDING_PREFIX))

    def _discard_pending(self):
        for name in self._pending_files():
            _remove(os.path.join(self.backup_dir, name))

    def _finish_interrupted_save(self):
        pending = self._pending_files()
        if not pending:
            return
        name = pending[-1]
        path = os.path.join(self.backup_dir, name)
        try:
            current = self._read_metadata()
        except ValueError:
            current = None
        if _metadata_tag(current) == name[len(_PENDING_PREFIX):]:
            # Died before the commit: the previous backup is the valid one.
            if current is None:
                for stale in (self._weights_path, self._training_metadata_path):
                    _remove(stale)  # sharded weights are a folder
                os.remove(path)
            else:
                _remove(self._weights_path)
                os.replace(path, self._weights_path)
        self._discard_pending()

    def on_train_end(self, logs=None):
        # The resume point is used up: a later `fit` of this model starts where its caller says.
        self.model._initial_epoch = None
        if self._sharded:
            _barrier()  # every process has read the backup before process 0 deletes it
            if _rank() != 0:
                return
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


def _sharded_run():
    current = distribution_lib.distribution()
    return isinstance(current, distribution_lib.ModelParallel) and devices.num_processes() > 1


def _rank():
    return devices.process_id()


def _barrier():
    torch.distributed.barrier()


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def _metadata_tag(metadata):
    """The pending-file suffix naming a backup's metadata (``none`` before the first commit)."""
    if metadata is None:
        return "none"
    return f"epoch{int(metadata['epoch'])}-batch{int(metadata['batch'])}"
