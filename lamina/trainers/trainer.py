"""``compile`` / ``fit`` / ``evaluate`` / ``predict``: the Keras training API on torch.

The per-batch path does no host-device synchronisation: losses and metrics accumulate in device
tensors, gradients are reset by dropping them (``grad = None``, no memset), and values become
Python floats only at the end of an epoch (or when the progress bar redraws).
"""

import copy
import warnings

import torch

from lamina.backend import config
from lamina.backend.numpy_interop import relabel_results
from lamina.callbacks.callback import DeferredLogs
from lamina.trainers import compile_utils, data_adapters, trainer_utils
from lamina.trainers import distributed as _distributed
from lamina.trainers.compile_path import CompiledStep
from lamina.trainers.inference_path import folded, predict_forward
from lamina.trainers._on_batch import OnBatchAPI
from lamina.trainers._trainer_api import TrainerAPI
from lamina.trainers.compile_utils import CompileLoss, CompileMetrics
from lamina.trainers.data_adapters import EpochIterator, unpack_x_y_sample_weight
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.trainers.validation import (
    check_batch_against_model,
    check_loop_arguments,
    no_data_error,
    step_count,
)
from lamina.utils import traceback_utils


def _capped(value, cap, name):
    """``value`` limited by a ``keras.config`` debugging cap (``None`` value: no limit asked)."""
    if cap and (value is None or cap < value):
        warnings.warn(f"Limiting {name} to {cap}", stacklevel=3)
        return cap
    return value


class Trainer(TrainerAPI, OnBatchAPI):
    """Training and evaluation methods mixed into ``Model``.

    ``fit`` calls ``train_step(data)`` once per batch (``data`` is ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``); ``evaluate`` and ``predict`` call ``test_step`` and
    ``predict_step`` under ``torch.no_grad()``. Override them in a subclass to change what a step
    does while keeping the loop, the callbacks and the progress bar:

    >>> class MyModel(lamina.Model):
    ...     def train_step(self, data):
    ...         x, y = data
    ...         y_pred = self(x, training=True)
    ...         loss = self.compute_loss(y=y, y_pred=y_pred)  # compiled losses + self.losses
    ...         self.zero_grad()
    ...         loss.backward()
    ...         self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
    ...         for metric in self.metrics:
    ...             if metric.name == "loss":
    ...                 metric.update_state(loss.detach())
    ...             else:
    ...                 metric.update_state(y, y_pred.detach())
    ...         return {m.name: m.result() for m in self.metrics}

    Without ``fit`` at all, a plain torch loop works the same way:

    >>> for x, y in batches:
    ...     loss = loss_fn(y, model(x, training=True))
    ...     model.zero_grad()
    ...     loss.backward()
    ...     optimizer.apply([v.grad for v in model.trainable_weights], model.trainable_weights)
    """

    compiled = False
    optimizer = None
    loss = None
    stop_training = False
    _compile_loss = None
    _compile_metrics = None
    _loss_tracker = None
    _initial_epoch = None
    _jit_compile = False
    # `jit_compile="auto"`, the default even before `compile`: predict's and evaluate's forward
    # passes are compiled once they have run long enough (`inference_path.AUTO_COMPILE_AFTER`).
    _auto_jit_compile = True
    _train_function = None

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
            loss: Loss (name, function or ``Loss``), or a list / dict of them (one per output).
                ``"crossentropy"`` picks binary, categorical or sparse categorical crossentropy
                from the shapes of the first batch.
            loss_weights: Per-output loss weights: a list, a dict keyed by output name, or a float
                for a single output. The total loss is the weighted sum.
            metrics: List of metrics (names, functions or ``Metric`` objects), or a list / dict
                with an entry per output. ``"accuracy"`` becomes binary, categorical or sparse
                categorical accuracy from the shapes of the first batch.
            weighted_metrics: Metrics that take ``sample_weight`` / ``class_weight`` into account.
            run_eagerly: ``True`` disables ``jit_compile``.
            steps_per_execution: Accepted for compatibility; every batch runs as its own step.
            jit_compile: ``True`` runs the forward pass and loss of the train step through
                ``torch.compile`` (falling back to eager execution, with a warning, if compiling
                fails); the first compiled steps are timed against eager ones and the faster
                path is kept (logged once when that is eager). ``"auto"``: the train step runs
                eagerly, as in Keras on torch (compiled, it lost to eager on CPUs), and the
                forward passes of ``predict`` and ``evaluate`` (also ``predict_on_batch`` and
                ``test_on_batch``) run eagerly until they have taken 30 seconds (longer for a long
                forward pass: as long as compiling it is expected to take), then take the
                ``True`` path: compiled if that measures faster, said once in the log. ``False``:
                always eager. ``model.jit_compile`` reads ``False`` under ``"auto"``.
            auto_scale_loss: With the ``"mixed_float16"`` policy, wrap the optimizer in a
                ``LossScaleOptimizer`` (dynamic loss scaling).
        """
        from lamina import metrics as metrics_module
        from lamina import optimizers

        compile_utils.check_names(loss, metrics, weighted_metrics)
        self.optimizer = optimizers.get(optimizer)
        if (
            auto_scale_loss
            and self.dtype_policy.name == "mixed_float16"
            and self.optimizer is not None
            and not isinstance(self.optimizer, LossScaleOptimizer)
        ):
            self.optimizer = LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        names = self._trainer_output_names()
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self.loss = loss
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = CompileMetrics(metrics, weighted_metrics, names)
        else:
            self._compile_metrics = None
        auto = jit_compile == "auto"
        if auto:
            jit_compile = False
        if jit_compile and run_eagerly:
            warnings.warn(
                "If `run_eagerly` is True, then `jit_compile` cannot also be True. Disabling "
                "`jit_compile`.",
                stacklevel=2,
            )
            jit_compile = False
        if not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(
                f"`steps_per_execution` must be a positive integer. Received: {steps_per_execution!r}"
            )
        self.jit_compile = bool(jit_compile)
        self._auto_jit_compile = auto  # `run_eagerly`, read on each call, still overrides it
        self.run_eagerly = run_eagerly
        self.steps_per_execution = steps_per_execution
        self.stop_training = False
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._compile_config = trainer_utils.compile_config(
            optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
            weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution, jit_compile="auto" if auto else jit_compile,
        )
        self.compiled = True

    @property
    def jit_compile(self):
        """Whether the train step's forward pass and loss run through ``torch.compile``."""
        return self._jit_compile

    @jit_compile.setter
    def jit_compile(self, value):
        # A value set by the user is theirs: no more "auto".
        self._jit_compile = bool(value)
        self._auto_jit_compile = False
        self._train_function = None

    def _trainer_output_names(self):
        try:
            names = getattr(self, "output_names", None)
        except (AttributeError, ValueError):
            names = None
        if names:
            return list(names)
        layers = getattr(self, "_stack", None)
        if layers:  # a Sequential model: its single output is named after its last layer
            return [layers[-1].name]
        return None

    def _assert_compiled(self):
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")

    @property
    def metrics(self):
        """Loss tracker, compiled metrics, per-output loss trackers, then ``add_metric`` metrics."""
        out = []
        if self.compiled:
            if self._loss_tracker is not None:
                out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            if self._compile_loss is not None:
                out.extend(self._compile_loss.metrics)
        cached = self.__dict__.get("_layer_metric_lists")
        if cached is None:
            out.extend(super().metrics)
        else:
            out.extend(m for metrics in cached for m in metrics)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # --- the steps ----------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the compiled (weighted, per-output) losses plus ``model.losses``.

        Override it to compute a custom loss; ``train_step`` / ``test_step`` call it.

        Args:
            x: Input data (unused by the default implementation).
            y: Targets.
            y_pred: The model's predictions.
            sample_weight: Sample weights for the compiled losses.
            training: Whether the loss is computed for training.

        Returns:
            A scalar tensor.
        """
        losses = []
        if self._compile_loss is not None:
            value = self._compile_loss(y, y_pred, sample_weight)
            if value is not None:
                losses.append(value)
        cache = self.__dict__.get("_step_cache")
        extras = self.losses if cache is None else self._gather_losses(cache.layers, cache.regularized)
        for extra in extras:
            extra = torch.as_tensor(extra)
            if not extra.is_floating_point():
                extra = extra.to(getattr(torch, config.floatx()))
            losses.append(extra.sum())
        if not losses:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        total = losses[0]
        for value in losses[1:]:
            total = total + value
        return total

    def _compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # Overrides of `compute_loss` written before it had a `training` argument still work.
        if trainer_utils.takes_training(type(self).compute_loss):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics; return ``get_metrics_result()``."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """``{name: value}`` for every metric in ``self.metrics`` (dict results merged in)."""
        results = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return results

    def _forward_and_loss(self, x, y, sample_weight):
        y_pred = self(x, training=True)
        return y_pred, self._compute_loss(x, y, y_pred, sample_weight, training=True)

    def _predict_forward(self, x, y=None, sample_weight=None):
        # What predict's and evaluate's compiled steps compile (the train step's signature).
        return self(x, training=False)

    def _make_train_function(self):
        # The seam of distributed training: a data parallel loop runs the forward pass its own way.
        distributed = _distributed.train_function(self)
        if distributed is not None:
            return distributed
        if self._train_function is None:
            eager = self._forward_and_loss
            self._train_function = CompiledStep(self) if self.jit_compile else eager
        return self._train_function

    def train_step(self, data):
        """One optimizer step on a batch; returns the metric values (device tensors).

        Override it in a subclass to customise training; use ``self.compute_loss``,
        ``self.optimizer.apply(grads, variables)`` and ``self.compute_metrics`` as needed.
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        step = self._make_train_function()
        y_pred, loss = step(x, y, sample_weight)
        self._track_loss(loss, x)
        if self.optimizer is not None:
            loss = self.optimizer.scale_loss(loss)
        variables = self._step_variables()
        if variables:
            for v in variables:
                v.grad = None
            loss.backward()
            self.optimizer.apply([v.grad for v in variables], variables)
        else:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        if type(step) is CompiledStep:
            step.step_done()  # a timed trial ends here, before the metrics and the callbacks
        if self.__dict__.get("_batch_logs_wanted", True) or (
            type(self).compute_metrics is not Trainer.compute_metrics
        ):
            return self.compute_metrics(x, y, trainer_utils.detach(y_pred), sample_weight)
        # No callback reads this batch's logs: update the metrics, leave their results for later.
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, trainer_utils.detach(y_pred), sample_weight)
        return DeferredLogs()

    def _step_variables(self):
        state = self.__dict__
        if "_step_cache" not in state:
            return self.trainable_weights
        cache = state["_step_cache"]
        if cache is None:
            # Gathered after the epoch's first forward pass, which builds a deferred model.
            cache = state["_step_cache"] = trainer_utils.StepCache(self)
        return cache.trainable

    def _track_loss(self, loss, x):
        # What `Mean.update_state(loss, sample_weight=batch_size)` does, in two in-place adds.
        tracker = self._loss_tracker
        n = trainer_utils.batch_size(x)
        loss = loss.detach()  # detached, so the in-place adds need no `no_grad` block
        if tracker.total.device != loss.device:
            tracker._move_state(loss.device)
        tracker.total.add_(loss, alpha=n)
        tracker._assign_add(tracker.count, n)

    def test_step(self, data):
        """Loss and metrics on a batch, without updating weights (runs under ``no_grad``)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = predict_forward(self, x, loop="evaluate")
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs on a batch (runs under ``no_grad``)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return predict_forward(self, x)

    # --- loops --------------------------------------------------------------------------------
    @traceback_utils.filter_traceback
    @trainer_utils.keras2_argument_aliases(nb_epoch="epochs", stacklevel=3)
    @_distributed.distributed_loop("fit")
    @trainer_utils.with_loop_state
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
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
    ):
        """Train the model for ``epochs`` epochs (Keras semantics); returns a ``History``.

        ``x`` may be arrays / tensors (or lists / dicts of them, with ``y`` and
        ``sample_weight`` alike), a ``PyDataset``, a torch ``DataLoader`` or ``Dataset``, or a
        generator yielding ``(x, y)`` or ``(x, y, sample_weight)``. The first batch is checked
        against the model's inputs before training starts. ``validation_split`` takes the last
        fraction of array data, before shuffling. Epoch logs hold the running means over the
        epoch, then the ``val_`` values.
        """
        self._assert_compiled()
        steps_per_epoch, validation_steps = step_count(steps_per_epoch), step_count(validation_steps)
        check_loop_arguments(
            "fit",
            positive=[("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch),
                      ("validation_steps", validation_steps),
                      ("validation_batch_size", validation_batch_size)],
            non_negative=[("epochs", epochs), ("initial_epoch", initial_epoch)],
            validation_freq=validation_freq,
        )
        epochs = _capped(epochs, config.max_epochs(), "epochs")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_adapters.train_validation_split(
                (x, y, sample_weight), validation_split
            )
        if validation_data is not None:
            val_x, val_y, val_sample_weight = unpack_x_y_sample_weight(validation_data)
        iterator = self._epoch_iterator(
            x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight, loop="fit"
        )
        val_iterator = None
        if validation_data is not None:
            val_iterator = self._epoch_iterator(
                val_x, val_y, val_sample_weight, validation_batch_size or batch_size,
                validation_steps, False, None, loop="fit", what="validation_data",
            )
        cbs = trainer_utils.callback_list(callbacks, self, verbose, add_history=True, epochs=epochs,
                             steps=iterator.num_batches)
        self.stop_training = False
        self._make_train_function()
        cbs.on_train_begin()
        training_logs = {}
        initial_epoch = self._initial_epoch or initial_epoch
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            self.train()
            # Gathered once per epoch, in the first step (after the callbacks' on_epoch_begin,
            # which may freeze layers, and after the model is built).
            self.__dict__["_step_cache"] = None
            logs = {}
            for step, batch in iterator:
                cbs.on_train_batch_begin(step)
                self.__dict__["_batch_logs_wanted"] = cbs.wants_batch_logs()
                relabel = relabel_results(False)
                try:
                    logs = trainer_utils.flatten_logs(self.train_step(batch))
                finally:
                    relabel_results(relabel)
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(self._metrics_result_or_logs(logs))
            self.eval()
            if val_iterator is not None and trainer_utils.should_eval(epoch, validation_freq):
                self._in_fit = True
                try:
                    val_logs = self._test_loop(val_iterator, cbs)
                finally:
                    self._in_fit = False
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            epoch_logs = trainer_utils.pythonify_logs(epoch_logs)
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if self.optimizer is not None and epochs > 0:
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(logs=training_logs)
        return self.history

    @traceback_utils.filter_traceback
    @_distributed.distributed_loop("evaluate")
    @trainer_utils.with_loop_state
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
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        **kwargs,
    ):
        """The loss and metric values on the data: a scalar, a list, or a dict (``return_dict``).

        The list follows ``metrics_names`` order (the loss first); metrics of multi-output models
        that are not named there follow in sorted order, as in Keras.
        """
        if kwargs:
            raise ValueError(f"Arguments not recognized: {kwargs}")
        self._assert_compiled()
        steps = step_count(steps)
        check_loop_arguments("evaluate", positive=[("batch_size", batch_size), ("steps", steps)])
        iterator = self._epoch_iterator(x, y, sample_weight, batch_size, steps, False, None,
                                        loop="evaluate")
        cbs = trainer_utils.callback_list(callbacks, self, verbose, epochs=1, steps=iterator.num_batches)
        logs = self._test_loop(iterator, cbs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _test_loop(self, iterator, cbs):
        self.eval()
        self.stop_evaluating = False
        cbs.on_test_begin()
        self.reset_metrics()
        logs = {}
        with torch.no_grad(), folded(self, "test_step"):
            for step, batch in iterator:
                cbs.on_test_batch_begin(step)
                logs = trainer_utils.flatten_logs(self.test_step(batch))
                cbs.on_test_batch_end(step, logs)
                if self.stop_evaluating:
                    break
        logs = trainer_utils.pythonify_logs(self._metrics_result_or_logs(logs))
        cbs.on_test_end(logs)
        return logs

    @traceback_utils.filter_traceback
    @_distributed.distributed_loop("predict")
    @trainer_utils.with_loop_state
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, max_queue_size=10,
                workers=1, use_multiprocessing=False):
        """The model's outputs on ``x`` as numpy arrays (with the structure of the outputs).

        ``max_queue_size``, ``workers`` and ``use_multiprocessing`` (in ``fit`` and ``evaluate``
        too) are Keras 2's settings for generator input, accepted so Keras 2 code runs; a
        ``PyDataset`` carries its own ``workers``.
        """
        steps = step_count(steps)
        check_loop_arguments("predict", positive=[("batch_size", batch_size), ("steps", steps)])
        iterator = self._epoch_iterator(x, None, None, batch_size, steps, False, None, targets=False)
        cbs = trainer_utils.callback_list(callbacks, self, verbose, epochs=1, steps=iterator.num_batches)
        self.eval()
        self.stop_predicting = False
        cbs.on_predict_begin()
        outputs = []
        with torch.no_grad(), folded(self, "predict_step"):
            for step, batch in iterator:
                cbs.on_predict_batch_begin(step)
                batch_outputs = self.predict_step(batch)
                outputs.append(batch_outputs)
                cbs.on_predict_batch_end(step, {"outputs": batch_outputs})
                if self.stop_predicting:
                    break
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("Unexpected result of `predict`: the input data yielded no batches.")
        return trainer_utils.concat_outputs(outputs)

    # --- helpers ------------------------------------------------------------------------------
    def _epoch_iterator(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight,
                        targets=True, loop=None, what="x"):
        steps = _capped(steps, config.max_steps_per_epoch(), "steps_per_epoch")
        adapter = data_adapters.get_data_adapter(
            x, y, sample_weight, batch_size=batch_size, steps_per_epoch=steps, shuffle=shuffle,
            class_weight=class_weight,
        )
        adapter = _distributed.shard_adapter(adapter)
        iterator = EpochIterator(adapter, steps)
        first = iterator.peek()
        if first is not None:
            check_batch_against_model(self, first, targets=targets)
        elif loop is not None:
            raise no_data_error(loop, what)
        return iterator

    def _metrics_result_or_logs(self, logs):
        _distributed.reduce_metrics(self)
        # A custom train/test step may return other values than `self.metrics`: keep those.
        results = trainer_utils.flatten_logs(self.get_metrics_result())
        if isinstance(logs, DeferredLogs) or (
            isinstance(logs, dict) and set(logs) == set(results)
        ):
            return results
        return logs

    def _flatten_metrics_in_order(self, logs):
        names = []
        for metric in self.metrics:
            if isinstance(metric, CompileMetrics):
                names.extend(m.name for m in metric.metrics)
            else:
                names.append(metric.name)
        values = [logs[name] for name in names if name in logs]
        values += [logs[key] for key in sorted(logs) if key not in names]
        return values[0] if len(values) == 1 else values

    def get_compile_config(self):
        # An empty dict when not compiled, as in Keras (files write it for nested models too); a
        # copy, so that editing it leaves the model's own alone.
        return copy.deepcopy(getattr(self, "_compile_config", None) or {})
