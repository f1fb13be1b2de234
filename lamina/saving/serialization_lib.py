"""Turn objects into JSON-friendly configs and back, in the Keras 3 format.

A serialized object is ``{"module", "class_name", "config", "registered_name"}`` (layers add
``build_config``). The legacy ``{"class_name", "config"}`` form is accepted too. Deserialization only
resolves registered objects; ``safe_mode`` (on by default) refuses configs that carry code.
"""

import threading

import numpy as np
import torch

from lamina.saving import object_registration

_SAFE_MODE = threading.local()


class SafeModeScope:
    """Context manager fixing the safe mode seen by nested deserialization calls."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self._previous = getattr(_SAFE_MODE, "value", None)
        _SAFE_MODE.value = self.safe_mode
        return self

    def __exit__(self, *exc):
        _SAFE_MODE.value = self._previous


def in_safe_mode():
    """Whether the deserialization in progress runs in safe mode (``None`` outside any scope)."""
    return getattr(_SAFE_MODE, "value", None)


def enable_unsafe_deserialization():
    """Turn safe mode off for this thread (the caller's explicit choice, never a file's)."""
    _SAFE_MODE.value = False


def _plain(value):
    """Make a config value JSON-friendly."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        # Keras keeps tuples in configs (JSON writes them as lists): `from_config` sees a tuple.
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if hasattr(value, "get_config") and not isinstance(value, type):
        # A layer (initializer, ...) a custom layer puts in its `get_config`: Keras stores it
        # serialized, so the model config stays JSON.
        return serialize_keras_object(value)
    return value


def serialize_keras_object(obj):
    """Serialize ``obj`` (a Lamina object, a registered function, or a plain value)."""
    if obj is None:
        return None
    if isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple, dict, np.ndarray, np.generic, torch.Tensor, torch.dtype)):
        return _plain(obj)
    if isinstance(obj, type):
        return {
            "module": getattr(obj, "_keras_module", obj.__module__),
            "class_name": obj.__name__,
            "config": None,
            "registered_name": object_registration.get_registered_name(obj),
        }
    if callable(obj) and not hasattr(obj, "get_config"):
        # Functions (activations, losses): built-ins by name, user functions by registered name.
        registered = object_registration.get_registered_name(obj)
        if "\u003e" in registered:
            return {
                "module": getattr(obj, "__module__", None),
                "class_name": "function",
                "config": registered,
                "registered_name": registered,
            }
        return getattr(obj, "__name__", registered)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r}: it has no `get_config()` method.")
    cls = type(obj)
    registered = object_registration.get_registered_name(cls)
    builtin = cls.__dict__.get("_lamina_builtin") is cls
    result = {
        "module": cls._keras_module if builtin else cls.__module__,
        # A built-in may be exported by Keras under another name than its class's.
        "class_name": cls.__dict__.get("_keras_class_name", cls.__name__) if builtin else cls.__name__,
        "config": _plain(obj.get_config()),
        "registered_name": cls.__dict__.get("_keras_registered_name") if builtin else registered,
    }
    build_config = getattr(obj, "get_build_config", None)
    if build_config is not None:
        build = build_config()
        if build is not None:
            result["build_config"] = _plain(build)
    compile_config = getattr(obj, "get_compile_config", None)
    if compile_config is not None:
        # Models (a model nested in another one included) carry their compile arguments.
        result["compile_config"] = _plain(compile_config())
    return result


def _resolve(class_name, registered_name, module, custom_objects, module_objects):
    for name in (registered_name, class_name):
        if not name:
            continue
        obj = object_registration.get_registered_object(name, custom_objects, module_objects)
        if obj is not None:
            return obj
    if "\u003e" in str(registered_name or ""):
        return None
    # A file may name any module; it is only used to pick among Lamina's own built-ins.
    return object_registration.find_builtin(class_name, module)


def deserialize_keras_object(config, module_objects=None, custom_objects=None, safe_mode=True, **kwargs):
    """Rebuild an object from ``serialize_keras_object`` output.

    Args:
        config: A string name, or a dict in the Keras 3 or legacy ``{"class_name", "config"}`` form.
        module_objects: Dict of name -> object searched for plain names (e.g. all activations).
        custom_objects: Dict of user objects to resolve names against.
        safe_mode: Refuse configs that carry code (e.g. Lambda bytecode). An enclosing
            ``SafeModeScope`` takes precedence, so a file can never turn it off.
    """
    outer = in_safe_mode()
    safe_mode = outer if outer is not None else safe_mode
    if config is None:
        return None
    if isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):
        obj = _resolve(config, None, None, custom_objects, module_objects)
        if obj is None:
            raise ValueError(f"Unknown object name: {config!r}. Pass it in `custom_objects`.")
        return obj
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, module_objects, custom_objects, safe_mode) for c in config]
    if not isinstance(config, dict):
        raise TypeError(f"Cannot deserialize {config!r}: expected a string or a dict.")
    if "class_name" not in config:
        raise ValueError(f"Cannot deserialize {config!r}: missing 'class_name'.")
    class_name = config["class_name"]
    inner = config.get("config")
    if class_name == "__tuple__":
        return tuple(inner["value"])
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner.get("dtype"))
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__lambda__":
        raise ValueError(
            "Refusing to deserialize a Python lambda stored as bytecode: this can run arbitrary "
            "code. If you trust the source, pass `safe_mode=False` to the loading function."
        )
    if class_name == "function":
        name = config.get("registered_name") or inner
        obj = _resolve(inner, name, config.get("module"), custom_objects, module_objects)
        if obj is None:
            raise ValueError(f"Unknown function: {inner!r}. Register it or pass it in `custom_objects`.")
        return obj
    cls = _resolve(
        class_name, config.get("registered_name"), config.get("module"), custom_objects, module_objects
    )
    if cls is None:
        raise ValueError(
            f"Unknown class: {class_name!r} (module {config.get('module')!r}). Register it with "
            "`lamina.saving.register_keras_serializable()` or pass it in `custom_objects`."
        )
    if not isinstance(cls, type):
        return cls
    with SafeModeScope(safe_mode), object_registration.CustomObjectScope(custom_objects or {}):
        if hasattr(cls, "from_config"):
            obj = cls.from_config(inner if inner is not None else {})
        else:
            obj = cls(**(inner or {}))
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config"):
            obj.build_from_config(build_config)
    return obj


def _register_backend_classes():
    # The dtype policies live on the ground floor (``lamina.backend``), which cannot import this
    # registry a floor above it (DESIGN.md): the registry registers them, under the Keras modules
    # Keras writes (``"keras"`` first: it is the module a saved ``DTypePolicy`` names).
    from lamina.backend import dtype_policy, dtype_policy_map, quantized_dtype_policy as quantized

    for cls in (dtype_policy.DTypePolicy, dtype_policy.FloatDTypePolicy):
        object_registration.register_builtin("keras")(cls)
        object_registration.register_builtin("keras.dtype_policies")(cls)
    for cls in (
        dtype_policy_map.DTypePolicyMap,
        quantized.QuantizedDTypePolicy,
        quantized.QuantizedFloat8DTypePolicy,
        quantized.Int4DTypePolicy,
        quantized.GPTQDTypePolicy,
        quantized.AWQDTypePolicy,
    ):
        object_registration.register_builtin("keras.dtype_policies")(cls)
    dtype_policy_map.set_entry_serialization(serialize_keras_object, deserialize_keras_object)


_register_backend_classes()
