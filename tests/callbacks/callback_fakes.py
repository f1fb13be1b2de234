"""Helpers of the callback tests: a stand-in model to replay logs through a callback, and tiny
real models built identically in Lamina and in Keras."""

import numpy as np


class FakeModel:
    """Just the model API the monitoring callbacks use, so Lamina's and Keras's callbacks can be
    fed the very same logs without training anything.

    ``get_weights`` returns ``[step]`` (the number of epochs replayed so far), which tells which
    epoch's weights a callback kept; saves are recorded instead of written unless ``write``.
    """

    def __init__(self, optimizer=None, metrics=(), write=False):
        self.optimizer = optimizer
        self.metrics = list(metrics)
        self.stop_training = False
        self.step = 0
        self.restored = None
        self.saved = []
        self.built = True
        self._write = write

    def get_weights(self):
        return [np.array([self.step], dtype="float32")]

    def set_weights(self, weights):
        self.restored = int(weights[0][0])

    def _record(self, kind, filepath):
        self.saved.append((kind, str(filepath)))
        if self._write:
            with open(filepath, "w") as f:
                f.write(f"{kind} at step {self.step}")

    def save(self, filepath, overwrite=True, **kwargs):
        self._record("model", filepath)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        self._record("weights", filepath)


def replay(callback, model, epoch_logs, batches=0, batch_logs=None):
    """Run ``callback`` through a `fit` of ``len(epoch_logs)`` epochs with ``batches`` batches each.

    Returns the epochs after which ``model.stop_training`` was set, and stops there as `fit` does.
    Every logs dict is copied so the two libraries never share one.
    """
    callback.set_model(model)
    callback.set_params({"epochs": len(epoch_logs), "steps": batches, "verbose": 0})
    callback.on_train_begin()
    stopped = None
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch)
        for batch in range(batches):
            callback.on_train_batch_begin(batch)
            callback.on_train_batch_end(batch, dict(batch_logs(epoch, batch)) if batch_logs else {})
        model.step = epoch + 1
        callback.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            stopped = epoch
            break
    callback.on_train_end()
    return stopped


def regression_data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[0.5], [-1.0], [2.0]], "float32") + rng.normal(scale=0.5, size=(n, 1))).astype(
        "float32"
    )
    return x, y


def tiny_model(lib, weights=None, lr=0.05, metrics=None):
    """Dense(4, tanh) -> Dense(1) compiled with Adam and mse, in ``lib`` (lamina or keras)."""
    model = lib.Sequential(
        [lib.Input((3,)), lib.layers.Dense(4, activation="tanh"), lib.layers.Dense(1)]
    )
    if weights is not None:
        model.set_weights(weights)
    model.compile(lib.optimizers.Adam(lr), "mse", metrics=metrics)
    return model


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(scale=0.5, size=(3, 4)).astype("float32"),
        np.zeros(4, "float32"),
        rng.normal(scale=0.5, size=(4, 1)).astype("float32"),
        np.zeros(1, "float32"),
    ]
