"""Layer members for quantization and LoRA: ``quantization_mode``, ``quantize``, ``quantized_call``.

A quantized or LoRA layer runs another ``call``: the choice is made once, when the layer is
quantized or LoRA is enabled, by binding the method on the instance (see ``_use_call``). The
float path of every layer stays as it was.
"""

import numpy as np
import torch

from lamina.backend.quantized_dtype_policy import QUANTIZATION_MODES


class QuantizationMixin:
    """Quantization members every layer has (Keras's ``Layer`` API).

    Layers that can be quantized (``Dense``, ``EinsumDense``, ``Embedding``) override
    ``quantize`` and ``quantized_build`` and define ``_int8_call`` (and the other modes' calls).
    """

    @property
    def quantization_mode(self):
        """The quantization mode of the layer's dtype policy, ``None`` if not quantized."""
        if "_dtype_policy" not in self.__dict__:
            return None
        return self._resolved_dtype_policy.quantization_mode

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the layer's weights in place; layers that support it override this."""
        raise self._not_implemented_error(self.quantize)

    def quantized_build(self, input_shape, mode):
        """Create the quantized variables for ``mode``; layers that support it override this."""
        raise self._not_implemented_error(self.quantized_build)

    def quantized_call(self, *args, **kwargs):
        """Run the call of the layer's quantization mode (``_int8_call``, ``_float8_call``, ...)."""
        mode = self.quantization_mode
        method = getattr(type(self), f"_{mode}_call", None) if mode else None
        if method is None:
            raise self._quantization_mode_error(mode)
        return method(self, *args, **kwargs)

    def _check_quantize_args(self, mode, compute_dtype):
        if not self.built:
            raise ValueError(
                f"Cannot quantize a layer that isn't yet built. Layer '{self.name}' (of type "
                f"'{type(self).__name__}') is not built yet."
            )
        if self.__dict__.get("_is_quantized", False):
            raise ValueError(
                f"Layer '{self.name}' is already quantized with dtype_policy='{self.dtype_policy.name}'. "
                f"Received: mode={mode}"
            )
        if mode not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
        if mode == "int8" and compute_dtype == "float16":
            raise ValueError(
                f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. Consider "
                "loading model/layer with another dtype policy such as 'mixed_bfloat16' or "
                "'mixed_float16' before calling `quantize()`."
            )

    def _not_implemented_error(self, attr, msg=None):
        name = attr.__name__ if callable(attr) else str(attr)
        kind = "method" if callable(attr) else "attribute"
        msg = f" {msg}" if msg is not None else ""
        return NotImplementedError(f"Layer {type(self).__name__} does not have a `{name}` {kind} implemented.{msg}")

    def _quantization_mode_error(self, mode):
        return NotImplementedError(
            f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: quantization_mode={mode}"
        )

    # --- helpers for the layers that support quantization and LoRA ------------------------------
    def _use_call(self, method):
        """Make ``method`` (a bound method, or ``None`` for the class's own) the layer's ``call``."""
        if method is None:
            self.__dict__.pop("call", None)
        else:
            self.__dict__["call"] = method

    def _remove_variable(self, name):
        """Drop the variable registered under ``name`` (before re-creating it quantized)."""
        variable = self._parameters.pop(name)
        self.__dict__.pop(name, None)
        self._own_variables[:] = [v for v in self._own_variables if v is not variable]
        return variable

    def _set_computed_attribute(self, name, getter):
        """Serve ``layer.<name>`` from ``getter(layer)`` (e.g. the LoRA-merged kernel).

        The attribute leaves the instance dict, so normal lookup fails and ``__getattr__`` asks
        the getter: nothing changes for layers that never do this.
        """
        self.__dict__.pop(name, None)
        self.__dict__.setdefault("_computed_attributes", {})[name] = getter

    def __getattr__(self, name):
        computed = self.__dict__.get("_computed_attributes")
        if computed is not None and name in computed:
            return computed[name](self)
        return super().__getattr__(name)


    def _install_variable_hooks(self):
        """Save and load through ``_serialized_values`` / ``_serialized_variables`` (Keras's order).

        Installed on the instance when a layer is quantized or gets LoRA weights: only then do
        its files differ from the default layout.
        """
        self.__dict__["save_own_variables"] = self._save_spec_variables
        self.__dict__["load_own_variables"] = self._load_spec_variables

    def _save_spec_variables(self, store):
        for i, value in enumerate(self._serialized_values()):
            store[str(i)] = np.asarray(value.detach().cpu().numpy())

    def _load_spec_variables(self, store):
        targets = self._serialized_variables()
        keys = list(store.keys()) if hasattr(store, "keys") else []
        if len(keys) != len(targets):
            raise ValueError(
                f"Layer '{self.name}' expected {len(targets)} variables, but received {len(keys)} "
                "variables during loading. Expected: "
                f"{[v.name for v in targets]} (quantization mode: {self.quantization_mode})"
            )
        values = [np.asarray(store[str(i)]) for i in range(len(targets))]
        for variable, value in zip(targets, values):
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"Shape mismatch for variable '{variable.path}' of layer '{self.name}': the file "
                    f"has {tuple(value.shape)}, the layer expects {tuple(variable.shape)}."
                )
        with torch.no_grad():
            for variable, value in zip(targets, values):
                variable.assign(torch.as_tensor(value).to(variable.dtype))
        self._after_load_variables()

    def _after_load_variables(self):
        # Keras stores LoRA layers with the update merged into the base weight: start it over.
        for name in self.__dict__.get("_lora_variable_names", ()):
            variable = getattr(self, name)
            with torch.no_grad():
                variable.zero_()

    def _add_lora_weights(self, base, a_name, b_name, shape_a, shape_b, rank, lora_alpha, a_initializer,
                          b_initializer, regularizer):
        """Add the two LoRA factors and freeze ``base`` (which stays listed first, as in Keras)."""
        from lamina import initializers

        if not isinstance(rank, int) or isinstance(rank, bool) or rank <= 0:
            raise ValueError(f"`rank` must be a positive integer. Received: rank={rank!r}")
        a = self.add_weight(
            name=a_name, shape=shape_a, initializer=initializers.get(a_initializer), dtype="float32",
            regularizer=regularizer,
        )
        b = self.add_weight(
            name=b_name, shape=shape_b, initializer=initializers.get(b_initializer), dtype="float32",
            regularizer=regularizer,
        )
        base._tracked_trainable = base.trainable
        base.trainable = False
        # Keras penalizes trainable weights only, and the frozen base never trains again.
        base.regularizer = None
        self.__dict__["_lora_variable_names"] = (a_name, b_name)
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank
        return a, b

    def _check_lora_allowed(self, constraint, what):
        if constraint:
            raise ValueError(
                f"Lora is incompatible with {what} constraints. In order to enable lora on this "
                f"layer, remove the `{what}_constraint` argument."
            )
        if not self.built:
            raise ValueError("Cannot enable lora on a layer that isn't yet built.")
        if self.__dict__.get("lora_enabled", False):
            raise ValueError("lora is already enabled. This can only be done once per layer.")

    def _set_quantized_policy(self, mode):
        """After ``quantize(mode)``: the policy becomes ``<mode>_from_<previous policy>``."""
        from lamina.backend import dtype_policy

        # A layer holding a DTypePolicyMap quantizes its own entry (the setter writes it there).
        policy = self._resolved_dtype_policy
        if policy.quantization_mode is None:
            self.dtype_policy = dtype_policy.get(f"{mode}_from_{policy.name}")


def check_lora_arguments(lora_rank, lora_alpha):
    """Validate the ``lora_rank`` / ``lora_alpha`` constructor arguments."""
    if lora_rank is not None and (not isinstance(lora_rank, int) or isinstance(lora_rank, bool) or lora_rank <= 0):
        raise ValueError(f"`lora_rank` must be a positive integer or None. Received: lora_rank={lora_rank!r}")
    if lora_alpha is not None and (isinstance(lora_alpha, bool) or not isinstance(lora_alpha, (int, float))):
        raise ValueError(f"`lora_alpha` must be a number or None. Received: lora_alpha={lora_alpha!r}")
