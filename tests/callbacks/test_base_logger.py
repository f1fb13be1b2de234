"""``BaseLogger`` (Keras 2): sample-weighted epoch means of Keras 2 style batch logs."""

import numpy as np
import pytest
import torch
from callback_fakes import initial_weights, regression_data, tiny_model

import lamina
from lamina.callbacks import BaseLogger


def test_averages_batch_values_weighted_by_size():
    logger = BaseLogger(stateful_metrics=["auc"])
    logger.set_params({"metrics": ["loss", "acc", "auc"]})
    logger.on_epoch_begin(0)
    logger.on_batch_end(0, {"batch": 0, "size": 4, "loss": 1.0, "acc": 0.5, "auc": 0.6})
    logger.on_batch_end(1, {"batch": 1, "size": 2, "loss": torch.tensor(4.0), "acc": 1.0, "auc": 0.9})
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs == pytest.approx({"loss": (4 * 1.0 + 2 * 4.0) / 6, "acc": (4 * 0.5 + 2 * 1.0) / 6, "auc": 0.9})
    # The totals restart with each epoch.
    logger.on_epoch_begin(1)
    logger.on_batch_end(0, {"size": 3, "loss": 2.0})
    logs = {}
    logger.on_epoch_end(1, logs)
    assert logs == {"loss": 2.0}


def test_only_params_metrics_are_written_and_num_steps_counts():
    logger = BaseLogger()
    logger.set_params({"metrics": ["loss"]})
    logger.on_epoch_begin(0)
    logger.on_batch_end(0, {"size": 2, "num_steps": 2, "loss": 3.0, "other": 1.0})
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs == {"loss": 3.0 * 2 / 4}


def test_leaves_fit_epoch_logs_unchanged():
    x, y = regression_data()
    runs = []
    for callbacks in ([], [BaseLogger()]):
        model = tiny_model(lamina, initial_weights())
        runs.append(model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=callbacks).history)
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        np.testing.assert_allclose(runs[1][key], runs[0][key], rtol=1e-6)


def test_is_a_registered_keras_callback():
    assert lamina.callbacks.BaseLogger is BaseLogger
    assert lamina.saving.get_registered_name(BaseLogger) == "BaseLogger"
