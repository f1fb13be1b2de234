"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

import torch

from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Adadelta(MultiTensorOptimizer):
    """Adadelta: the update is scaled by the ratio of the RMS of past updates to that of gradients.

    ::

        accumulated_grad = rho * accumulated_grad + (1 - rho) * g**2
        delta = -sqrt(accumulated_delta_var + epsilon) * g / sqrt(accumulated_grad + epsilon)
        accumulated_delta_var = rho * accumulated_delta_var + (1 - rho) * delta**2
        w = w + learning_rate * delta

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001 (the original
            method uses 1.0).
        rho: Float, the decay rate of both averages.
        epsilon: Small float added inside the square roots.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Adadelta(learning_rate=1.0, rho=0.95)
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.95,
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
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"]
        )

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        rho = self.rho
        accumulated_grads = self._gather(self._accumulated_grads, variables)
        accumulated_deltas = self._gather(self._accumulated_delta_vars, variables)
        torch._foreach_mul_(accumulated_grads, rho)
        torch._foreach_addcmul_(accumulated_grads, grads, grads, value=1 - rho)
        delta = torch._foreach_add(accumulated_deltas, self.epsilon)
        torch._foreach_sqrt_(delta)
        torch._foreach_mul_(delta, grads)
        grad_rms = torch._foreach_add(accumulated_grads, self.epsilon)
        torch._foreach_sqrt_(grad_rms)
        torch._foreach_div_(delta, grad_rms)
        torch._foreach_neg_(delta)
        torch._foreach_mul_(accumulated_deltas, rho)
        torch._foreach_addcmul_(accumulated_deltas, delta, delta, value=1 - rho)
        torch._foreach_mul_(delta, lr)
        torch._foreach_add_(variables, delta)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
