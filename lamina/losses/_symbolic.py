"""Loss and metric functions called on symbolic tensors: recorded as a node of the functional graph.

Keras 2 programs compute losses on the model's tensors while building it
(``binary_crossentropy(inputs, outputs) * 784``, then ``model.add_loss(...)``). Lamina's loss
functions compute with torch directly, so on ``KerasTensor`` arguments they record a
``LossFunctionNode`` instead: a graph operation that names the registered function and its keyword
arguments, and runs the plain function when the graph runs. Shapes and dtypes come from running it
on ``meta`` tensors, as for any layer.
"""

import functools
import inspect

from lamina.backend.naming import unique_name
from lamina.layers.layer import Layer
from lamina.ops._symbolic import holds_keras_tensor
from lamina.saving.object_registration import builtin_objects, register_builtin

# The registries a node may name a function from: never an arbitrary import.
_MODULES = ("keras.losses", "keras.metrics")


def records_function_node(module="keras.losses"):
    """Decorate a loss (or metric) function so that a call on symbolic tensors records a node.

    The function must be registered in `module` under its ``__name__`` (put this decorator below
    ``register_builtin``, so the registered object is the decorated one).

    Args:
        module: The registry the node looks the function up in when it is built or loaded.

    Returns:
        The decorator.
    """
    if module not in _MODULES:
        raise ValueError(f"`module` must be one of {_MODULES}. Received: module={module!r}")

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if holds_keras_tensor(args) or holds_keras_tensor(kwargs.values()):
                return _record(fn, module, args, kwargs)
            return fn(*args, **kwargs)

        # The check is for calls on user code's tensors; `LossFunctionWrapper` (which `Loss.__call__`
        # has already checked) calls the plain function on every batch.
        wrapper._lamina_plain = fn
        return wrapper

    return decorator


def _record(fn, module, args, kwargs):
    params = list(inspect.signature(fn).parameters)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    tensors = [bound.arguments[p] for p in params[:2] if p in bound.arguments]
    arguments = {k: v for k, v in bound.arguments.items() if k not in params[:2]}
    symbolic_arguments = sorted(k for k, v in arguments.items() if holds_keras_tensor([v]))
    if symbolic_arguments:
        raise ValueError(
            f"`{fn.__name__}` records a graph node on symbolic tensors: only `y_true` and `y_pred` "
            f"may be symbolic. Received symbolic arguments {symbolic_arguments}."
        )
    node = LossFunctionNode(fn.__name__, module=module, arguments=arguments, name=unique_name(fn.__name__))
    return node(*tensors)


@register_builtin("keras.layers")
class LossFunctionNode(Layer):
    """Applies a registered loss or metric function (e.g. ``binary_crossentropy``) in a graph.

    Made when such a function is called on symbolic tensors; it saves and loads with Lamina (Keras
    has no such class: Keras records the function's individual operations instead).

    Args:
        function: The registered name of the function, e.g. ``"binary_crossentropy"``.
        module: ``"keras.losses"`` or ``"keras.metrics"``: the registry to look it up in.
        arguments: The function's keyword arguments other than ``y_true`` and ``y_pred`` (e.g.
            ``{"from_logits": True}``).

    Example:

    >>> x = lamina.Input((4,))
    >>> y = lamina.layers.Dense(4, activation="sigmoid")(x)
    >>> lamina.losses.binary_crossentropy(x, y).shape
    (None,)
    """

    _is_op_node = True  # a graph operation, not a layer: left out of `model.layers`, as in Keras

    def __init__(self, function, module="keras.losses", arguments=None, **kwargs):
        # Labels keep their dtype (class ids of sparse losses), as the function call would.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if module not in _MODULES:
            raise ValueError(f"`module` must be one of {_MODULES}. Received: module={module!r}")
        fn = builtin_objects(module).get(function) if isinstance(function, str) else None
        if fn is None or isinstance(fn, type) or not callable(fn):
            raise ValueError(
                f"Unknown function {function!r} in {module!r}: expected the name of a registered "
                "loss or metric function, e.g. 'binary_crossentropy'."
            )
        self.function = function
        self.module = module
        self.arguments = dict(arguments or {})
        self._fn = inspect.unwrap(fn)
        self.built = True

    def call(self, y_true, y_pred):
        return self._fn(y_true, y_pred, **self.arguments)

    def get_config(self):
        config = super().get_config()
        config.update({"function": self.function, "module": self.module, "arguments": dict(self.arguments)})
        return config


def record_loss_object(loss, y_true, y_pred, sample_weight=None):
    """Record ``loss(y_true, y_pred, sample_weight)``, a ``Loss`` object called on symbolic tensors."""
    args = (y_true, y_pred) if sample_weight is None else (y_true, y_pred, sample_weight)
    return LossObjectNode(loss, name=unique_name(loss.name))(*args)


@register_builtin("keras.layers")
class LossObjectNode(Layer):
    """Applies a ``Loss`` object (weighting and reduction included) in a functional graph.

    Made when a loss object is called on symbolic tensors, e.g.
    ``lamina.losses.MeanSquaredError()(inputs, outputs)``; it saves the loss's config and loads
    with Lamina.

    Args:
        loss: A ``Loss`` instance, or its serialized config.
    """

    _is_op_node = True  # a graph operation, not a layer: left out of `model.layers`, as in Keras

    def __init__(self, loss, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if isinstance(loss, dict):
            from lamina.losses import deserialize

            loss = deserialize(loss)
        if not callable(getattr(loss, "call", None)) or not hasattr(loss, "reduction"):
            raise ValueError(f"`loss` must be a `lamina.losses.Loss` instance or its config. Received: {loss!r}")
        self.loss = loss
        self.built = True

    def call(self, y_true, y_pred, sample_weight=None):
        return self.loss(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self):
        from lamina.losses.loss import _serialize

        config = super().get_config()
        config["loss"] = _serialize(self.loss)
        return config
