"""Nadam: Adam with Nesterov momentum."""

import torch

from lamina.backend import config as backend_config
from lamina.optimizers._multi_tensor import (
    MultiTensorOptimizer,
    cast_scalar,
    complement_in_dtype,
)
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Nadam(MultiTensorOptimizer):
    """Nadam: Adam whose first moment looks one step ahead (Nesterov momentum, Dozat 2016).

    With ``t`` the 1-based step, ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)`` and ``prod_t`` the product
    of ``mu_1 ... mu_t`` (kept in a scalar variable)::

        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        m_hat = mu_{t+1} * m / (1 - prod_t * mu_{t+1}) + (1 - mu_t) * g / (1 - prod_t)
        v_hat = v / (1 - beta_2**t)
        w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        beta_1: Float, decay rate of the first-moment estimate.
        beta_2: Float, decay rate of the second-moment estimate.
        epsilon: Small float for numerical stability.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Nadam(learning_rate=0.002)
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
        dtype = var_list[0].dtype if var_list else backend_config.floatx()
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        self._u_product = self.add_variable(shape=(), initializer="ones", dtype=dtype)
        if var_list and self._u_product.device != var_list[0].device:
            self._u_product.data = self._u_product.data.to(var_list[0].device)

    def _mu(self, step):
        return self.beta_1 * (1.0 - 0.5 * torch.pow(0.96, step))

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # The running product advances once per step, before any variable is updated.
        self._u_product.mul_(self._mu(self._local_step(self._u_product)))
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        step = self._local_step(variables[0])
        mu_t, mu_next = self._mu(step), self._mu(step + 1)
        product = cast_scalar(self._u_product.detach(), variables[0])
        momentum_factor = mu_next / (1 - product * mu_next)
        gradient_factor = (1 - mu_t) / (1 - product)
        m = self._gather(self._momentums, variables)
        v = self._gather(self._velocities, variables)
        torch._foreach_lerp_(m, grads, complement_in_dtype(self.beta_1, variables[0]))
        torch._foreach_lerp_(
            v, torch._foreach_mul(grads, grads), complement_in_dtype(self.beta_2, variables[0])
        )
        m_hat = torch._foreach_mul(m, momentum_factor)
        torch._foreach_add_(m_hat, torch._foreach_mul(grads, gradient_factor))
        denominator = torch._foreach_div(v, 1 - torch.pow(self.beta_2, step))
        torch._foreach_sqrt_(denominator)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_mul_(m_hat, lr)
        torch._foreach_div_(m_hat, denominator)
        torch._foreach_sub_(variables, m_hat)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
