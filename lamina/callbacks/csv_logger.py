"""``CSVLogger``: write the epoch results to a CSV file."""

import collections.abc
import csv
import os

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin


def _csv_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


@register_builtin("keras.callbacks")
class CSVLogger(Callback):
    """Stream the epoch results to a CSV file, one row per epoch.

    The columns are ``epoch`` (0-based) followed by the log keys in sorted order. When the
    first epoch has no ``val_*`` keys, ``val_`` columns are still added for every key (filled
    with ``NA`` when absent), so files from runs with and without validation line up. Each row
    is flushed as soon as it is written.

    Args:
        filename: Path of the CSV file (str or `os.PathLike`).
        separator: String used to separate the fields. Defaults to ``","``.
        append: ``True`` appends to an existing file (writing the header only if the file is
            empty), ``False`` overwrites it.

    Example:

    >>> csv_logger = lamina.callbacks.CSVLogger("training.log")
    >>> model.fit(x, y, callbacks=[csv_logger])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        mode = "w"
        if self.append:
            mode = "a"
            if os.path.exists(self.filename):
                with open(self.filename, "r", newline="") as f:
                    self.append_header = not f.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        # newline="" lets the csv module write its own "\r\n" on every platform.
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file,
                fieldnames=["epoch"] + self.keys,
                delimiter=self.sep,
                lineterminator="\r\n",
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
