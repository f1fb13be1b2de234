"""Lion: sign-based momentum updates."""

import torch

from lamina.optimizers._multi_tensor import (
    MultiTensorOptimizer,
    cast_scalar,
    complement_in_dtype,
)
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Lion(MultiTensorOptimizer):
    """Lion (EvoLved Sign Momentum): every coordinate moves by exactly the learning rate.

    ::

        w = w - learning_rate * sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g

    As the steps have unit size per coordinate, Lion usually wants a learning rate 3-10 times
    smaller than AdamW's.

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        beta_1: Float in ``(0, 1]``, the interpolation used for the update direction.
        beta_2: Float, the decay rate of the momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Lion(learning_rate=1e-4)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.99,
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
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        m = self._gather(self._momentums, variables)
        direction = torch._foreach_mul(m, self.beta_1)
        one_minus_beta_1 = complement_in_dtype(self.beta_1, variables[0])
        torch._foreach_add_(direction, grads, alpha=one_minus_beta_1)
        torch._foreach_sign_(direction)
        torch._foreach_mul_(direction, lr)
        torch._foreach_sub_(variables, direction)
        torch._foreach_mul_(m, self.beta_2)
        one_minus_beta_2 = complement_in_dtype(self.beta_2, variables[0])
        torch._foreach_add_(m, grads, alpha=one_minus_beta_2)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
