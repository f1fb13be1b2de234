"""``LambdaCallback``: a callback built from plain functions."""

from lamina.callbacks.callback import Callback
from lamina.saving.object_registration import register_builtin

_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


@register_builtin("keras.callbacks")
class LambdaCallback(Callback):
    """A callback whose hooks are the functions passed in.

    Each function has the signature of the hook it replaces: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``. Any other hook of
    `Callback` (``on_batch_end``, ``on_test_begin``, ``on_predict_batch_end``, ...) can be given
    as a keyword argument too.

    Args:
        on_epoch_begin: Called at the beginning of every epoch.
        on_epoch_end: Called at the end of every epoch.
        on_train_begin: Called when training starts.
        on_train_end: Called when training ends.
        on_train_batch_begin: Called before every training batch.
        on_train_batch_end: Called after every training batch.
        **kwargs: Other hooks, by name.

    Example:

    >>> print_batch = lamina.callbacks.LambdaCallback(
    ...     on_train_batch_begin=lambda batch, logs: print(batch))
    >>> model.fit(x, y, callbacks=[print_batch])
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(
                f"LambdaCallback got unexpected keyword argument(s) {unknown}. Allowed hooks: "
                f"{list(_HOOKS)}"
            )
        hooks = dict(
            kwargs,
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
        )
        for name, fn in hooks.items():
            if fn is not None:
                # An instance attribute shadows the no-op method of the class.
                setattr(self, name, fn)
