"""Adafactor: Adam-like steps with factored second moments (sublinear memory)."""

import torch

from lamina.optimizers.base_optimizer import Optimizer
from lamina.saving import object_registration


def _rms(x):
    return torch.sqrt(torch.mean(torch.square(x)))


@object_registration.register_builtin("keras.optimizers")
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018): second moments stored as row and column averages.

    For a variable of rank >= 2 the second moment of its last two axes is kept as a row slot ``r``
    (shape ``w.shape[:-1]``) and a column slot ``c`` (shape ``w.shape[:-2] + w.shape[-1:]``), and
    rebuilt as their normalized outer product; smaller variables keep a full moving average. With
    ``t`` the 1-based step::

        rho = min(learning_rate, 1 / sqrt(t))
        alpha = max(epsilon_2, rms(w)) * rho
        beta_2 = 1 - t ** beta_2_decay
        r = beta_2 * r + (1 - beta_2) * mean(g**2 + epsilon_1, axis=-1)
        c = beta_2 * c + (1 - beta_2) * mean(g**2 + epsilon_1, axis=-2)
        v = (r / mean(r, axis=-1))[..., None] * c[..., None, :]
        u = g / sqrt(v)
        w = w - alpha * u / max(1, rms(u) / clip_threshold)

    The rule is per variable (its shape decides the factoring).

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        beta_2_decay: Float, the decay exponent of the second-moment rate.
        epsilon_1: Small float added to the squared gradient.
        epsilon_2: Small float, the lower bound of the relative step scale.
        clip_threshold: Float, the threshold of the update's RMS clipping.
        relative_step: Whether to cap the learning rate by ``1 / sqrt(t)``.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name: See
            `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.Adafactor(learning_rate=0.01)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
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
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        for var in var_list:
            shape = tuple(var.shape)
            overwrite = getattr(var, "overwrite_with_gradient", False)
            if len(shape) < 2:
                # Unfactored variables still get placeholder slots, so the variable order (and
                # saved files) match Keras's.
                self._r.append(self.add_variable((), dtype="int32", name=var.name))
                self._c.append(self.add_variable((), dtype="int32", name=var.name))
            elif overwrite:
                self._r.append(None)
                self._c.append(None)
            else:
                self._r.append(self._add_like(var, shape[:-1]))
                self._c.append(self._add_like(var, shape[:-2] + shape[-1:]))
            self._v.append(
                None if overwrite else self.add_variable_from_reference(var, name="velocity")
            )

    def _add_like(self, reference, shape):
        variable = self.add_variable(shape, dtype=reference.dtype, name=reference.name)
        if variable.device != reference.device:
            variable.data = variable.data.to(reference.device)
        return variable

    def update_step(self, gradient, variable, learning_rate):
        lr = learning_rate.to(device=variable.device, dtype=variable.dtype)
        step = (self.iterations + 1).to(variable.dtype)
        index = self._get_variable_index(variable)
        r, c, v = self._r[index], self._c[index], self._v[index]
        # Keras caps the rate by 1/sqrt(t) whether or not `relative_step` is set.
        rho = torch.minimum(lr, 1 / torch.sqrt(step))
        alpha = torch.clamp(_rms(variable), min=self.epsilon_2) * rho
        squared = torch.square(gradient) + self.epsilon_1
        beta_2 = 1 - torch.pow(step, self.beta_2_decay)
        if variable.dim() >= 2:
            r.copy_(beta_2 * r + (1 - beta_2) * torch.mean(squared, dim=-1))
            c.copy_(beta_2 * c + (1 - beta_2) * torch.mean(squared, dim=-2))
            v.copy_((r / torch.mean(r, dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        else:
            v.copy_(beta_2 * v + (1 - beta_2) * squared)
        u = gradient / torch.sqrt(v)
        u = u / torch.clamp(_rms(u) / self.clip_threshold, min=1.0)
        variable.sub_(alpha * u)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step,
            }
        )
        return config
