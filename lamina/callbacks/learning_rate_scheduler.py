"""``LearningRateScheduler``: set the learning rate from a function of the epoch."""

import inspect

import numpy as np

from lamina.backend.core import convert_to_numpy
from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin
from lamina.utils import io_utils


def _takes_two_arguments(fn):
    """Whether ``fn`` can be called as ``fn(epoch, lr)`` (``None`` when it cannot be told)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(0, 0.0)
    except TypeError:
        return False
    return True


@register_builtin("keras.callbacks")
class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch.

    At the beginning of each epoch ``schedule(epoch, lr)`` is called with the 0-based epoch and
    the current learning rate (a float), and its result becomes the new rate. A ``schedule``
    that takes only the epoch (the Keras 1 form) is called as ``schedule(epoch)``. The rate in
    use is added to the epoch logs as ``"learning_rate"``.

    Args:
        schedule: A function ``(epoch, lr) -> new_lr`` returning a float.
        verbose: ``0`` is silent, ``1`` prints the rate set at each epoch.

    Example:

    >>> def scheduler(epoch, lr):
    ...     return lr if epoch < 10 else lr * float(np.exp(-0.1))
    >>> model.fit(x, y, epochs=15, callbacks=[lamina.callbacks.LearningRateScheduler(scheduler)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def _call_schedule(self, epoch, learning_rate):
        two_arguments = _takes_two_arguments(self.schedule)
        if two_arguments is None:
            try:
                return self.schedule(epoch, learning_rate)
            except TypeError:
                return self.schedule(epoch)
        return self.schedule(epoch, learning_rate) if two_arguments else self.schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        current = float(convert_to_numpy(optimizer.learning_rate))
        learning_rate = self._call_schedule(epoch, current)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate}"
            )
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            io_utils.print_msg(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{learning_rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(convert_to_numpy(self.model.optimizer.learning_rate))
