"""AdamW: Adam with decoupled weight decay."""

from lamina.optimizers.adam import Adam
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter).

    Before each Adam update, every variable not excluded with `exclude_from_weight_decay` is
    shrunk: ``w = w - w * weight_decay * learning_rate``. The decay does not go through the moment
    estimates, unlike an L2 penalty added to the loss.

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        weight_decay: Float (required), the decay rate. Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: See `Adam`.
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name: See `Optimizer`.

    Example:

    >>> optimizer = lamina.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-2)
    >>> optimizer.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
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
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
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
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
