"""Layer members for dtype policies: ``dtype_policy``, ``compute_dtype``, ``variable_dtype``.

A layer given a ``DTypePolicyMap`` keeps the map (shared with the other layers given it) and
resolves its own policy by its path, as Keras does: the path is fixed when the layer is built
(inside its own name scope), so an unbuilt layer follows the map's default policy, and a
``Dense`` whose entry is ``"int8_from_float32"`` creates int8 variables in ``build``.
"""

from lamina.backend import dtype_policy
from lamina.backend.dtype_policy_map import DTypePolicyMap
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.name_scoping import current_path, innermost_caller, name_scope


def build_in_policy_scope(layer, build, args, kwargs):
    """Run ``build(layer, *args, **kwargs)`` as Keras builds a layer holding a ``DTypePolicyMap``.

    Such a layer builds inside its own name scope, learns its path there and resolves its policy
    from the map before its variables are made; other layers run ``build`` untouched.
    """
    if type(layer.__dict__.get("_dtype_policy")) is not DTypePolicyMap or layer.__dict__.get("_map_building"):
        return build(layer, *args, **kwargs)
    layer.__dict__["_map_building"] = True
    try:
        with name_scope(layer.name, caller=layer):
            layer.__dict__["_path"] = current_path()
            layer._refresh_policy_cache()
            result = build(layer, *args, **kwargs)
    finally:
        layer.__dict__["_map_building"] = False
    layer.built = True
    layer._refresh_policy_cache()
    return result


class DTypePolicyAPI:
    """The dtype-policy members of ``Layer``."""

    @property
    def dtype_policy(self):
        """The policy given to the layer: a ``DTypePolicy`` or a shared ``DTypePolicyMap``."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        policy = dtype_policy.get(value)
        held = self.__dict__.get("_dtype_policy")
        path = self.__dict__.get("_path")
        if isinstance(held, DTypePolicyMap) and path:
            # The map is shared by every layer given it: only this layer's own entry changes.
            if path in held:
                del held[path]
            held[path] = policy
            self._refresh_policy_cache()
        else:
            self._set_dtype_policy(policy)
        mode = policy.quantization_mode
        if mode is not None and self.built and not self.__dict__.get("_is_quantized", False):
            if mode == "gptq":
                raise ValueError(
                    "Implicitly enabling GPTQ quantization by setting `dtype_policy` to "
                    f"'{value}' is not supported. GPTQ requires a calibration dataset and a "
                    "`GPTQConfig` object.\n\nPlease use the `.quantize('gptq', config=...)` method "
                    "on the layer or model instead."
                )
            self.quantize(mode)

    def _set_dtype_policy(self, value):
        self._dtype_policy = dtype_policy.get(value)
        self._refresh_policy_cache()

    @property
    def _resolved_dtype_policy(self):
        """The policy this layer follows: its entry in a ``DTypePolicyMap`` once it has a path."""
        policy = self.__dict__["_dtype_policy"]
        if type(policy) is DTypePolicyMap:
            path = self.__dict__.get("_path")
            if path:
                return policy[path]
        return policy

    def _refresh_policy_cache(self):
        # Torch forms of the policy, read on every call; a map's entry is known only once the
        # layer has its path, so building refreshes them.
        policy = self._resolved_dtype_policy
        self.__dict__["_compute_torch_dtype"] = to_torch_dtype(policy.compute_dtype)
        self.__dict__["_autocast_context"] = policy.is_mixed and self._autocast

    def _first_call_scope(self):
        """The name scope a map-holding layer's first call runs in (sublayers built there get
        ``parent/child`` paths, as in Keras); ``None`` for other layers or once built."""
        if type(self.__dict__.get("_dtype_policy")) is not DTypePolicyMap or innermost_caller() is self:
            return None
        return name_scope(self.name, caller=self)

    @property
    def dtype(self):
        """The variable dtype name (Keras: ``layer.dtype``)."""
        return self._resolved_dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self._resolved_dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._resolved_dtype_policy.variable_dtype
