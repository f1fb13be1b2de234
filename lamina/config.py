"""``lamina.config``: global settings (mirrors ``keras.config``)."""

from lamina.backend.config import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from lamina.backend.dtype_policy import dtype_policy, set_dtype_policy
from lamina.saving.serialization_lib import enable_unsafe_deserialization
