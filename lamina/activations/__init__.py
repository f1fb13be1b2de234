"""Built-in activation functions, mirroring ``keras.activations``.

Every function takes a tensor-like (torch tensor, numpy array, Python number or list) and returns a
torch tensor. Where a fused ``torch.nn.functional`` kernel computes the same formula as Keras it is
used, since activations run on every forward pass. Functions that produce non-integer results turn
integer inputs into ``floatx()`` first, as Keras does.

Activations can be named by string wherever Keras accepts one (``Dense(64, activation="relu")``);
``get``, ``serialize`` and ``deserialize`` convert between names, configs and functions.
"""

from lamina.activations.activations import (  # noqa: F401 (the public namespace)
    celu,
    elu,
    exponential,
    gelu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    linear,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    swish,
    tanh,
    tanh_shrink,
    threshold,
)
from lamina.saving import object_registration, serialization_lib

_ACTIVATIONS = {
    fn.__name__: fn
    for fn in (
        relu, leaky_relu, relu6, softmax, log_softmax, sigmoid, softplus, softsign, tanh, elu, selu,
        celu, exponential, gelu, silu, hard_sigmoid, hard_silu, linear, mish, glu, hard_tanh,
        log_sigmoid, tanh_shrink, soft_shrink, hard_shrink, threshold, squareplus, sparse_plus,
        sparse_sigmoid, sparsemax,
    )
}
_ACTIVATIONS["swish"] = silu
_ACTIVATIONS["hard_swish"] = hard_silu


def serialize(activation):
    """Return the JSON-friendly form of an activation.

    Built-in activations serialize to their name (aliases to the canonical one: `swish` gives
    `"silu"`). Other functions serialize to a Keras 3 function dict naming the function by its
    registered name (`"package>name"` for functions registered with
    `register_keras_serializable`). Callable objects with `get_config()` serialize to a full config.

    Args:
        activation: The function or callable object to serialize.

    Returns:
        A string or a dict that `deserialize` turns back into the activation.

    Example:

    >>> serialize(relu)
    'relu'
    """
    name = getattr(activation, "__name__", None)
    if name is not None and _ACTIVATIONS.get(name) is activation:
        return name
    if hasattr(activation, "get_config"):
        return serialization_lib.serialize_keras_object(activation)
    if not callable(activation) or not hasattr(activation, "__name__"):
        raise ValueError(
            f"Cannot serialize activation {activation!r}: expected a named function or an object "
            "with `get_config()`. Register custom functions with "
            "`lamina.saving.register_keras_serializable()`."
        )
    return {
        "module": getattr(activation, "__module__", None),
        "class_name": "function",
        "config": object_registration.get_registered_name(activation),
        "registered_name": "function",
    }


def deserialize(config, custom_objects=None):
    """Return the activation function described by ``config``.

    Args:
        config: A name (`"relu"`), or a dict produced by `serialize` (Keras 3 or legacy form).
        custom_objects: Optional dict of name -> user function to resolve names against.

    Returns:
        The activation callable.
    """
    if isinstance(config, str):
        fn = object_registration.get_registered_object(config, custom_objects, _ACTIVATIONS)
        if fn is None:
            raise ValueError(_unknown_message(config))
        return fn
    fn = serialization_lib.deserialize_keras_object(
        config, module_objects=_ACTIVATIONS, custom_objects=custom_objects
    )
    if not callable(fn):
        raise ValueError(f"Could not interpret activation function config: {config!r}")
    return fn


def get(identifier):
    """Return the activation function for ``identifier``.

    Args:
        identifier: `None` (the linear activation), a name such as `"relu"`, a config dict, or a
            callable (returned as is).

    Returns:
        The activation callable.

    Raises:
        ValueError: If `identifier` names no known activation or cannot be interpreted.

    Example:

    >>> get("relu") is relu
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _ACTIVATIONS.get(identifier)
        if fn is None:
            # Names of functions made visible by `custom_object_scope` or registration.
            fn = object_registration.get_registered_object(identifier)
        if fn is None:
            raise ValueError(_unknown_message(identifier))
    elif isinstance(identifier, dict):
        fn = deserialize(identifier)
    else:
        fn = identifier
    if not callable(fn):
        raise ValueError(
            f"Could not interpret activation function identifier: {identifier!r}. Expected `None`, "
            "a string name, a config dict or a callable."
        )
    return fn


def _unknown_message(name):
    return (
        f"Unknown activation function: {name!r}. Expected one of {sorted(_ACTIVATIONS)}, the name "
        "of a function registered with `register_keras_serializable`, or one passed in "
        "`custom_objects`."
    )
