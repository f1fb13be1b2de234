"""FTRL-Proximal: follow the regularized leader, for large sparse linear models."""

import torch

from lamina import initializers
from lamina.optimizers.base_optimizer import Optimizer
from lamina.saving import object_registration


def _check_sign(name, value, negative=False):
    if (value > 0.0) if negative else (value < 0.0):
        kind = "negative" if negative else "positive"
        raise ValueError(f"`{name}` needs to be {kind} or zero. Received: {name}={value}.")


@object_registration.register_builtin("keras.optimizers")
class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013), with L1/L2 and L2-shrinkage regularization.

    With ``p = -learning_rate_power`` and ``l2 = l2_regularization_strength + beta / (2 * lr)``::

        g_shrunk = g + 2 * l2_shrinkage_regularization_strength * w
        new_accumulator = accumulator + g**2
        linear = linear + g_shrunk - (new_accumulator**p - accumulator**p) / lr * w
        quadratic = new_accumulator**p / lr + 2 * l2
        w = (clip(linear, -l1, l1) - linear) / quadratic
        accumulator = new_accumulator

    The rule is per variable (this optimizer is rarely used on large models).

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        learning_rate_power: Float <= 0, how the learning rate decreases during training
            (0 is a fixed rate).
        initial_accumulator_value: Float >= 0, the starting value of the accumulators.
        l1_regularization_strength: Float >= 0.
        l2_regularization_strength: Float >= 0 (stabilization penalty).
        l2_shrinkage_regularization_strength: Float >= 0 (magnitude penalty, applied to the
            gradient).
        beta: Float, the beta of the per-coordinate learning rate (adds ``beta / (2 * lr)`` to L2).
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
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
        _check_sign("initial_accumulator_value", initial_accumulator_value)
        _check_sign("learning_rate_power", learning_rate_power, negative=True)
        _check_sign("l1_regularization_strength", l1_regularization_strength)
        _check_sign("l2_regularization_strength", l2_regularization_strength)
        _check_sign("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list,
            ["accumulator", "linear"],
            initializer=[initializers.Constant(self.initial_accumulator_value), "zeros"],
        )

    def update_step(self, gradient, variable, learning_rate):
        lr = learning_rate.to(device=variable.device, dtype=variable.dtype)
        index = self._get_variable_index(variable)
        accumulator, linear = self._accumulators[index], self._linears[index]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        shrunk_gradient = gradient + 2 * self.l2_shrinkage_regularization_strength * variable
        new_accumulator = accumulator + torch.square(gradient)
        new_scale = torch.pow(new_accumulator, power)
        linear.add_(shrunk_gradient - (new_scale - torch.pow(accumulator, power)) / lr * variable)
        quadratic = new_scale / lr + 2 * l2
        l1 = self.l1_regularization_strength
        variable.copy_((torch.clamp(linear, -l1, l1) - linear) / quadratic)
        accumulator.copy_(new_accumulator)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta,
            }
        )
        return config
