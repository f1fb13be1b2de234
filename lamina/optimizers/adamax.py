"""Adamax: Adam with the infinity norm in place of the second moment."""

import torch

from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Adamax(MultiTensorOptimizer):
    """Adamax: a variant of Adam scaled by an exponentially weighted infinity norm.

    With ``t`` the 1-based step::

        m = m + (g - m) * (1 - beta_1)
        u = max(beta_2 * u, abs(g))
        w = w - learning_rate * m / ((1 - beta_1**t) * (u + epsilon))

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        beta_1: Float, decay rate of the first-moment estimate.
        beta_2: Float, decay rate of the infinity norm.
        epsilon: Small float for numerical stability.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Adamax(learning_rate=0.002)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
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
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        correction = 1 - torch.pow(self.beta_1, self._local_step(variables[0]))
        m = self._gather(self._m, variables)
        u = self._gather(self._u, variables)
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominator = torch._foreach_add(u, self.epsilon)
        torch._foreach_mul_(denominator, correction)
        increment = torch._foreach_mul(m, lr)
        torch._foreach_div_(increment, denominator)
        torch._foreach_sub_(variables, increment)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
