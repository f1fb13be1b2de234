"""``MultiOptimizer`` and ``OptimizerMap``: different optimizers for different variables."""

import re
from collections.abc import MutableMapping

from lamina.optimizers.base_optimizer import Optimizer
from lamina.saving import object_registration, serialization_lib


def _refuse_wrappers(optimizer, what):
    if getattr(optimizer, "inner_optimizer", None) is not None:
        raise ValueError(f"{what} cannot be a LossScaleOptimizer.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{what} cannot be a MultiOptimizer.")


@object_registration.register_builtin("keras.optimizers")
class OptimizerMap(MutableMapping):
    """A mapping from variable paths (or regular expressions over them) to optimizers.

    Looking up a path first tries an exact key, then every key as a regular expression matched
    against the whole path (``re.fullmatch``); a path no key matches gets `default_optimizer`.
    To cover every variable under ``encoder``, use the key ``"encoder/.*"``.

    Args:
        default_optimizer: The `Optimizer` of the variables no key matches.
        optimizer_map: Optional dict ``{path or pattern: Optimizer}``.

    Example:

    >>> optimizer_map = lamina.optimizers.OptimizerMap(lamina.optimizers.SGD())
    >>> optimizer_map["encoder/.*"] = lamina.optimizers.Adam()
    >>> optimizer_map["encoder/dense/kernel"].name
    'adam'
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be a Keras Optimizer instance. Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = optimizer_map or {}

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}: patterns {matches} all match.")
        if matches:
            return self._optimizer_map[matches[0]]
        return self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                "Please make sure to not use duplicated keys."
            )
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a Keras Optimizer instance. Received: {optimizer}")
        _refuse_wrappers(optimizer, "optimizer")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        """The optimizer of `variable`, looked up by its path."""
        return self[variable.path]

    def get_config(self):
        return {
            "default_optimizer": serialization_lib.serialize_keras_object(self._default_optimizer),
            "optimizer_map": {
                key: serialization_lib.serialize_keras_object(opt) for key, opt in self._optimizer_map.items()
            },
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        def load(entry):
            return serialization_lib.deserialize_keras_object(entry, custom_objects=custom_objects)

        optimizer_map = {key: load(entry) for key, entry in (config.get("optimizer_map") or {}).items()}
        return cls(load(config["default_optimizer"]), optimizer_map)


@object_registration.register_builtin("keras.optimizers")
class MultiOptimizer(Optimizer):
    """Delegate each variable to its own optimizer.

    Each inner optimizer is built on, and applies to, only its variables (with its own learning
    rate, schedule, state and step counter). The `MultiOptimizer` itself has no learning rate:
    reading or setting `learning_rate` raises; use the inner `optimizers` instead.

    Args:
        optimizer_map: An `OptimizerMap`, or a callable taking a variable and returning its
            optimizer (the same instance for variables that share an optimizer).
        loss_scale_factor: Float or `None`; overrides the inner optimizers' own.
        name: The name of the optimizer.

    Example:

    >>> optimizer = lamina.optimizers.MultiOptimizer(
    ...     lamina.optimizers.OptimizerMap(
    ...         lamina.optimizers.SGD(), {"encoder/.*": lamina.optimizers.Adam()}
    ...     )
    ... )
    >>> model.compile(optimizer=optimizer, loss="mse")
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if not callable(optimizer_map):
            raise TypeError(
                "Argument `optimizer_map` must be an OptimizerMap or a callable returning the "
                f"optimizer of a variable. Received: {optimizer_map!r}"
            )
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers = []
        known = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for opt in known + ([default] if default is not None else []):
            if not any(opt is o for o in self._inner_optimizers):
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._var_to_optimizer_index = {
            id(v): i for i, opt in enumerate(self._inner_optimizers) for v in opt._trainable_variables
        }

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        self._var_to_optimizer_index = {}
        assigned = [[] for _ in self._inner_optimizers]
        for variable in var_list:
            opt = self._optimizer_map(variable)
            if not isinstance(opt, Optimizer):
                raise ValueError(f"Optimizer for variable {variable.path} is not an Optimizer instance: {opt!r}")
            _refuse_wrappers(opt, "The optimizer of a variable in a MultiOptimizer")
            index = next((i for i, o in enumerate(self._inner_optimizers) if o is opt), None)
            if index is None:
                opt.loss_scale_factor = self.loss_scale_factor
                self._inner_optimizers.append(opt)
                assigned.append([])
                index = len(self._inner_optimizers) - 1
            self._var_to_optimizer_index[id(variable)] = index
            assigned[index].append(variable)
        for opt, variables in zip(self._inner_optimizers, assigned):
            if variables:
                opt.build(variables)
        super().build(var_list)

    @property
    def optimizers(self):
        """The inner optimizers, in the order their variables are saved."""
        return self._inner_optimizers

    @property
    def variables(self):
        """This optimizer's own counter and rate, then every inner optimizer's variables."""
        variables = self._variables[:]
        for opt in self._inner_optimizers:
            variables.extend(opt.variables)
        return variables

    @property
    def learning_rate(self):
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on the "
            "individual sub-optimizers instead."
        )

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError(
            "Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
            "individual sub-optimizers instead."
        )

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for opt in self.__dict__.get("_inner_optimizers", ()):
            opt.loss_scale_factor = value

    @property
    def iterations(self):
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built "
                    "on a list of variables. Call `optimizer.build(trainable_variables)` first."
                )
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if self.gradient_reducer is not None:
            grads = list(self.gradient_reducer(grads, trainable_variables))
        if not self.built:
            self.build(trainable_variables)
        if len(grads) != len(self._trainable_variables_indices):
            raise ValueError(
                "Gradients must match trainable variables one-to-one. Received "
                f"{len(grads)} gradients and {len(self._trainable_variables_indices)} variables."
            )
        per_optimizer = [([], []) for _ in self._inner_optimizers]
        for grad, variable in zip(grads, trainable_variables):
            index = self._var_to_optimizer_index.get(id(variable))
            if index is None:
                raise ValueError(
                    f"Unknown variable: {variable.path}. This optimizer can only be called for the "
                    "variables it was originally built with."
                )
            per_optimizer[index][0].append(grad)
            per_optimizer[index][1].append(variable)
        for opt, (sub_grads, sub_vars) in zip(self._inner_optimizers, per_optimizer):
            if sub_vars:
                opt.apply(sub_grads, sub_vars)
        self._iterations.data.add_(1)

    def finalize_variable_values(self, var_list):
        per_optimizer = [[] for _ in self._inner_optimizers]
        for variable in var_list:
            per_optimizer[self._var_to_optimizer_index[id(variable)]].append(variable)
        for opt, variables in zip(self._inner_optimizers, per_optimizer):
            if variables:
                opt.finalize_variable_values(variables)

    def set_weights(self, weights):
        self._require_built_for_set_weights()
        weights = list(weights)
        if len(weights) != len(self.variables):
            raise ValueError(
                f"MultiOptimizer '{self.name}' has {len(self.variables)} variables; received "
                f"{len(weights)} weights."
            )
        own = len(self._variables)
        for variable, weight in zip(self._variables, weights[:own]):
            variable.assign(weight)
        start = own
        for opt in self._inner_optimizers:
            count = len(opt.variables)
            if count:
                opt.set_weights(weights[start:start + count])
                start += count

    def save_own_variables(self, store):
        for i, variable in enumerate(self.variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        variables = self.variables
        if len(store.keys()) != len(variables):
            return super().load_own_variables(store)
        for i, variable in enumerate(variables):
            variable.assign(store[str(i)])

    def get_config(self):
        return {
            "optimizer_map": serialization_lib.serialize_keras_object(self._optimizer_map),
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer_map"] = serialization_lib.deserialize_keras_object(
            config["optimizer_map"], custom_objects=custom_objects
        )
        return cls(**config)
