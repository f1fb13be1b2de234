"""``DTypePolicyMap``: dtype policies looked up by layer path (exact key, else a regex key)."""

import re
from collections.abc import MutableMapping

from lamina.backend import dtype_policy
from lamina.backend.dtype_policy import DTypePolicy


# The policies in a map may be user classes known only to the saving registry, a floor above the
# backend (DESIGN.md): ``lamina.saving.serialization_lib`` hands its (de)serializers down when it loads.
_ENTRY_SERIALIZATION = {}


def set_entry_serialization(serialize, deserialize):
    """Install the functions that (de)serialize the policies of a map's entries."""
    _ENTRY_SERIALIZATION.update(serialize=serialize, deserialize=deserialize)


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict-like map from layer paths to ``DTypePolicy``s, with a default.

    A key is looked up exactly first; otherwise every key is tried as a regular expression that
    must match the whole path (``"encoder/.*"`` covers the layers under ``encoder``). As a policy
    itself, the map computes and stores variables like its default policy.

    Args:
        default_policy: The policy for paths no key matches (default: the global policy).
        policy_map: Optional dict of path (or regex) -> policy.

    Example:

    >>> policy_map = DTypePolicyMap(default_policy="float32")
    >>> policy_map["encoder/.*"] = "float16"
    >>> policy_map["encoder/attention/query"].name
    'float16'
    >>> policy_map["decoder"].name
    'float32'
    """

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("`default_policy` cannot be a `DTypePolicyMap`.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(
                "If specified, `policy_map` must be a dict. "
                f"Received: policy_map={policy_map} of type {type(policy_map)}"
            )
        self._default_policy_arg = default_policy
        self._default_policy = dtype_policy.get(default_policy) if default_policy is not None else None
        self._policy_map = dict(policy_map or {})

    @property
    def default_policy(self):
        """The policy for unmatched paths (the global policy when none was given)."""
        if self._default_policy is None:
            return dtype_policy.global_policy()
        return self._default_policy

    @property
    def name(self):
        return f"map_{self.default_policy.name}"

    @property
    def _name(self):
        return self.name

    @property
    def compute_dtype(self):
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self.default_policy.variable_dtype

    @property
    def is_mixed(self):
        return self.default_policy.is_mixed

    def __getitem__(self, key):
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches multiple dtype policy specification keys: {matches}. "
                "Please make sure each path only matches at most one dtype policy specification "
                "key in the DTypePolicyMap."
            )
        if matches:
            return self._policy_map[matches[0]]
        return self.default_policy

    def __setitem__(self, key, policy):
        if key in self._policy_map:
            raise ValueError(
                f"{key} already exist in the DTypePolicyMap with value {self._policy_map[key]}. "
                "Please make sure to not use duplicated keys."
            )
        try:
            policy = dtype_policy.get(policy)
        except Exception:
            raise ValueError(
                "Cannot interpret the assigned value by `lamina.dtype_policies.get`. "
                f"Received: {policy} of type {type(policy)}"
            ) from None
        self._policy_map[key] = policy

    def __delitem__(self, key):
        return self._policy_map.pop(key)

    def __contains__(self, key):
        return key in self._policy_map

    def __len__(self):
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    def __eq__(self, other):
        return (
            isinstance(other, DTypePolicyMap)
            and other.default_policy == self.default_policy
            and other._policy_map == self._policy_map
        )

    __hash__ = None

    def get_config(self):
        serialize_keras_object = _ENTRY_SERIALIZATION["serialize"]
        entries = {k: serialize_keras_object(v) for k, v in self._policy_map.items()}
        if self._default_policy_arg is None:
            # As Keras: without a default, the entries' source dtypes are left out too, so a
            # loaded map follows the global policy of the process that loads it.
            for entry in entries.values():
                config = entry.get("config")
                if isinstance(config, dict):
                    key = "source_name" if "source_name" in config else "name"
                    if key in config:
                        entry["config"] = {**config, key: None}
        return {"default_policy": self._default_policy_arg, "policy_map": entries}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        deserialize_keras_object = _ENTRY_SERIALIZATION["deserialize"]
        config = dict(config)
        config["policy_map"] = {
            k: deserialize_keras_object(v, custom_objects=custom_objects)
            for k, v in (config.get("policy_map") or {}).items()
        }
        return cls(**config)

    def __repr__(self):
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return (
            f"<DTypePolicyMap at {hex(id(self))} default_policy={self.default_policy.name}, "
            f"mapping={mapping}>"
        )
