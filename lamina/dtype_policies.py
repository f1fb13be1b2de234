"""``lamina.dtype_policies`` (mirrors ``keras.dtype_policies``)."""

from lamina.backend.dtype_policy import DTypePolicy, get


def serialize(policy):
    from lamina.saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(policy)


def deserialize(config):
    return get(config)


from lamina.backend.dtype_policy import FloatDTypePolicy  # noqa: E402
from lamina.backend.dtype_policy_map import DTypePolicyMap  # noqa: E402
from lamina.backend.quantized_dtype_policy import (  # noqa: E402
    QUANTIZATION_MODES,
    AWQDTypePolicy,
    GPTQDTypePolicy,
    Int4DTypePolicy,
    QuantizedDTypePolicy,
    QuantizedFloat8DTypePolicy,
)
