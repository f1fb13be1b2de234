"""A layer's config: ``get_config`` (by default read from the constructor's arguments) and
``from_config``."""

import inspect
import json

from lamina.backend import dtype_policy
from lamina.saving import serialization_lib


class LayerConfig:
    """``get_config`` / ``from_config`` (mixed into ``Layer``)."""

    def get_config(self):
        """Constructor arguments as a JSON-friendly dict (Keras 3 keys)."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": serialization_lib.serialize_keras_object(self._dtype_policy),
        }
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        if type(self).get_config is not LayerConfig.get_config:
            return config
        from lamina.layers.layer import Layer  # the class this mixin completes

        init = type(self).__init__
        if init is Layer.__init__:
            return config
        args, kwargs = self.__dict__.get("_init_call", ((), {}))
        params = [
            p
            for p in inspect.signature(init).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        extra = dict(zip([p.name for p in params], args))
        extra.update({k: v for k, v in kwargs.items() if k in {p.name for p in params}})
        for p in params:
            if p.name not in extra and p.default is not inspect.Parameter.empty:
                extra[p.name] = p.default
        try:
            extra = serialization_lib.serialize_keras_object(extra)
            json.dumps(extra)
        except (TypeError, ValueError):
            raise NotImplementedError(
                f"Layer {type(self).__name__} has arguments {[p.name for p in params]} in "
                "`__init__()` that cannot be serialized automatically, and therefore must "
                "override `get_config()`."
            ) from None
        config.update(extra)
        return config

    @classmethod
    def from_config(cls, config):
        """Create a layer from ``get_config()`` output (Keras 3 or legacy keys)."""
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = dtype_policy.get(config["dtype"])
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using config={config}.\n\n"
                f"Exception encountered: {e}"
            ) from e
