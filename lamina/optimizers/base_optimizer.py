"""``Optimizer``: the base class of every optimizer, with the Keras 3 API.

The base class owns what all optimizers share: the step counter, the learning rate (a variable or a
schedule), the optimizer variables and their order, gradient filtering, loss-scale unscaling,
clipping, weight decay, gradient accumulation, the moving average of the weights (EMA) and the
variable constraints. A subclass creates its slot variables in ``build`` and writes the update rule.

Everything per step stays on the device: the step count is a tensor, learning-rate schedules and
bias corrections are computed with tensor math, and the optional features that depend on the step
(accumulation, EMA overwrite) select their results with masks instead of reading the counter back.

A training loop calls it as::

    loss.backward()
    optimizer.apply([v.grad for v in model.trainable_weights], model.trainable_weights)
"""

import warnings

import numpy as np
import torch

from lamina import initializers
from lamina.backend import config, naming
from lamina.backend.core import convert_to_tensor
from lamina.backend.variables import Variable
from lamina.optimizers import _clipping
from lamina.optimizers._learning_rate import LearningRateAPI
from lamina.optimizers._moving_average import MovingAverageMixin
from lamina.optimizers._optimizer_state import OptimizerState
from lamina.optimizers._stateless_apply import StatelessApplyMixin
from lamina.optimizers._weight_decay import WeightDecayMixin
from lamina.optimizers.schedules import learning_rate_schedule
from lamina.saving import object_registration, serialization_lib


@object_registration.register_builtin("keras.optimizers")
class Optimizer(LearningRateAPI, WeightDecayMixin, MovingAverageMixin, StatelessApplyMixin, OptimizerState):
    """Base class of optimizers.

    To write an optimizer, subclass it and override:

    - ``build(var_list)``: call ``super().build(var_list)``, then create the slot variables with
      ``add_variable_from_reference`` or ``add_optimizer_variables``.
    - ``update_step(gradient, variable, learning_rate)``: update one variable in place (it runs
      under ``torch.no_grad()``; ``learning_rate`` is a 0-d tensor).
    - ``get_config()``: add the new constructor arguments to the base config.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable taking no argument and
            returning the rate.
        weight_decay: Float. If set, every variable not excluded with
            `exclude_from_weight_decay` is shrunk by ``variable * weight_decay * learning_rate``
            before each update (decoupled weight decay).
        clipnorm: Float. If set, each gradient is rescaled so that its norm is at most this value.
        clipvalue: Float. If set, each gradient is clipped element-wise to
            ``[-clipvalue, clipvalue]``.
        global_clipnorm: Float. If set, all gradients are rescaled together so that their global
            norm is at most this value. Only one of `clipnorm`, `clipvalue` and `global_clipnorm`
            may be set.
        use_ema: Whether to keep an exponential moving average of the weights.
        ema_momentum: Float in ``[0, 1]``, used with `use_ema`:
            ``average = ema_momentum * average + (1 - ema_momentum) * variable``.
        ema_overwrite_frequency: Int or `None`, used with `use_ema`: every this many steps the
            weights are overwritten with their average. With `None`, call
            `finalize_variable_values` at the end of training (``fit`` does).
        loss_scale_factor: Float or `None`. If set, `scale_loss` multiplies the loss by it and the
            gradients are divided by it before the update (mixed precision).
        gradient_accumulation_steps: Int >= 2 or `None`. If set, the variables are updated every
            this many calls, with the mean of the gradients received since the last update.
            Learning-rate schedules see the real call count; `iterations` counts updates.
        name: Name of the optimizer, the prefix of its variables' paths.

    Example:

    >>> optimizer = lamina.optimizers.SGD(learning_rate=0.1)
    >>> w = lamina.Variable(initializer=np.ones(3), name="w")
    >>> optimizer.apply([torch.ones(3)], [w])
    >>> w.numpy()
    array([0.9, 0.9, 0.9], dtype=float32)
    """

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        learning_rate = _keras2_learning_rate(learning_rate, kwargs.pop("lr", None), kwargs.pop("decay", None))
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2. Received: "
                f"gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(
                    "`ema_momentum` must be in the range [0, 1]. Received: "
                    f"ema_momentum={ema_momentum}"
                )
            if ema_overwrite_frequency and (
                not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1
            ):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                    f"ema_overwrite_frequency={ema_overwrite_frequency}"
                )
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.name = name if name is not None else naming.unique_name(
            naming.to_snake_case(type(self).__name__)
        )
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._verified_variable_lists = set()
        self._exclude_from_weight_decay_variables = []
        self._exclude_from_weight_decay_pattern = None
        self._exclude_from_weight_decay_cache = {}
        self._iterations = self._make_variable(np.zeros((), np.int64), "iteration")
        self._learning_rate = self._check_learning_rate(learning_rate)

    def __setstate__(self, state):
        # A copy (deepcopy, pickle) holds new variable objects: the tables keyed by their id()
        # are rebuilt from the lists they index, and the caches keyed so are emptied.
        self.__dict__.update(state)
        self._index_variables()
        self._exclude_from_weight_decay_cache = {}

    # --- variables ------------------------------------------------------------------------------
    def _make_variable(self, initializer, name, shape=None, dtype=None):
        variable = Variable(initializer=initializer, shape=shape, dtype=dtype, trainable=False,
                            name=name)
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    def _check_learning_rate(self, learning_rate):
        if callable(learning_rate):  # a schedule, or a function of no argument
            return learning_rate
        if not isinstance(learning_rate, float):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, "
                "or a callable (that takes in the current iteration value and returns the "
                "corresponding learning rate value). Received instead: "
                f"learning_rate={learning_rate}"
            )
        return self._make_variable(np.array(learning_rate, config.floatx()), "learning_rate")

    @property
    def variables(self):
        """The optimizer's variables, in creation order (the order `save_own_variables` uses)."""
        return self._variables[:]

    @property
    def iterations(self):
        """The number of updates applied (a non-trainable int64 variable on the device)."""
        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            return torch.div(self._iterations, steps, rounding_mode="floor")
        return self._iterations

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None,
                     name=None):
        """Create a non-trainable optimizer variable, tracked in `variables`.

        Args:
            shape: Fully defined shape.
            initializer: Initializer instance or name. Defaults to `"zeros"`.
            dtype: Dtype; defaults to `floatx()`.
            aggregation: Kept for Keras compatibility (multi-replica aggregation hint).
            layout: Kept for Keras compatibility (ignored).
            name: Variable name; its path is ``"<optimizer name>/<name>"``.

        Returns:
            The new `lamina.Variable`.
        """
        name = name if name is not None else naming.unique_name("variable")
        initializer = initializers.get(initializer)
        variable = self._make_variable(initializer, name, shape=shape, dtype=dtype)
        variable.aggregation = aggregation
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """Create an optimizer variable shaped like a model variable, on the same device.

        The variable is named ``"<reference path with / replaced by _>_<name>"``, e.g.
        ``"sequential_dense_kernel_momentum"``.

        Args:
            reference_variable: The model variable.
            name: Suffix of the new name (default `"var"`).
            initializer: Initializer instance or name. Defaults to `"zeros"`.

        Returns:
            The new `lamina.Variable`.
        """
        name = name or "var"
        reference = getattr(reference_variable, "path", None)
        if reference is None:
            reference = str(reference_variable.name).replace(":", "_")
        variable = self.add_variable(
            shape=tuple(reference_variable.shape),
            initializer=initializer,
            dtype=reference_variable.dtype,
            name=f"{reference.replace('/', '_')}_{name}",
        )
        if variable.device != reference_variable.device:
            variable.data = variable.data.to(reference_variable.device)
        return variable

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """Create one optimizer variable per model variable and per name.

        With several names, the variables are created interleaved (for each model variable, one per
        name), which fixes their order in `variables`. Variables whose ``overwrite_with_gradient``
        is set get `None` instead, as they never use optimizer state.

        Args:
            trainable_variables: The model variables.
            name: A name suffix or a list of them.
            initializer: An initializer, or a list with one per name.

        Returns:
            A list of variables, or a tuple of lists when `name` is a list.
        """
        names = [name] if isinstance(name, str) else list(name)
        if isinstance(name, str) or not isinstance(initializer, (list, tuple)):
            inits = [initializer] * len(names)
        else:
            inits = list(initializer)
        if len(names) != len(inits):
            raise ValueError(
                "The number of provided names must match the number of provided initializers.  "
                f"Received name='{name}', initializer='{initializer}'"
            )
        created = tuple([] for _ in names)
        for variable in trainable_variables:
            overwrite = _overwrites_with_gradient(variable)
            for slots, slot_name, init in zip(created, names, inits):
                slots.append(
                    None
                    if overwrite
                    else self.add_variable_from_reference(
                        variable, name=slot_name, initializer=init
                    )
                )
        return created[0] if isinstance(name, str) else created

    def build(self, var_list):
        """Create the optimizer state for `var_list` (the variables `apply` may update).

        Subclasses call ``super().build(var_list)`` first, then create their slot variables.
        """
        var_list = list(var_list)
        if var_list:
            # The counter and the rate live with the model so per-step math never crosses devices.
            device = var_list[0].device
            for variable in self._variables:
                if variable.device != device:
                    variable.data = variable.data.to(device)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(var_list, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [
                self.add_variable_from_reference(v, name="gradient_accumulator") for v in var_list
            ]
        self._trainable_variables = var_list
        self._index_variables()
        self.built = True

    def _index_variables(self):
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(self._trainable_variables)}
        self._verified_variable_lists = set()

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[id(variable)]

    def _indices(self, variables):
        index = self._trainable_variables_indices
        return [index[id(v)] for v in variables]

    # --- applying gradients ---------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``(gradient, variable)`` pairs; returns the `iterations` variable."""
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(grads, trainable_variables)
        return self._iterations

    # Set by distributed training (`lamina.trainers.distributed`) for the length of a loop: a
    # function of `(grads, variables)` returning the gradients to apply (averaged across processes,
    # or each process's shard of them). Built-in and custom train steps both pass through it.
    gradient_reducer = None

    def apply(self, grads, trainable_variables=None):
        """Update the variables from their gradients.

        Args:
            grads: List of gradients (torch tensors or arrays; `None` for a variable without one),
                one per variable.
            trainable_variables: The variables, the first time (it builds the optimizer) or any
                subset of those. If omitted, `grads` must match the variables the optimizer was
                built with, in order.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built "
                    "on a list of variables. Call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._trainable_variables_indices):
                raise ValueError(
                    "When passing `grads` as a list of gradient tensors, the gradients must match "
                    f"`optimizer.variables` one-to-one. Received a list of {len(grads)} gradients, "
                    f"but the optimizer is tracking {len(self._trainable_variables)} trainable "
                    "variables."
                )
            trainable_variables = self._trainable_variables
            if self.gradient_reducer is not None:
                grads = list(self.gradient_reducer(grads, trainable_variables))
        else:
            trainable_variables = list(trainable_variables)
            if self.gradient_reducer is not None:
                # Before `build`: a model parallel reducer puts each variable back to its shard.
                grads = list(self.gradient_reducer(grads, trainable_variables))
            if not self.built:
                self.build(trainable_variables)
            self._check_variables_are_known(trainable_variables)
        with torch.no_grad():
            grads, variables = self._filter_empty_gradients(grads, trainable_variables)
            grads, variables = self._overwrite_variables_directly_with_gradients(grads, variables)
            if variables:
                if self.loss_scale_factor is not None:
                    grads = torch._foreach_div(grads, self.loss_scale_factor)
                self._backend_apply_gradients(grads, variables)
                for variable in variables:
                    constraint = getattr(variable, "constraint", None)
                    if constraint is not None:
                        variable.assign(constraint(variable))
            self._iterations.add_(1)

    def _check_variables_are_known(self, variables):
        # A training loop passes the same variables every step: remember the lists already checked
        # (the optimizer keeps its variables alive, so their ids cannot be reused).
        key = tuple(map(id, variables))
        if key in self._verified_variable_lists:
            return
        index = self._trainable_variables_indices
        for v in variables:
            if id(v) not in index:
                raise ValueError(
                    f"Unknown variable: {v}. This optimizer can only be called for the variables "
                    "it was originally built with. When working with a new set of variables, you "
                    "should recreate a new optimizer instance."
                )
        if len(self._verified_variable_lists) >= 16:
            self._verified_variable_lists.clear()
        self._verified_variable_lists.add(key)

    def _filter_empty_gradients(self, grads, variables):
        """Drop `None` gradients (with a warning naming their variables); cast the others."""
        kept_grads, kept_vars, missing = [], [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(getattr(v, "path", v.name))
                continue
            # Autograd gives gradients of the variable's dtype and device; others are converted.
            if type(g) is not torch.Tensor or g.dtype is not v.dtype:
                g = convert_to_tensor(g).to(device=v.device, dtype=v.dtype)
            kept_grads.append(g)
            kept_vars.append(v)
        if not kept_grads:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. If "
                "using `model.compile()`, did you forget to provide a `loss` argument?"
            )
        return kept_grads, kept_vars

    def _overwrite_variables_directly_with_gradients(self, grads, variables):
        """Variables flagged ``overwrite_with_gradient`` take their gradient as their new value."""
        if not any(getattr(v, "overwrite_with_gradient", False) for v in variables):
            return grads, variables
        kept_grads, kept_vars = [], []
        for g, v in zip(grads, variables):
            if not _overwrites_with_gradient(v):
                kept_grads.append(g)
                kept_vars.append(v)
            elif self.gradient_accumulation_steps:
                # Accumulated by maximum; the variable changes only on update steps.
                is_update = self._is_accumulation_update_step()
                accumulator = self._accumulated_gradients[self._get_variable_index(v)]
                peak = torch.maximum(g, accumulator)
                v.copy_(torch.where(is_update, peak, v))
                accumulator.copy_(torch.where(is_update, torch.zeros_like(peak), peak))
            else:
                v.copy_(g)
        return kept_grads, kept_vars

    def _is_accumulation_update_step(self):
        return torch.remainder(self._iterations + 1, self.gradient_accumulation_steps) == 0

    def _backend_apply_gradients(self, grads, variables):
        learning_rate = self._learning_rate_tensor()
        if self.gradient_accumulation_steps:
            self._apply_accumulated(grads, variables, learning_rate)
        else:
            grads = self._clip_gradients(grads)
            self._apply_weight_decay(variables, learning_rate)
            self._backend_update_step(grads, variables, learning_rate)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if self.ema_overwrite_frequency:
                self._overwrite_model_variables_periodically()

    def _apply_accumulated(self, grads, variables, learning_rate):
        """Accumulate; on every `gradient_accumulation_steps`-th call, update with the mean.

        The update runs on every call and is rolled back by a mask on the calls that only
        accumulate: this keeps the decision on the device instead of reading the counter back.
        """
        is_update = self._is_accumulation_update_step()
        accumulators = [self._accumulated_gradients[i] for i in self._indices(variables)]
        summed = torch._foreach_add(grads, accumulators)
        skip = {id(v) for v in accumulators}
        skip.update(id(v) for v in (self._iterations, self._learning_rate))
        averages = getattr(self, "_model_variables_moving_average", ())
        skip.update(id(v) for v in averages if v is not None)
        state = [v for v in self._variables if id(v) not in skip] + list(variables)
        before = [v.clone() for v in state]
        mean = torch._foreach_div(summed, float(self.gradient_accumulation_steps))
        mean = self._clip_gradients(mean)
        self._apply_weight_decay(variables, learning_rate)
        self._backend_update_step(mean, variables, learning_rate)
        for variable, old in zip(state, before):
            variable.copy_(torch.where(is_update, variable, old))
        for accumulator, total in zip(accumulators, summed):
            accumulator.copy_(torch.where(is_update, torch.zeros_like(total), total))

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """Run the update rule on every variable (built-ins override it with batched kernels)."""
        for grad, variable in zip(grads, trainable_variables):
            self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update `variable` in place from `gradient` (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step()`.")

    def scale_loss(self, loss):
        """Multiply the loss by `loss_scale_factor`, if set, before computing gradients."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    # --- clipping -------------------------------------------------------------------------------
    def _clip_gradients(self, grads):
        """Return clipped copies of the gradients; the caller's tensors are never modified."""
        if self.clipnorm and self.clipnorm > 0:
            return _clipping.clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clipping.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return _clipping.clip_by_value(grads, self.clipvalue)
        return grads

    # --- config ---------------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments as a JSON-friendly dict (no state)."""
        rate = self._learning_rate
        if isinstance(rate, learning_rate_schedule.LearningRateSchedule):
            rate = learning_rate_schedule.serialize(rate)
        elif isinstance(rate, torch.Tensor):
            rate = float(rate.detach().cpu())
        else:
            rate = serialization_lib.serialize_keras_object(rate)
        return {
            "name": self.name,
            "learning_rate": rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Create an optimizer from `get_config()` output (a serialized schedule is rebuilt)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = serialization_lib.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def time_decayed(learning_rate, decay):
    """Keras 2's ``decay``: the rate ``learning_rate / (1 + decay * iterations)`` as a schedule.

    Keras 2 decays with the count of updates already applied (0 on the first one).
    """
    if not isinstance(decay, (int, float)) or isinstance(decay, bool) or decay < 0:
        raise ValueError(f"Argument `decay` must be a float >= 0. Received: decay={decay!r}")
    if not decay or not isinstance(learning_rate, (int, float)):
        return learning_rate
    return learning_rate_schedule.InverseTimeDecay(float(learning_rate), decay_steps=1, decay_rate=float(decay))


def _keras2_learning_rate(learning_rate, lr, decay):
    # Keras 3 refuses `lr` and ignores `decay`; old Keras 2 scripts pass both
    # (`RMSprop(lr=1e-4, decay=1e-6)`), so they keep their Keras 2 meaning here.
    if lr is not None:
        warnings.warn(
            "`lr` is the Keras 2 name of `learning_rate`; use `learning_rate`.", DeprecationWarning, stacklevel=4
        )
        learning_rate = lr
    if decay is None:
        return learning_rate
    if not decay or not isinstance(learning_rate, (int, float)):
        # Keras 3's message for a config written by Keras 2 (`"decay": 0.0`).
        warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        return learning_rate
    return time_decayed(learning_rate, decay)


def _overwrites_with_gradient(variable):
    return getattr(variable, "overwrite_with_gradient", False)

