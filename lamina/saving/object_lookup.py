"""The ``get`` / ``serialize`` / ``deserialize`` functions shared by the object modules
(initializers, regularizers, constraints, losses, metrics, optimizers).

Keras resolves names two ways, and each module keeps the way Keras uses for it:
``lookup_functions`` (initializers, regularizers, constraints) deserializes a name like a config,
so registered custom objects resolve too; ``name_getter`` (losses, metrics) looks names up in the
module's own table only.
"""

from lamina.saving import serialization_lib


def serialize(obj):
    """Return the Keras 3 config dict of ``obj`` (``None`` and strings pass through)."""
    return serialization_lib.serialize_keras_object(obj)


def deserializer(objects):
    """Build ``deserialize(config, custom_objects=None)`` resolving names against ``objects``."""

    def deserialize(config, custom_objects=None):
        """Build an object from a config dict (Keras 3 or legacy form) or a name; a bare class
        name gives an instance with default arguments."""
        obj = serialization_lib.deserialize_keras_object(
            config, module_objects=objects, custom_objects=custom_objects
        )
        return obj() if isinstance(obj, type) else obj

    return deserialize


def valid_names(objects):
    """The public names of ``objects`` as one sorted, comma-separated string (for error messages)."""
    return ", ".join(sorted(n for n in objects if not n.startswith("_")))


def name_getter(kind, objects, deserialize):
    """Build ``get(identifier)`` as Keras's losses and metrics define it.

    A name is looked up in ``objects`` only, a dict goes through ``deserialize``, a class is
    instantiated with its defaults, and any other callable is returned as is.
    """

    def get(identifier):
        if identifier is None:
            return None
        if isinstance(identifier, dict):
            obj = deserialize(identifier)
        elif isinstance(identifier, str):
            obj = objects.get(identifier)
        else:
            obj = identifier
        if isinstance(obj, type):
            obj = obj()
        if callable(obj):
            return obj
        if isinstance(identifier, str):
            raise ValueError(
                f"Could not interpret {kind} identifier: {identifier!r}. Valid {kind} names: "
                f"{valid_names(objects)}."
            )
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")

    get.__doc__ = (
        f"Resolve ``identifier`` to a {kind}: ``None``, a name, a config dict, a class "
        "(instantiated with its defaults), an instance or a function.\n\n"
        f"    Raises:\n        ValueError: If ``identifier`` cannot be interpreted as a {kind}.\n"
    )
    return get


def lookup_functions(kind, objects, base_class):
    """Build ``(get, serialize, deserialize)`` for objects of ``kind`` (e.g. ``"constraint"``).

    Args:
        kind: Name used in error messages.
        objects: Dict of name -> class or function resolvable by name (aliases included).
        base_class: Classes deriving from it are instantiated with default arguments by ``get``.
    """
    deserialize = deserializer(objects)

    def get(identifier):
        """Resolve ``None``, an instance, a class, a callable, a name or a config dict."""
        if identifier is None:
            return None
        if isinstance(identifier, (str, dict)):
            try:
                return deserialize(identifier)
            except (ValueError, TypeError) as e:
                raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}. {e}") from e
        if isinstance(identifier, type) and issubclass(identifier, base_class):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")

    return get, serialize, deserialize
