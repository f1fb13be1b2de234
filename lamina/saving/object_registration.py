"""Registries that map serialized names back to Python objects.

Two kinds of entries exist. Built-in Lamina objects are registered under the Keras module they stand
for (``"keras.layers"``, ``"keras.initializers"``, ...) so configs written by Keras resolve to them.
User objects are registered with ``register_keras_serializable`` under ``"package>name"``. Nothing is
ever resolved by importing a module named in a config.
"""

import threading

# module name as Keras writes it -> {class or function name: object}
_BUILTINS = {}
_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_SCOPE = threading.local()


def register_builtin(module, name=None):
    """Decorator registering a Lamina object under a Keras module name (internal use)."""

    def decorator(obj):
        _BUILTINS.setdefault(module, {})[name or obj.__name__] = obj
        if isinstance(obj, type) and "_keras_module" not in obj.__dict__:
            # The first registration names the module Keras writes; a class registered under
            # several modules (aliases) keeps it.
            obj._keras_module = module
            obj._lamina_builtin = obj
        return obj

    return decorator


def builtin_objects(module):
    """The name -> object dict registered for a Keras module name."""
    return _BUILTINS.get(module, {})


def find_builtin(class_name, module=None):
    """Look a built-in object up by name, in ``module`` first, then in every module."""
    if module is not None and class_name in _BUILTINS.get(module, {}):
        return _BUILTINS[module][class_name]
    for objects in _BUILTINS.values():
        if class_name in objects:
            return objects[class_name]
    return None


def register_keras_serializable(package="Custom", name=None):
    """Register a user class or function so configs can refer to it by ``"package>name"``.

    Args:
        package: The package the object belongs to, used as the key prefix.
        name: The name to register under; defaults to the object's ``__name__``.

    Example:

    >>> @register_keras_serializable(package="my_package")
    ... class MyLayer(lamina.layers.Layer):
    ...     ...
    """
    if "\u003e" in str(package):
        raise ValueError(f"`package` must not contain '>'. Received: package={package!r}")

    def decorator(obj):
        obj_name = name if name is not None else obj.__name__
        registered_name = f"{package}>{obj_name}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register {obj!r}: classes must implement `get_config()` to be serializable."
            )
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj):
    """The name ``obj`` is registered under (``"package>name"``), or its ``__name__``."""
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Resolve ``name`` through the scope, the global registry, ``custom_objects`` and ``module_objects``."""
    for table in _scope_stack():
        if name in table:
            return table[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_custom_objects():
    """The global dict of registered custom objects (editable, as in Keras)."""
    return _GLOBAL_CUSTOM_OBJECTS


def _scope_stack():
    if not hasattr(_SCOPE, "stack"):
        _SCOPE.stack = []
    return reversed(_SCOPE.stack)


class CustomObjectScope:
    """Context manager making custom objects visible to deserialization.

    Example:

    >>> with custom_object_scope({"MyLayer": MyLayer}):
    ...     layer = lamina.layers.deserialize(config)
    """

    def __init__(self, custom_objects=None, *more):
        tables = [custom_objects or {}] + list(more)
        self.custom_objects = {}
        for table in tables:
            self.custom_objects.update(table or {})

    def __enter__(self):
        list(_scope_stack())  # make sure the stack exists
        _SCOPE.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPE.stack.pop()


custom_object_scope = CustomObjectScope


