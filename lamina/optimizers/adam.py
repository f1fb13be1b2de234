"""Adam: adaptive moment estimation."""

import functools
import math

import torch

from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Adam(MultiTensorOptimizer):
    """Adam: gradient descent scaled by running estimates of the gradient's first two moments.

    With ``t`` the 1-based step::

        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    With `amsgrad`, ``v`` in the last line is replaced by its running maximum. Note that `epsilon`
    is added to ``sqrt(v)`` before the bias correction is applied through ``alpha``
    ("epsilon hat" in the paper).

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        beta_1: Float, decay rate of the first-moment estimate.
        beta_2: Float, decay rate of the second-moment estimate.
        epsilon: Small float for numerical stability.
        amsgrad: Whether to use the AMSGrad variant.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Adam(learning_rate=0.01)
    >>> w = lamina.Variable(initializer=np.ones(2), name="w")
    >>> optimizer.apply([torch.ones(2)], [w])
    >>> w.numpy()  # the first step moves by about learning_rate
    array([0.99, 0.99], dtype=float32)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
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
        # The fused kernel's step count: one host tensor refilled each step (making a new one
        # costs three times as much), never an inference tensor whatever block Adam is made in.
        with torch.inference_mode(False):
            self._fused_step = torch.zeros((), dtype=torch.float32)
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        if _can_fuse(variables[0]):
            self._fused_update(grads, variables, lr)
            return
        step = self._local_step(variables[0])
        bias_correction_1 = 1 - torch.pow(self.beta_1, step)
        alpha = lr * torch.sqrt(1 - torch.pow(self.beta_2, step)) / bias_correction_1
        m = self._gather(self._momentums, variables)
        v = self._gather(self._velocities, variables)
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1 - self.beta_2)
        if self.amsgrad:
            v_hat = self._gather(self._velocity_hats, variables)
            torch._foreach_maximum_(v_hat, v)
            v = v_hat
        # w -= m * alpha / (sqrt(v) + eps), with alpha folded into the denominator so the whole
        # update is one addcdiv.
        denominator = torch._foreach_sqrt(v)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_div_(denominator, -alpha)
        torch._foreach_addcdiv_(variables, m, denominator)

    def _fused_update(self, grads, variables, lr):
        # torch's fused kernel divides by ``sqrt(v) / sqrt(1 - beta_2**t) + eps``; Keras by
        # ``(sqrt(v) + eps) / sqrt(1 - beta_2**t)``. Scaling eps by ``1 / sqrt(1 - beta_2**t)``
        # makes them the same update. The step is read on the host: free on the CPU, which is
        # why the kernel is only used there.
        t = float(self._local_step_value())
        step = self._fused_step
        step.fill_(t)
        # Keras rounds the betas to float32 before taking powers; so do the bias corrections here.
        beta_1, beta_2 = _float32(self.beta_1), _float32(self.beta_2)
        epsilon = self.epsilon / math.sqrt(1.0 - beta_2**t)
        torch._fused_adam_(
            variables,
            grads,
            self._gather(self._momentums, variables),
            self._gather(self._velocities, variables),
            self._gather(self._velocity_hats, variables) if self.amsgrad else [],
            [step] * len(variables),
            lr=lr,
            beta1=beta_1,
            beta2=beta_2,
            weight_decay=0.0,
            eps=epsilon,
            amsgrad=self.amsgrad,
            maximize=False,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsgrad": self.amsgrad,
            }
        )
        return config


_HAS_FUSED_KERNEL = hasattr(torch, "_fused_adam_")


def _can_fuse(variable):
    """Whether torch's fused Adam kernel applies: float32 variables on the CPU."""
    return _HAS_FUSED_KERNEL and variable.dtype == torch.float32 and variable.device.type == "cpu"


@functools.lru_cache(maxsize=32)
def _float32(value):
    return torch.tensor(value, dtype=torch.float32).item()
