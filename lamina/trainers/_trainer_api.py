"""Model members of Keras's trainer API beside fit/evaluate/predict: compiling from a saved
config, the step functions, the state tree, and the stateless loss computations.

A mixin of ``Trainer``; ``Trainer`` provides ``compile``, the steps and ``_compute_loss``.
"""

import functools
import warnings

import torch

from lamina.backend.core import convert_to_numpy
from lamina.backend.substitution import current_values, substituted
from lamina.trainers import trainer_utils


# Keras 1 names of the generator loops' queue settings, still accepted (with a warning) by Keras 2.
_KERAS1_QUEUE_ARGUMENTS = dict(max_q_size="max_queue_size", nb_worker="workers", pickle_safe="use_multiprocessing")
# Keras 1 counted the generator loops in samples; Keras 2 took the old names as step counts (a
# batch count for `samples_per_epoch` when the generator knows its batch size) and warned.
_KERAS1_SAMPLE_COUNTS = dict(samples_per_epoch="steps_per_epoch", nb_val_samples="validation_steps", val_samples="steps")


def _keras1_sample_counts(method):
    """Accept Keras 1's sample-count arguments of the generator loops, converted as Keras 2 did."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        old = [name for name in _KERAS1_SAMPLE_COUNTS if name in kwargs]
        if not old:
            return method(self, *args, **kwargs)
        generator = args[0] if args else kwargs.get("generator")
        for name in old:
            new = _KERAS1_SAMPLE_COUNTS[name]
            if new in kwargs or (new == "steps_per_epoch" and len(args) > 1):
                raise TypeError(
                    f"`{method.__name__}` received both `{name}` (its Keras 1 name) and `{new}`; "
                    f"pass only `{new}` (a number of batches)."
                )
            value = kwargs.pop(name)
            if name == "samples_per_epoch" and getattr(generator, "batch_size", None):
                value //= generator.batch_size
            kwargs[new] = value
            warnings.warn(
                f"Update your `{method.__name__}` call to the Keras 2 API: `{name}` is now `{new}`.",
                UserWarning,
                stacklevel=3,
            )
        warnings.warn(
            "The semantics of the Keras 2 argument `steps_per_epoch` is not the same as the Keras 1 "
            "argument `samples_per_epoch`. `steps_per_epoch` is the number of batches to draw from "
            "the generator at each epoch. Basically steps_per_epoch = samples_per_epoch/batch_size. "
            "Similarly `nb_val_samples`->`validation_steps` and `val_samples`->`steps` arguments "
            "have changed. Update your method calls accordingly.",
            UserWarning,
            stacklevel=3,
        )
        return method(self, *args, **kwargs)

    return run


class TrainerAPI:
    """Keras's ``Model`` members around training (mixed into ``Trainer``)."""

    @property
    def run_eagerly(self):
        """Whether the train step runs without ``torch.compile`` (``False`` until ``compile``)."""
        return self.__dict__.get("_run_eagerly", False)

    @run_eagerly.setter
    def run_eagerly(self, value):
        self.__dict__["_run_eagerly"] = bool(value)

    # --- compiling from a saved config --------------------------------------------------------
    def compile_from_config(self, config):
        """Compile the model with the arguments ``get_compile_config()`` returned.

        A model whose class overrides ``compile`` is left as it is (its ``compile`` may take other
        arguments), as in Keras.

        Args:
            config: The dict from ``get_compile_config()`` (objects serialized).
        """
        from lamina.trainers.trainer import Trainer

        if type(self).compile is not Trainer.compile:
            import warnings

            warnings.warn(
                "`compile()` was not called as part of model loading because the model's "
                "`compile()` method is custom. All subclassed Models that have `compile()` "
                "overridden should also override `get_compile_config()` and "
                "`compile_from_config(config)`. Alternatively, you can call `compile()` manually "
                "after loading.",
                stacklevel=2,
            )
            return
        self._compile_with_config(config)

    def _compile_with_config(self, config):
        # `compile` with a saved compile config's arguments; for subclasses whose `compile` takes
        # those arguments (and overrides `compile_from_config` to say so).
        from lamina import optimizers
        from lamina.trainers.compile_utils import resolve_saved

        config = dict(config or {})
        optimizer = config.get("optimizer")
        if isinstance(optimizer, dict):
            config["optimizer"] = optimizers.deserialize(optimizer)
        config["loss"], config["metrics"], config["weighted_metrics"] = resolve_saved(
            config.get("loss"), config.get("metrics"), config.get("weighted_metrics")
        )
        allowed = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                   "steps_per_execution")
        # `jit_compile` is left out: Keras writes its default "auto" resolved for its backend
        # (True on JAX, False on torch; older Lamina files False too), so a file cannot tell the
        # user's choice from the default, and the model gets Lamina's default.
        self.compile(**{k: config[k] for k in allowed if config.get(k) is not None})
        if self.optimizer is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    # --- step functions -----------------------------------------------------------------------
    def make_train_function(self, force=False):
        """Set and return ``model.train_function``: one ``train_step`` on a batch, giving its logs.

        Args:
            force: Make a new function even if one exists.
        """
        if self.__dict__.get("train_function") is not None and not force:
            return self.train_function

        def one_step_on_data(data):
            return self.train_step(data)

        self.train_function = one_step_on_data
        return one_step_on_data

    def make_test_function(self, force=False):
        """Set and return ``model.test_function``: one ``test_step`` on a batch (no gradients)."""
        if self.__dict__.get("test_function") is not None and not force:
            return self.test_function

        def one_step_on_data(data):
            with torch.no_grad():
                return self.test_step(data)

        self.test_function = one_step_on_data
        return one_step_on_data

    def make_predict_function(self, force=False):
        """Set and return ``model.predict_function``: one ``predict_step`` on a batch (no gradients)."""
        if self.__dict__.get("predict_function") is not None and not force:
            return self.predict_function

        def one_step_on_data(data):
            with torch.no_grad():
                return self.predict_step(data)

        self.predict_function = one_step_on_data
        return one_step_on_data

    # --- Keras 2's generator loops --------------------------------------------------------------
    # Keras 3 dropped these; `fit`, `evaluate` and `predict` take the same generators and
    # `Sequence`s. The queue arguments were Keras 2's worker settings for them: accepted and unused
    # (a `PyDataset` carries its own `workers`).
    @trainer_utils.keras2_argument_aliases(nb_epoch="epochs", **_KERAS1_QUEUE_ARGUMENTS)
    @_keras1_sample_counts
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True,
                      initial_epoch=0):
        """Keras 2: ``fit`` on a generator or ``Sequence`` of batches (deprecated there too)."""
        _warn_generator_method("fit")
        return self.fit(
            generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
            validation_freq=validation_freq, class_weight=class_weight, shuffle=shuffle,
            initial_epoch=initial_epoch,
        )

    @trainer_utils.keras2_argument_aliases(**_KERAS1_QUEUE_ARGUMENTS)
    @_keras1_sample_counts
    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """Keras 2: ``evaluate`` on a generator or ``Sequence`` of batches."""
        _warn_generator_method("evaluate")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    @trainer_utils.keras2_argument_aliases(**_KERAS1_QUEUE_ARGUMENTS)
    @_keras1_sample_counts
    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Keras 2: ``predict`` on a generator or ``Sequence`` of input batches."""
        _warn_generator_method("predict")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    # --- the state tree -----------------------------------------------------------------------
    def get_state_tree(self, value_format="backend_tensor"):
        """All model state as nested dicts keyed by the parts of each variable's path.

        Args:
            value_format: ``"backend_tensor"`` (torch tensors) or ``"numpy_array"``.

        Returns:
            ``{"trainable_variables": ..., "non_trainable_variables": ...,
            "optimizer_variables": ..., "metrics_variables": ...}``.
        """
        optimizer = getattr(self, "optimizer", None)
        return {
            "trainable_variables": _nested(self.trainable_variables, value_format),
            "non_trainable_variables": _nested(self.non_trainable_variables, value_format),
            "optimizer_variables": _nested(optimizer.variables if optimizer is not None else [], value_format),
            "metrics_variables": _nested(self.metrics_variables, value_format),
        }

    def set_state_tree(self, state_tree):
        """Assign the values of a ``get_state_tree()``-shaped dict to the variables at those paths."""
        groups = {
            "trainable_variables": lambda: self.trainable_variables,
            "non_trainable_variables": lambda: self.non_trainable_variables,
            "optimizer_variables": lambda: (
                self.optimizer.variables if getattr(self, "optimizer", None) is not None else []
            ),
            "metrics_variables": lambda: self.metrics_variables,
        }
        for key, tree in state_tree.items():
            if key not in groups:
                raise ValueError(f"Unknown variable name: {key}. Expected one of {list(groups)}.")
            by_path = {v.path: v for v in groups[key]()}
            for path, value in _flatten(tree).items():
                variable = by_path.get(path)
                if variable is not None:
                    variable.assign(value)

    # --- stateless loss computations ----------------------------------------------------------
    def stateless_compute_loss(
        self,
        trainable_variables,
        non_trainable_variables,
        metrics_variables,
        x=None,
        y=None,
        y_pred=None,
        sample_weight=None,
        training=True,
    ):
        """``compute_loss`` on given variable values, changing no variable.

        Returns:
            ``(loss, (trainable_variables, non_trainable_variables, metrics_variables))`` with
            the values after the computation.
        """
        groups = (
            (self.trainable_variables, trainable_variables),
            (self.non_trainable_variables, non_trainable_variables),
            (self.metrics_variables, metrics_variables),
        )
        variables = [v for own, _ in groups for v in own]
        values = [v for _, given in groups for v in given]
        with substituted(variables, values) as scope:
            loss = self._compute_loss(x, y, y_pred, sample_weight, training=training)
        new = current_values(scope, variables, values)
        out, start = [], 0
        for own, _ in groups:
            out.append(new[start : start + len(own)])
            start += len(own)
        return loss, tuple(out)

    def compute_loss_and_updates(
        self,
        trainable_variables,
        non_trainable_variables,
        metrics_variables,
        x,
        y,
        sample_weight,
        training=False,
        optimizer_variables=None,
    ):
        """The forward pass and loss as a pure function of the given values (Keras's JAX step).

        Usable as the function ``torch.func.grad_and_value(..., has_aux=True)`` differentiates.

        Returns:
            ``(loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables))``; the
            loss is scaled by a ``LossScaleOptimizer`` when training.
        """
        kwargs = {"training": training} if trainer_utils.takes_training(type(self).call) else {}
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x, **kwargs
        )
        loss, (_, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
            x=x,
            y=y,
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=training,
        )
        unscaled_loss = loss
        if training and getattr(self, "optimizer", None) is not None:
            optimizer_variables = (
                optimizer_variables if optimizer_variables is not None else list(self.optimizer.variables)
            )
            with substituted(list(self.optimizer.variables), list(optimizer_variables)):
                loss = self.optimizer.scale_loss(loss)
        return loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables)


def _nested(variables, value_format):
    if value_format not in ("backend_tensor", "numpy_array"):
        raise ValueError(
            "Invalid `value_format` argument. Expected one of {'numpy_array', 'backend_tensor'}. "
            f"Received: value_format={value_format}"
        )
    flat = {}
    for v in variables:
        if v.path in flat:
            raise ValueError(
                f"The following variable path is found twice in the model: '{v.path}'. "
                "`get_state_tree()` can only be called when all variable paths are unique. Make "
                "sure to give unique names to your layers (and other objects)."
            )
        flat[v.path] = v.value if value_format == "backend_tensor" else convert_to_numpy(v)
    nested = {}
    for path, value in flat.items():
        *parents, leaf = path.split("/")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _warn_generator_method(loop):
    warnings.warn(
        f"`Model.{loop}_generator` is deprecated and will be removed in a future version. "
        f"Please use `Model.{loop}`, which supports generators.",
        DeprecationWarning,
        stacklevel=5,  # past the method and its two Keras 1 argument wrappers, to the caller
    )
