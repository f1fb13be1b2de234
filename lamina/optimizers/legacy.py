"""``keras.optimizers.legacy``: the Keras 2 optimizers that old code names.

Keras 3 keeps these names only to raise an ``ImportError``; Lamina runs Keras 2 code unchanged, so
here they are real optimizers with the Keras 2 (``tf.keras`` ``OptimizerV2``) behaviour:

- ``lr`` is accepted as the old spelling of ``learning_rate``;
- ``decay`` applies Keras 2's time-based decay, ``lr / (1 + decay * iterations)``;
- the update rules are Keras 2's: the same as Keras 3 for ``SGD``, ``Adam`` and ``Ftrl``, while
  ``Adagrad`` and momentum-free ``RMSprop`` add ``epsilon`` after the square root
  (``g / (sqrt(acc) + epsilon)``), where Keras 3 adds it under the root.

Example:

>>> optimizer = lamina.optimizers.legacy.Adam(lr=1e-3, decay=1e-4)
>>> model.compile(optimizer=optimizer, loss="mse")
"""

import torch

from lamina.optimizers import adagrad, adam, ftrl, rmsprop, sgd
from lamina.optimizers._multi_tensor import cast_scalar
from lamina.optimizers.base_optimizer import Optimizer, time_decayed
from lamina.saving import object_registration

__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]

_MODULE = "keras.optimizers.legacy"


class _Keras2Arguments:
    """``lr`` and ``decay`` as Keras 2 optimizers take them; mixed in before the Keras 3 class."""

    _default_learning_rate = 0.001

    def __init__(self, learning_rate=None, *args, lr=None, decay=0.0, **kwargs):
        if lr is not None and learning_rate is not None:
            raise ValueError(
                "Pass the learning rate once: `learning_rate` or its old name `lr`. Received: "
                f"learning_rate={learning_rate}, lr={lr}"
            )
        rate = lr if lr is not None else learning_rate
        if rate is None:
            rate = self._default_learning_rate
        if isinstance(rate, int) and not isinstance(rate, bool):
            rate = float(rate)
        decay = 0.0 if decay is None else decay
        self._keras2_learning_rate = rate
        rate = time_decayed(rate, decay)
        self.decay = float(decay)
        super().__init__(rate, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        if self.decay and isinstance(self._keras2_learning_rate, float):
            config["learning_rate"] = self._keras2_learning_rate
        config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "lr" in config and "learning_rate" not in config:
            config["learning_rate"] = config.pop("lr")
        return super().from_config(config, custom_objects=custom_objects)


@object_registration.register_builtin(_MODULE)
class SGD(_Keras2Arguments, sgd.SGD):
    """Keras 2's SGD: ``SGD(learning_rate=0.01, momentum=0.0, nesterov=False, lr=None, decay=0.0)``.

    The update rule is Keras 3's `lamina.optimizers.SGD`; see the module docstring for
    ``lr`` and ``decay``.
    """

    _default_learning_rate = 0.01


@object_registration.register_builtin(_MODULE)
class Adam(_Keras2Arguments, adam.Adam):
    """Keras 2's Adam (``lr``, ``decay``); the update rule is `lamina.optimizers.Adam`'s."""


@object_registration.register_builtin(_MODULE)
class Ftrl(_Keras2Arguments, ftrl.Ftrl):
    """Keras 2's Ftrl (``lr``, ``decay``); the update rule is `lamina.optimizers.Ftrl`'s."""


@object_registration.register_builtin(_MODULE)
class Adagrad(_Keras2Arguments, adagrad.Adagrad):
    """Keras 2's Adagrad: ``w -= lr * g / (sqrt(accumulator) + epsilon)``.

    Args: as `lamina.optimizers.Adagrad`, plus ``lr`` and ``decay`` (module docstring).
    """

    def _update_many(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        accumulators = self._gather(self._accumulators, variables)
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominator = torch._foreach_sqrt(accumulators)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_sub_(variables, torch._foreach_div(torch._foreach_mul(grads, lr), denominator))


@object_registration.register_builtin(_MODULE)
class RMSprop(_Keras2Arguments, rmsprop.RMSprop):
    """Keras 2's RMSprop.

    Without momentum, ``w -= lr * g / (sqrt(ms) + epsilon)`` (``ms - mg**2`` under the root when
    centered); with momentum Keras 2 ran TensorFlow's fused kernel, which puts epsilon under the
    root as Keras 3 does: ``mom = momentum * mom + lr * g / sqrt(ms + epsilon)``.

    Args: as `lamina.optimizers.RMSprop`, plus ``lr`` and ``decay`` (module docstring).
    """

    def _update_many(self, grads, variables, learning_rate):
        if self.momentum > 0:
            super()._update_many(grads, variables, learning_rate)
            return
        lr = cast_scalar(learning_rate, variables[0])
        rho = self.rho
        velocities = self._gather(self._velocities, variables)
        torch._foreach_mul_(velocities, rho)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - rho)
        if self.centered:
            averages = self._gather(self._average_gradients, variables)
            torch._foreach_mul_(averages, rho)
            torch._foreach_add_(averages, grads, alpha=1 - rho)
            denominator = torch._foreach_addcmul(velocities, averages, averages, value=-1)
            torch._foreach_sqrt_(denominator)
        else:
            denominator = torch._foreach_sqrt(velocities)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_sub_(variables, torch._foreach_div(torch._foreach_mul(grads, lr), denominator))
