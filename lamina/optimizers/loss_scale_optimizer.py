"""``LossScaleOptimizer``: dynamic loss scaling for ``"mixed_float16"`` training.

``compile`` wraps the optimizer in it when the model's dtype policy is ``"mixed_float16"`` (and
``auto_scale_loss=True``), as Keras does.
"""

import torch

from lamina.optimizers.base_optimizer import Optimizer
from lamina.saving import object_registration, serialization_lib


@object_registration.register_builtin("keras.optimizers")
class LossScaleOptimizer(Optimizer):
    """Wraps an optimizer and scales the loss so that float16 gradients do not underflow.

    The training step multiplies the loss by the current scale (``scale_loss``) before computing
    gradients; ``apply`` divides the gradients by it and then:

    - if every gradient is finite, the inner optimizer updates the variables, and after
      ``dynamic_growth_steps`` such steps in a row the scale doubles;
    - otherwise the step is skipped (variables and optimizer state are left unchanged) and the
      scale is halved.

    The decision stays on the device: the update always runs and is undone by a mask when a
    gradient was not finite, so the training loop never waits for the host.

    Args:
        inner_optimizer: The optimizer to wrap.
        initial_scale: Float, the starting loss scale.
        dynamic_growth_steps: Int, number of finite steps after which the scale doubles.
        name: Name of the optimizer.

    Example:

    >>> optimizer = LossScaleOptimizer(lamina.optimizers.SGD(0.1))
    >>> optimizer.scale_loss(torch.tensor(1.0))
    tensor(32768.)
    """

    def __init__(self, inner_optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000, name=None,
                 **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                "`loss_scale_factor` directly on the `inner_optimizer`."
            )
        defaults = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                    "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                    "ema_overwrite_frequency": None, "loss_scale_factor": None,
                    "gradient_accumulation_steps": None}
        for arg, default in defaults.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(
                    f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                    "`inner_optimizer`."
                )
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError(
                "`inner_optimizer` must be an Optimizer instance. Received: "
                f"inner_optimizer={inner_optimizer!r}"
            )
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        # The gradients are unscaled here: the inner optimizer must not unscale them again.
        self.inner_optimizer.loss_scale_factor = None

    def build(self, var_list):
        var_list = list(var_list)
        self.step_counter = self.add_variable(shape=(), initializer="zeros", dtype="int64",
                                              name="step_counter")
        self.dynamic_scale = self.add_variable(shape=(), initializer="zeros", dtype="float32",
                                               name="dynamic_scale")
        self.dynamic_scale.data.fill_(self.initial_scale)
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self):
        return self._variables[:] + self.inner_optimizer.variables

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def scale_loss(self, loss):
        """Multiply the loss by the current scale."""
        scale = self.dynamic_scale if self.built else self.initial_scale
        return loss * scale

    def apply(self, grads, trainable_variables=None):
        """Unscale the gradients and update, or skip the step if one is not finite."""
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built "
                    "on a list of variables. Call `optimizer.build(trainable_variables)` first."
                )
            variables = list(self.inner_optimizer._trainable_variables)
        else:
            variables = list(trainable_variables)
        if self.gradient_reducer is not None:
            # Reduced across processes before the finiteness check, so all skip a step alike.
            grads = list(self.gradient_reducer(grads, variables))
        if not self.built:
            self.build(variables)
        with torch.no_grad():
            present = [g for g in grads if g is not None]
            if not present:
                return
            finite = torch.stack([torch.isfinite(g).all() for g in present]).all()
            scale = self.dynamic_scale.detach()
            unscaled = [
                g if g is None or getattr(v, "overwrite_with_gradient", False) else g / scale
                for g, v in zip(grads, variables)
            ]
            state = self.inner_optimizer.variables + variables
            saved = [s.detach().clone() for s in state]
            self.inner_optimizer.apply(unscaled, trainable_variables)
            for current, old in zip(state, saved):
                current.copy_(torch.where(finite, current, old))
            grow = finite & (self.step_counter == self.dynamic_growth_steps - 1)
            new_scale = torch.where(finite, torch.where(grow, scale * 2.0, scale), scale * 0.5)
            counter = self.step_counter.detach()
            new_counter = torch.where(finite & ~grow, counter + 1, torch.zeros_like(counter))
            self.dynamic_scale.copy_(new_scale)
            self.step_counter.copy_(new_counter)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def save_own_variables(self, store):
        for i, variable in enumerate(self.variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        variables = self.variables
        if len(store.keys()) != len(variables):
            super().load_own_variables(store)
            return
        for i, variable in enumerate(variables):
            variable.assign(store[str(i)])

    def get_config(self):
        return {
            "name": self.name,
            "inner_optimizer": serialization_lib.serialize_keras_object(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = serialization_lib.deserialize_keras_object(
            config.pop("inner_optimizer"), custom_objects=custom_objects
        )
        return cls(inner, **config)
