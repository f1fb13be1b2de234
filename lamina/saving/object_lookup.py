"""The ``get`` / ``serialize`` / ``deserialize`` trio shared by the object modules
(initializers, regularizers, constraints), which resolve identifiers the same way."""

from lamina.saving import serialization_lib


def lookup_functions(kind, objects, base_class):
    """Build ``(get, serialize, deserialize)`` for objects of ``kind`` (e.g. ``"constraint"``).

    Args:
        kind: Name used in error messages.
        objects: Dict of name -> class or function resolvable by name (aliases included).
        base_class: Classes deriving from it are instantiated with default arguments by ``get``.
    """

    def serialize(obj):
        """Return the Keras 3 config dict of ``obj`` (``None`` and strings pass through)."""
        return serialization_lib.serialize_keras_object(obj)

    def deserialize(config, custom_objects=None):
        """Build an object from a config dict (Keras 3 or legacy form) or a name; a bare class
        name gives an instance with default arguments."""
        obj = serialization_lib.deserialize_keras_object(
            config, module_objects=objects, custom_objects=custom_objects
        )
        return obj() if isinstance(obj, type) else obj

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
