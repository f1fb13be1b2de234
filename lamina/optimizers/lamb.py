"""Lamb: Adam with a per-variable trust ratio, for large-batch training."""

import torch

from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Lamb(MultiTensorOptimizer):
    """Lamb (Layer-wise Adaptive Moments for Batch training, You et al. 2019).

    Each variable takes the bias-corrected Adam direction, rescaled so that its norm matches the
    norm of the variable (the "trust ratio")::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        update = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
        w = w - learning_rate * (||w|| / ||update||) * update

    The ratio is 1 when either norm is zero.

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        beta_1: Float, the decay rate of the first moment. Defaults to 0.9.
        beta_2: Float, the decay rate of the second moment. Defaults to 0.999.
        epsilon: Small float added to the denominator. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Lamb(learning_rate=1e-3)
    >>> model.compile(optimizer=optimizer, loss="mse")
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
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def _update_many(self, grads, variables, learning_rate):
        like = variables[0]
        lr = cast_scalar(learning_rate, like)
        step = self._local_step(like)
        # Keras rounds the betas to the variable dtype before the powers.
        beta_1 = torch.tensor(self.beta_1, dtype=like.dtype, device=like.device)
        beta_2 = torch.tensor(self.beta_2, dtype=like.dtype, device=like.device)
        bias_correction_1 = 1.0 - torch.pow(beta_1, step)
        bias_correction_2 = 1.0 - torch.pow(beta_2, step)
        m = self._gather(self._momentums, variables)
        v = self._gather(self._velocities, variables)
        torch._foreach_add_(m, torch._foreach_mul(torch._foreach_sub(grads, m), 1 - self.beta_1))
        squares = torch._foreach_mul(grads, grads)
        torch._foreach_add_(v, torch._foreach_mul(torch._foreach_sub(squares, v), 1 - self.beta_2))
        denominator = torch._foreach_div(v, bias_correction_2)
        torch._foreach_sqrt_(denominator)
        torch._foreach_add_(denominator, self.epsilon)
        update = torch._foreach_div(m, bias_correction_1)
        torch._foreach_div_(update, denominator)
        weight_norms = torch.stack(torch._foreach_norm(variables))
        update_norms = torch.stack(torch._foreach_norm(update))
        one = torch.ones_like(weight_norms)
        # Both `where`s are evaluated, so the division must not see a zero norm.
        ratio = torch.where(
            (weight_norms > 0) & (update_norms > 0),
            weight_norms / torch.where(update_norms > 0, update_norms, one),
            one,
        )
        scale = torch.unbind(ratio * lr)
        torch._foreach_mul_(update, scale)
        torch._foreach_sub_(variables, update)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
