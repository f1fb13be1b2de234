"""Schedule-Free AdamW: averaging instead of a learning-rate schedule."""

import torch

from lamina.optimizers._multi_tensor import (
    MultiTensorOptimizer,
    cast_scalar,
    complement_in_dtype,
)
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class ScheduleFreeAdamW(MultiTensorOptimizer):
    """Schedule-Free AdamW (Defazio et al., 2024).

    The optimizer keeps two sequences per variable: ``z`` (stored in the ``momentum`` slot), where
    the Adam-normalized gradient steps land, and their running average ``x``. The model variable
    holds the interpolation ``y = (1 - beta_1) * z + beta_1 * x``, where the gradients are taken::

        v = beta_2 * v + (1 - beta_2) * g**2
        z = z - lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)
        x = (1 - 1/t) * x + (1/t) * z
        y = (1 - beta_1) * z + beta_1 * x

    ``x`` is not stored: it is recovered from ``y`` and the previous ``z``. No learning-rate
    schedule is needed; `warmup_steps` ramps the rate linearly over the first steps.

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.0025.
        beta_1: Float, the interpolation between ``z`` and ``x``. Defaults to 0.9.
        beta_2: Float, the decay rate of the second moment. Defaults to 0.999.
        epsilon: Small float added to the denominator. Defaults to 1e-8.
        warmup_steps: Int, the number of steps over which the rate grows linearly from
            ``learning_rate / warmup_steps`` to `learning_rate`. Defaults to 0 (no warmup).
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.ScheduleFreeAdamW(learning_rate=0.0025, warmup_steps=100)
    >>> model.compile(optimizer=optimizer, loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
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
            name=name,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            **kwargs,
        )
        if warmup_steps is None or int(warmup_steps) != warmup_steps or warmup_steps < 0:
            raise ValueError(
                f"Argument `warmup_steps` must be an integer >= 0. Received: "
                f"warmup_steps={warmup_steps}"
            )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        # z starts at the initial weights, so that y = x = z on the first step.
        with torch.no_grad():
            for momentum, variable in zip(self._momentums, var_list):
                if momentum is not None:
                    momentum.copy_(variable)

    def _update_many(self, grads, variables, learning_rate):
        like = variables[0]
        lr = cast_scalar(learning_rate, like)
        step = self._local_step(like)
        if self.warmup_steps > 0:
            lr = lr * torch.clamp(step / float(self.warmup_steps), max=1.0)
        beta_1 = torch.tensor(self.beta_1, dtype=like.dtype).item()
        one_minus_beta_1 = complement_in_dtype(self.beta_1, like)
        one_minus_beta_2 = complement_in_dtype(self.beta_2, like)
        beta_2 = torch.tensor(self.beta_2, dtype=like.dtype, device=like.device)
        bias_correction_2 = 1.0 - torch.pow(beta_2, step)
        z = self._gather(self._momentums, variables)
        v = self._gather(self._velocities, variables)
        z_old = [t.clone() for t in z]
        squares = torch._foreach_mul(grads, grads)
        torch._foreach_add_(v, torch._foreach_mul(torch._foreach_sub(squares, v), one_minus_beta_2))
        denominator = torch._foreach_div(v, bias_correction_2)
        torch._foreach_sqrt_(denominator)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_sub_(z, torch._foreach_div(torch._foreach_mul(grads, lr), denominator))
        weight = 1.0 / step
        # x_old from y_old = (1 - beta_1) * z_old + beta_1 * x_old.
        x = torch._foreach_sub(variables, torch._foreach_mul(z_old, one_minus_beta_1))
        torch._foreach_div_(x, beta_1)
        torch._foreach_mul_(x, 1.0 - weight)
        torch._foreach_add_(x, torch._foreach_mul(z, weight))
        torch._foreach_mul_(x, beta_1)
        torch._foreach_add_(x, torch._foreach_mul(z, one_minus_beta_1))
        torch._foreach_copy_(variables, x)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps,
            }
        )
        return config
