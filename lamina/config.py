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
from lamina.backend.config import (  # noqa: E402
    disable_flash_attention,
    enable_flash_attention,
    is_flash_attention_enabled,
    is_nnx_enabled,
    max_epochs,
    max_steps_per_epoch,
    set_backend,
    set_max_epochs,
    set_max_steps_per_epoch,
)
from lamina.utils.io_utils import (  # noqa: E402
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from lamina.utils.traceback_utils import (  # noqa: E402
    disable_traceback_filtering,
    enable_traceback_filtering,
    is_traceback_filtering_enabled,
)
