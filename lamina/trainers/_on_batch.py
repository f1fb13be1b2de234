"""``train_on_batch`` / ``test_on_batch`` / ``predict_on_batch``: one step on one batch given as
arrays, outside the loops (no callbacks, no progress bar).

A mixin of ``Trainer``, which provides the steps and the metric bookkeeping.
"""

import torch

from lamina.trainers import data_adapters, trainer_utils
from lamina.trainers.inference_path import folded
from lamina.trainers.validation import check_batch_against_model


class OnBatchAPI:
    """Keras's single-batch methods (mixed into ``Trainer``)."""

    @trainer_utils.with_loop_state
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns the metric values on that batch."""
        self._assert_compiled()
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(
                    "Arguments `sample_weight` and `class_weight` cannot be specified at the same "
                    f"time. Received: sample_weight={sample_weight}, class_weight={class_weight}"
                )
            sample_weight = data_adapters.class_weight_to_sample_weight(y, class_weight)
        data = self._single_batch(x, y, sample_weight)
        self.reset_metrics()
        was_training = self.training
        self.train()
        try:
            logs = trainer_utils.flatten_logs(self.train_step(data))
        finally:
            self.train(was_training)
        logs = trainer_utils.pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @trainer_utils.with_loop_state
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch, without updating weights."""
        self._assert_compiled()
        data = self._single_batch(x, y, sample_weight)
        self.reset_metrics()
        with torch.no_grad(), folded(self, "test_step"):
            logs = trainer_utils.pythonify_logs(trainer_utils.flatten_logs(self.test_step(data)))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        """The model's outputs on one batch, as numpy arrays."""
        with torch.no_grad(), folded(self, "predict_step"):
            outputs = self.predict_step(self._single_batch(x, None, None, targets=False))
        return trainer_utils.concat_outputs([outputs])

    def _single_batch(self, x, y, sample_weight, targets=True):
        x, y, sample_weight = data_adapters.lists_to_arrays((x, y, sample_weight))
        data = data_adapters.pack_x_y_sample_weight(
            data_adapters.to_device(x), data_adapters.to_device(y), data_adapters.to_device(sample_weight)
        )
        check_batch_against_model(self, data, targets=targets)
        return data
