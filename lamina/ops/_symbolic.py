"""Recording ops on symbolic tensors, for op modules outside ``lamina.ops``'s wrapped namespace."""

import functools


def holds_keras_tensor(values):
    for v in values:
        if getattr(v, "_is_keras_tensor", False):
            return True
        if isinstance(v, (list, tuple)) and any(getattr(i, "_is_keras_tensor", False) for i in v):
            return True
    return False


def records_keras_op(name):
    """Decorate an op so that a call on symbolic tensors records a Keras operation node.

    The node is the ``keras_op_table`` entry of `name`, which saves and loads like Keras's; the
    layers package is imported only then (ops sit below layers).
    """

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if holds_keras_tensor(args) or holds_keras_tensor(kwargs.values()):
                from lamina.layers.core.tensor_op import apply_tensor_op

                return apply_tensor_op(name, *args, **kwargs)
            return fn(*args, **kwargs)

        return wrapper

    return decorator
