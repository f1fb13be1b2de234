"""``SwapEMAWeights``: evaluate (and optionally checkpoint) with the optimizer's EMA weights."""

import torch

from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.callbacks")
class SwapEMAWeights(Callback):
    """Swap the model weights with the optimizer's moving averages around evaluation.

    With an optimizer made with ``use_ema=True``, the weights' exponential moving average
    ("Polyak averaging") often evaluates better than the weights themselves. This callback puts
    the averages into the model before evaluation or prediction and the training weights back
    afterwards. The swap is in place (no extra copy of the model is kept); do not modify the
    weights or the averages in other callbacks meanwhile.

    Args:
        swap_on_epoch: Also swap at the end of each epoch (and back at the start of the next),
            so that epoch-end callbacks such as `ModelCheckpoint` see the averaged weights; after
            the last epoch the model keeps them. Defaults to `False`.

    Example:

    >>> model.compile(optimizer=lamina.optimizers.SGD(use_ema=True), loss="mse")
    >>> model.fit(x, y, validation_data=(x_val, y_val), callbacks=[SwapEMAWeights()])
    >>> model.fit(x, y, callbacks=[SwapEMAWeights(swap_on_epoch=True), ModelCheckpoint(path)])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _ema_optimizers(self):
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        inner = getattr(optimizer, "optimizers", None)
        if inner is None:
            if not getattr(optimizer, "use_ema", False) or not hasattr(optimizer, "_model_variables_moving_average"):
                raise ValueError(
                    "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                    f"Received: use_ema={getattr(optimizer, 'use_ema', None)}"
                )
            return [optimizer]
        with_ema = [opt for opt in inner if getattr(opt, "use_ema", False)]
        if not with_ema:
            raise ValueError(
                "SwapEMAWeights must be used when at least one inner optimizer has `use_ema=True` "
                "set. Received a MultiOptimizer with all inner optimizers having `use_ema=False`."
            )
        for opt in with_ema:
            if not hasattr(opt, "_model_variables_moving_average"):
                raise ValueError(
                    "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer, and "
                    "after the optimizer is built (the first training step builds it)."
                )
        return with_ema

    @staticmethod
    def _pairs(optimizer):
        return [
            (variable, average)
            for variable, average in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)
            if average is not None
        ]

    def _swap_variables(self):
        with torch.no_grad():
            for optimizer in self._ema_optimizers():
                for variable, average in self._pairs(optimizer):
                    held = variable.detach().clone()
                    variable.copy_(average)
                    average.copy_(held)

    def _finalize_ema_values(self):
        # The model keeps the averages: make the stored averages equal them too, so that the
        # end-of-training overwrite (`finalize_variable_values`) leaves the model as it is.
        with torch.no_grad():
            for optimizer in self._ema_optimizers():
                for variable, average in self._pairs(optimizer):
                    average.copy_(variable)

    def _swap_in(self):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def _swap_out(self):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()
