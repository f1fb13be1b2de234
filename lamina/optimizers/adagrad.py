"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

import torch

from lamina import initializers
from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Adagrad(MultiTensorOptimizer):
    """Adagrad: the step of each coordinate shrinks with the sum of its squared gradients.

    ::

        accumulator = accumulator + g**2
        w = w - learning_rate * g / sqrt(accumulator + epsilon)

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        initial_accumulator_value: Float, the starting value of the accumulators (>= 0).
        epsilon: Small float added inside the square root.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.1)
    """

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
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
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator",
            initializer=initializers.Constant(self.initial_accumulator_value),
        )

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        accumulators = self._gather(self._accumulators, variables)
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominator = torch._foreach_add(accumulators, self.epsilon)
        torch._foreach_sqrt_(denominator)
        increment = torch._foreach_mul(grads, lr)
        torch._foreach_div_(increment, denominator)
        torch._foreach_sub_(variables, increment)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
        )
        return config
