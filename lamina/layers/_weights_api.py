"""A layer's weights: ``add_weight``, the variable lists Keras reports (``weights``,
``trainable_weights``, ...) in Keras's order, ``get_weights`` / ``set_weights`` and
``count_params``.

A mixin of ``Layer``; the variables themselves are registered on the module (parameters or
buffers) by ``_register_variable``.
"""

import numpy as np
import torch

from lamina.backend.core import convert_to_numpy, standardize_shape
from lamina.backend.dtypes import standardize_dtype
from lamina.backend.name_scoping import current_path, innermost_caller
from lamina.backend.symbolic import any_symbolic
from lamina.backend.variables import Variable, count_scalars
from lamina.distribution import distribution_lib, shard_views
from lamina.layers import _parameter_mirror


def _tracked_trainable(variable):
    # Keras lists a variable with those created trainable even after it is frozen (a LoRA kernel).
    tracked = variable._tracked_trainable
    return variable.trainable if tracked is None else tracked


def _gather_shards_before_call(layer, args):
    if shard_views.views_active() or any_symbolic(args):
        return
    gather_shards(layer._own_variables)


def gather_shards(variables):
    """Give the variables created as shards their whole values (a collective)."""
    for variable in variables:
        record = getattr(variable, "_shard_record", None)
        if record is not None:
            record.gather()


class WeightsAPI:
    """``add_weight`` and the weight lists (mixed into ``Layer``)."""

    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable=True,
        autocast=True,
        regularizer=None,
        constraint=None,
        aggregation="none",
        overwrite_with_gradient=False,
        name=None,
    ):
        """Create a variable owned by this layer.

        Args:
            shape: Shape tuple (defaults to a scalar).
            initializer: Initializer object or name; defaults to ``"glorot_uniform"`` for float
                variables and ``"zeros"`` otherwise.
            dtype: Variable dtype; defaults to the layer's variable dtype.
            trainable: Whether training updates the variable.
            regularizer: Regularizer whose penalty joins ``layer.losses``.
            constraint: Projection applied after each optimizer update.
            name: Variable name (also its key in ``state_dict``).

        Returns:
            The new ``lamina.Variable``.
        """
        from lamina import constraints, initializers, regularizers

        shape = standardize_shape(() if shape is None else shape)
        dtype = standardize_dtype(dtype if dtype is not None else self.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.startswith(("float", "bfloat")) else "zeros"
        init = initializers.get(initializer)
        if init is None:
            raise ValueError(f"Could not interpret initializer: {initializer!r}")
        variable_args = dict(trainable=trainable, autocast=autocast, aggregation=aggregation, name=name)
        variable = None
        sharding = distribution_lib.creation_layout(self._new_variable_path(name), shape)
        if sharding is not None:
            variable = self._create_sharded(init, shape, dtype, sharding, variable_args)
        if variable is None:
            variable = Variable(initializer=init, shape=shape, dtype=dtype, **variable_args)
        variable.requires_grad_(variable.requires_grad and self._trainable)
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        variable._overwrite_with_gradient = overwrite_with_gradient
        self._register_variable(variable)
        return variable

    def _new_variable_path(self, name):
        scope = current_path()
        name = name or "variable"
        if innermost_caller() is self:  # inside this layer's own build scope
            return f"{scope}/{name}"
        return f"{scope}/{self.name}/{name}" if scope else f"{self.name}/{name}"

    def _create_sharded(self, init, shape, dtype, sharding, variable_args):
        # Deferred: torch.distributed.tensor takes seconds to import; only sharding needs it.
        from lamina.distribution import sharded_variables
        from lamina.initializers._local_shard import local_shard

        plan = sharded_variables.creation_plan(*sharding, shape)
        if plan is None:
            return None
        ranges, finish = plan
        value = local_shard(init, shape, dtype, ranges)
        variable = finish(Variable(initializer=value, dtype=dtype, **variable_args))
        if not self.__dict__.get("_gathers_shards"):
            # Called eagerly, the layer computes with whole weights: gathered first (every
            # process calls the layer together). Only layers holding shards take this hook.
            self.__dict__["_gathers_shards"] = True
            self.register_forward_pre_hook(_gather_shards_before_call)
        return variable

    def _register_variable(self, variable):
        key = variable.name
        if self.__dict__.get(key, False) is None:
            # A placeholder such as `self.bias = None` set before the weight exists.
            del self.__dict__[key]
        if key in self._parameters or key in self.__dict__ or key in self._modules or hasattr(type(self), key):
            i = 1
            while f"{key}_{i}" in self._parameters or f"{key}_{i}" in self.__dict__:
                i += 1
            key = f"{key}_{i}"
        variable.path = self._new_variable_path(variable.name)
        self._own_variables.append(variable)
        self.register_parameter(key, variable)
        # Also a plain attribute: normal lookup then finds it without Module.__getattr__. Safe
        # because torch keeps Parameter identity across .to(), load_state_dict and deepcopy, and
        # the mirror follows torch's direct `_parameters` writes (functional_call, torch.export).
        _parameter_mirror.install(self)
        self.__dict__[key] = variable

    def _refresh_paths(self, prefix=None):
        """Recompute ``variable.path`` after the layer joins a model (``model/layer/var``)."""
        prefix = f"{prefix}/{self.name}" if prefix else self.name
        for v in self._own_variables:
            v.path = f"{prefix}/{v.name}"
        for layer in self._direct_layers():
            layer._refresh_paths(prefix)

    @property
    def weights(self):
        """All weights: own (trainable then non-trainable), then those of nested layers."""
        out, seen = [], set()
        for layer in self._flatten_layers(include_self=True):
            own = layer._own_variables
            for v in [v for v in own if _tracked_trainable(v)] + [v for v in own if not _tracked_trainable(v)]:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def variables(self):
        """All state: the weights, and the states of the layers' ``SeedGenerator``s (Keras order)."""
        out, seen = [], set()
        for layer in self._flatten_layers(include_self=True):
            own = layer._own_variables
            states = [g.state for g in layer.__dict__.get("_seed_generators", ())]
            for v in [v for v in own if _tracked_trainable(v)] + [v for v in own if not _tracked_trainable(v)] + states:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        return [v for v in self.weights if v.trainable and v.requires_grad]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    @property
    def non_trainable_variables(self):
        """Non-trainable weights plus seed-generator states."""
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.variables if id(v) not in trainable]

    def get_weights(self):
        """Weights as numpy arrays, in the order of ``layer.weights``."""
        # Copies: arrays sharing memory with CPU weights would change as training goes on.
        return [np.array(convert_to_numpy(v), copy=True) for v in self.weights]

    def set_weights(self, weights):
        """Set weights from numpy arrays, in the order of ``layer.weights``."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' expects {len(params)} weights, but the `weights` list has "
                f"{len(weights)} element(s). Expected shapes: {[tuple(p.shape) for p in params]}"
            )
        for p, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(p.shape):
                raise ValueError(
                    f"Layer '{self.name}' weight '{p.name}' has shape {tuple(p.shape)}, but the "
                    f"provided weight has shape {tuple(w.shape)}."
                )
        for p, w in zip(params, weights):
            p.assign(torch.as_tensor(np.asarray(w)).to(p.dtype))

    def count_params(self):
        """Total number of scalars in the layer's weights."""
        if not self.built and not self._own_variables:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(input_shape)`."
            )
        return count_scalars(self.weights)
