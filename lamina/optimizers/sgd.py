"""Stochastic gradient descent, with optional (Nesterov) momentum."""

import torch

from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class SGD(MultiTensorOptimizer):
    """Gradient descent with optional momentum.

    Without momentum: ``w = w - learning_rate * g``. With momentum (one slot ``velocity`` per
    variable, stored as ``"<path>_momentum"``)::

        velocity = momentum * velocity - learning_rate * g
        w = w + velocity                                     # nesterov=False
        w = w + momentum * velocity - learning_rate * g      # nesterov=True

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.01.
        momentum: Float in ``[0, 1]``: how much of the previous step is kept. 0 is plain SGD.
        nesterov: Whether to apply Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    >>> w = lamina.Variable(initializer=np.ones(2), name="w")
    >>> optimizer.apply([torch.ones(2)], [w])
    >>> w.numpy()
    array([0.9, 0.9], dtype=float32)
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
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
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        step = torch._foreach_mul(grads, lr)
        if self.momentum == 0:
            torch._foreach_sub_(variables, step)
            return
        velocities = self._gather(self.momentums, variables)
        torch._foreach_mul_(velocities, self.momentum)
        torch._foreach_sub_(velocities, step)
        if self.nesterov:
            lookahead = torch._foreach_mul(velocities, self.momentum)
            torch._foreach_sub_(lookahead, step)
            torch._foreach_add_(variables, lookahead)
        else:
            torch._foreach_add_(variables, velocities)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
