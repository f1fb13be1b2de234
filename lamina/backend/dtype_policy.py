"""Dtype policies: the dtype a layer computes in and the dtype its variables are stored in.

``"mixed_float16"`` and ``"mixed_bfloat16"`` keep variables in float32 and compute in the low
precision: layers cast their float inputs, and read their variables, in the compute dtype while
``call`` runs (``lamina.layers._autocast``).
"""

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype

_GLOBAL_POLICY = None


class DTypePolicy:
    """A named dtype policy.

    Args:
        name: ``"float32"``, ``"float16"``, ``"bfloat16"``, ``"float64"``, ``"mixed_float16"`` or
            ``"mixed_bfloat16"``; ``None`` means the global policy's name.

    Example:

    >>> policy = DTypePolicy("mixed_float16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('float16', 'float32')
    """

    def __init__(self, name=None):
        if name is None:
            # As Keras: the global policy's name (a map saved without a default relies on it).
            name = global_policy().name
        if not isinstance(name, str):
            raise TypeError(f"`name` must be a string. Received: name={name!r}")
        if name in ("mixed_float16", "mixed_bfloat16"):
            self._compute_dtype = name.split("_")[1]
            self._variable_dtype = "float32"
        else:
            try:
                dtype = standardize_dtype(name)
            except ValueError:
                raise ValueError(
                    f"Cannot convert {name!r} to a dtype policy. Expected a dtype name or one of "
                    "'mixed_float16', 'mixed_bfloat16'."
                ) from None
            self._compute_dtype = self._variable_dtype = dtype
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """The quantization mode (``"int8"``, ...) of quantized policies; ``None`` here."""
        return None

    @property
    def is_mixed(self):
        return self._compute_dtype != self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


class FloatDTypePolicy(DTypePolicy):
    """Another name of ``DTypePolicy`` (Keras 3 keeps it for older code)."""


# Keras 2 name for the same thing.
Policy = DTypePolicy


def get(identifier):
    """Return a ``DTypePolicy`` for a policy, a name, a config dict, a torch dtype or ``None``."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        if class_name == "DTypePolicyMap":
            from lamina.backend.dtype_policy_map import DTypePolicyMap

            return DTypePolicyMap.from_config(identifier.get("config", {}))
        if class_name in (
            "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "Int4DTypePolicy", "GPTQDTypePolicy",
            "AWQDTypePolicy",
        ):
            from lamina.backend.quantized_dtype_policy import policy_from_config

            return policy_from_config(class_name, identifier.get("config", {}))
        if class_name not in (None, "DTypePolicy", "Policy", "FloatDTypePolicy"):
            raise ValueError(f"Unsupported dtype policy config: {identifier!r}")
        inner = identifier.get("config", identifier)
        cls = FloatDTypePolicy if class_name == "FloatDTypePolicy" else DTypePolicy
        return cls(inner.get("name"))
    if not isinstance(identifier, str):
        identifier = standardize_dtype(identifier)
    if identifier.startswith(("int8_", "float8_", "int4_", "int4/", "gptq", "awq")) and "_from_" in identifier:
        from lamina.backend.quantized_dtype_policy import policy_from_string

        return policy_from_string(identifier)
    return DTypePolicy(identifier)


def set_global_policy(policy):
    """Set the policy new layers use when they get no ``dtype`` argument."""
    global _GLOBAL_POLICY
    _GLOBAL_POLICY = None if policy is None else get(policy)


def global_policy():
    return _GLOBAL_POLICY if _GLOBAL_POLICY is not None else DTypePolicy(config.floatx())


set_dtype_policy = set_global_policy
dtype_policy = global_policy
