"""``compile`` / ``fit`` / ``evaluate`` / ``predict``: the Keras training API on torch.

The per-batch path does no host-device synchronisation: losses and metrics accumulate in device
tensors, gradients are reset by dropping them (``grad = None``, no memset), and the progress bar
reads values only when it redraws.
"""

import numpy as np
import torch

from lamina.callbacks.callback import CallbackList
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.trainers import data_adapters
from lamina.trainers.compile_utils import CompileLoss, CompileMetrics
from lamina.utils import tree


class Trainer:
    """Training and evaluation methods mixed into ``Model``."""

    compiled = False

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ):
        """Configure the model for training.

        Args:
            optimizer: Optimizer instance or name (``"adam"``, ``"sgd"``, ...).
            loss: Loss (name, function or ``Loss``), or a list / dict of them per output.
            loss_weights: Per-output loss weights (list or dict).
            metrics: Metrics to track; ``"accuracy"`` picks the accuracy matching the loss.
            weighted_metrics: Metrics that take ``sample_weight`` / ``class_weight`` into account.
            run_eagerly: Accepted for compatibility; Lamina always runs eagerly unless
                ``jit_compile=True``.
            steps_per_execution: Accepted for compatibility (torch has no graph launch cost to
                amortise here).
            jit_compile: ``True`` runs the forward/backward step through ``torch.compile``.
        """
        from lamina import metrics as metrics_module
        from lamina import optimizers

        self.optimizer = optimizers.get(optimizer)
        names = self._trainer_output_names()
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        loss_fns = self._compile_loss.losses if self._compile_loss is not None else []
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, names, loss_fns)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._output_loss_trackers = []
        if self._compile_loss is not None and self._compile_loss.multi:
            self._output_loss_trackers = [
                metrics_module.Mean(name=f"{n}_loss") for n in names
            ]
        self.run_eagerly = run_eagerly
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile is True
        self._compile_config = {
            "optimizer": optimizer,
            "loss": loss,
            "loss_weights": loss_weights,
            "metrics": metrics,
            "weighted_metrics": weighted_metrics,
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        self._compiled_step = None
        self.compiled = True
        self.stop_training = False

    def _trainer_output_names(self):
        names = getattr(self, "output_names", None)
        if names and isinstance(getattr(self, "_outputs_struct", None), dict):
            return sorted(self._outputs_struct)
        return names

    def _assert_compiled(self):
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before using the model for training or evaluation.")

    @property
    def metrics(self):
        if not self.compiled:
            return super().metrics
        return [self._loss_tracker] + self._output_loss_trackers + self._compile_metrics.all

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # --- the steps ----------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Compiled losses (weighted, per output) plus ``model.losses``."""
        total = None
        if self._compile_loss is not None:
            total, per_output = self._compile_loss(y, y_pred, sample_weight)
            for tracker, value in zip(self._output_loss_trackers, per_output):
                if value is not None:
                    tracker.update_state(value.detach())
        extra = self.losses
        if extra:
            reg = torch.stack([torch.as_tensor(l).reshape(()) for l in extra]).sum()
            total = reg if total is None else total + reg
        if total is None:
            raise ValueError("No loss to optimize: pass `loss` to `compile()` or add losses with `add_loss()`.")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self._compile_metrics.update(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = data_adapters.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        self._loss_tracker.update_state(loss.detach(), sample_weight=_batch_size(x))
        variables = self.trainable_weights
        for v in variables:
            v.grad = None
        loss.backward()
        self.optimizer.apply([v.grad for v in variables], variables)
        with torch.no_grad():
            return self.compute_metrics(x, y, y_pred.detach() if isinstance(y_pred, torch.Tensor) else tree.map_structure(lambda t: t.detach(), y_pred), sample_weight)

    def test_step(self, data):
        x, y, sample_weight = data_adapters.unpack_x_y_sample_weight(data)
        with torch.no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
            self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
            return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = data_adapters.unpack_x_y_sample_weight(data)
        with torch.no_grad():
            return self(x, training=False)

    # --- loops --------------------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Train the model for ``epochs`` epochs; returns a ``History``."""
        self._assert_compiled()
        if class_weight is not None:
            sample_weight = _class_weight_to_sample_weight(y, class_weight, sample_weight)
        if validation_split and validation_data is None:
            if not data_adapters._is_array(x) and not isinstance(x, dict):
                raise ValueError("`validation_split` is only supported for arrays and tensors.")
            full = data_adapters.ArrayAdapter(x, y, sample_weight)
            (x, y, sample_weight), validation_data = full.split(validation_split)
        adapter = data_adapters.get_adapter(
            x, y, sample_weight, batch_size=batch_size or 32, steps=steps_per_epoch, shuffle=shuffle
        )
        val_adapter = None
        if validation_data is not None:
            vx, vy, vsw = data_adapters.unpack_x_y_sample_weight(validation_data)
            val_adapter = data_adapters.get_adapter(
                vx, vy, vsw, batch_size=validation_batch_size or batch_size or 32, steps=validation_steps
            )
        verbose = _resolve_verbose(verbose)
        history = History()
        cbs = _callback_list(callbacks, history, verbose, self, epochs=epochs, steps=adapter.num_batches)
        self.stop_training = False
        self._in_fit = True
        cbs.on_train_begin()
        logs = {}
        try:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                self.train()
                for step, batch in enumerate(adapter):
                    cbs.on_train_batch_begin(step)
                    logs = self.train_step(batch)
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
                epoch_logs = _to_python(self.get_metrics_result())
                if val_adapter is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._run_test_loop(val_adapter, cbs)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                logs = epoch_logs
                if self.stop_training:
                    break
        finally:
            self._in_fit = False
            self.eval()
        cbs.on_train_end(logs)
        if hasattr(self.optimizer, "finalize_variable_values"):
            self.optimizer.finalize_variable_values(self.trainable_weights)
        return history

    def _run_test_loop(self, adapter, cbs):
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        for step, batch in enumerate(adapter):
            cbs.on_test_batch_begin(step)
            logs = self.test_step(batch)
            cbs.on_test_batch_end(step, logs)
        logs = _to_python(self.get_metrics_result())
        cbs.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Return the loss and metric values on the given data (a list, or a dict with ``return_dict``)."""
        self._assert_compiled()
        adapter = data_adapters.get_adapter(x, y, sample_weight, batch_size=batch_size or 32, steps=steps)
        cbs = _callback_list(callbacks, None, _resolve_verbose(verbose), self, epochs=1, steps=adapter.num_batches)
        logs = self._run_test_loop(adapter, cbs)
        if return_dict:
            return logs
        values = [logs[m.name] for m in self.metrics if m.name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Return the model's outputs on ``x`` as numpy arrays (batched)."""
        adapter = data_adapters.get_adapter(x, None, None, batch_size=batch_size or 32, steps=steps)
        cbs = _callback_list(callbacks, None, _resolve_verbose(verbose), self, epochs=1, steps=adapter.num_batches)
        cbs.on_predict_begin()
        outputs = []
        for step, batch in enumerate(adapter):
            cbs.on_predict_batch_begin(step)
            outputs.append(self.predict_step(batch))
            cbs.on_predict_batch_end(step)
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("Unexpected result of `predict`: the input data yielded no batches.")
        return _concat_outputs(outputs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """Run one optimizer step on a single batch; returns the metric values."""
        self._assert_compiled()
        if class_weight is not None:
            sample_weight = _class_weight_to_sample_weight(y, class_weight, sample_weight)
        self.reset_metrics()
        batch = next(iter(data_adapters.get_adapter(x, y, sample_weight, batch_size=_len(x))))
        self.train()
        try:
            logs = _to_python(self.train_step(batch))
        finally:
            self.eval()
        return logs if return_dict else _logs_to_list(logs, self)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled()
        self.reset_metrics()
        batch = next(iter(data_adapters.get_adapter(x, y, sample_weight, batch_size=_len(x))))
        logs = _to_python(self.test_step(batch))
        return logs if return_dict else _logs_to_list(logs, self)

    def predict_on_batch(self, x):
        batch = next(iter(data_adapters.get_adapter(x, None, None, batch_size=_len(x))))
        return _concat_outputs([self.predict_step(batch)])

    def get_compile_config(self):
        """The ``compile`` arguments in serialized form (written into ``.keras`` files)."""
        from lamina.saving.serialization_lib import serialize_keras_object

        config = getattr(self, "_compile_config", None)
        if config is None:
            return None
        config = dict(config)
        config["optimizer"] = serialize_keras_object(self.optimizer)
        for key in ("loss", "metrics", "weighted_metrics", "loss_weights"):
            config[key] = serialize_keras_object(config[key])
        return config


def _len(x):
    return int(tree.flatten(x)[0].shape[0])


def _batch_size(x):
    return tree.flatten(x)[0].shape[0]


def _to_python(logs):
    return {k: float(v.detach().cpu()) if isinstance(v, torch.Tensor) else v for k, v in logs.items()}


def _logs_to_list(logs, model):
    values = [logs[m.name] for m in model.metrics if m.name in logs]
    return values[0] if len(values) == 1 else values


def _concat_outputs(outputs):
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat([o.detach() for o in outputs]).cpu().numpy()
    flat = [tree.flatten(o) for o in outputs]
    merged = [torch.cat([f[i].detach() for f in flat]).cpu().numpy() for i in range(len(flat[0]))]
    return tree.pack_sequence_as(first, merged)


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    return int(verbose)


def _callback_list(callbacks, history, verbose, model, **params):
    cbs = list(callbacks or [])
    if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
        cbs.append(ProgbarLogger())
    if history is not None:
        cbs.append(history)
    params["verbose"] = verbose
    return CallbackList(cbs, model=model, **params)


def _class_weight_to_sample_weight(y, class_weight, sample_weight):
    if isinstance(y, (list, tuple, dict)):
        raise ValueError("`class_weight` is only supported for models with a single output.")
    y_np = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    classes = y_np.argmax(axis=-1) if y_np.ndim > 1 and y_np.shape[-1] > 1 else y_np.reshape(len(y_np), -1)[:, 0]
    weights = np.array([class_weight.get(int(c), 1.0) for c in classes.astype(int)], dtype="float32")
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype="float32")
    return weights
