"""The Keras 2 ("legacy") serialization format: ``{"class_name": ..., "config": ...}``.

Unlike the Keras 3 format it records no module and no registered name: a class is found by name in
the custom-object scopes, the registered custom objects, ``custom_objects`` and the
``module_objects`` dict the caller supplies. Functions serialize to their registered name.
"""

import inspect

from lamina.saving import object_registration

# Marks a nested object config so deserialization knows to rebuild it.
_PASSIVE = "__passive_serialization__"


def serialize_keras_object(instance):
    """Serialize ``instance`` into the legacy ``{"class_name", "config"}`` form.

    Args:
        instance: An object with ``get_config()``, a function or class (serialized as its name), or
            ``None``.

    Returns:
        A JSON-compatible dict, a name string, or ``None``.
    """
    instance = inspect.unwrap(instance) if callable(instance) else instance
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:
                serialized = serialize_keras_object(item)
            except ValueError:
                config[key] = item
                continue
            if isinstance(serialized, dict) and not isinstance(item, dict):
                serialized[_PASSIVE] = True
            config[key] = serialized
        return {
            "class_name": object_registration.get_registered_name(type(instance)),
            "config": config,
        }
    if hasattr(instance, "__name__"):
        return object_registration.get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance} because it doesn't implement `get_config()`.")


def _lookup(name, module_objects, custom_objects, printable_module_name):
    obj = object_registration.get_registered_object(name, custom_objects, module_objects)
    if obj is None:
        raise ValueError(
            f"Unknown {printable_module_name}: '{name}'. Please ensure you are using a "
            "`lamina.utils.custom_object_scope` and that this object is included in the scope, "
            "or pass it in `custom_objects`."
        )
    return obj


def deserialize_keras_object(
    identifier, module_objects=None, custom_objects=None, printable_module_name="object"
):
    """Rebuild an object from its legacy serialized form.

    Args:
        identifier: A ``{"class_name", "config"}`` dict, a name string, a function, or ``None``.
        module_objects: Dict of built-in objects to look names up in (e.g. ``vars(module)``).
        custom_objects: Dict of user objects to look names up in.
        printable_module_name: What the object is, for error messages (``"layer"``...).

    Returns:
        The object (a class found by a name string is instantiated without arguments).
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        if "class_name" not in identifier or "config" not in identifier:
            raise ValueError(
                f"Improper config format for {identifier}. Expecting python dict contains "
                "`class_name` and `config` as keys"
            )
        cls = _lookup(identifier["class_name"], module_objects, custom_objects, printable_module_name)
        config = identifier["config"]
        if isinstance(config, dict):
            config = dict(config)
            for key, item in config.items():
                if key == "name":
                    continue
                if isinstance(item, dict) and _PASSIVE in item:
                    item = {k: v for k, v in item.items() if k != _PASSIVE}
                    config[key] = deserialize_keras_object(
                        item, module_objects, custom_objects, "config_item"
                    )
                elif isinstance(item, str):
                    found = object_registration.get_registered_object(item, custom_objects, module_objects)
                    if inspect.isfunction(found):
                        config[key] = found
        custom_objects = custom_objects or {}
        if not hasattr(cls, "from_config"):
            with object_registration.CustomObjectScope(custom_objects):
                return cls(**config)
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            merged = {**object_registration.get_custom_objects(), **custom_objects}
            return cls.from_config(config, custom_objects=merged)
        with object_registration.CustomObjectScope(custom_objects):
            return cls.from_config(config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, module_objects, custom_objects, printable_module_name)
        return obj() if inspect.isclass(obj) else obj
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier}")
