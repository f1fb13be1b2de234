"""Global configuration: float type, fuzz factor, image data format, device.

Values are read once from ``$LAMINA_HOME/lamina.json`` (default ``~/.lamina/lamina.json``), or from
``~/.keras/keras.json`` when only that exists, so a Keras user's settings carry over. A missing,
unreadable or read-only home directory is never an error: defaults apply.
"""

import json
import os
import threading

import torch

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_DEVICE = None
_FLASH_ATTENTION = None
# Debugging caps, settable from the environment as in Keras.
_MAX_EPOCHS = int(os.environ["KERAS_MAX_EPOCHS"]) if os.environ.get("KERAS_MAX_EPOCHS") else None
_MAX_STEPS_PER_EPOCH = (
    int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"]) if os.environ.get("KERAS_MAX_STEPS_PER_EPOCH") else None
)

_FLOAT_TYPES = ("float16", "bfloat16", "float32", "float64")
_DATA_FORMATS = ("channels_last", "channels_first")


def lamina_home():
    """Directory holding ``lamina.json`` (``$LAMINA_HOME`` or ``~/.lamina``)."""
    return os.environ.get("LAMINA_HOME") or os.path.join(os.path.expanduser("~"), ".lamina")


def floatx():
    """Default float type as a string, e.g. ``"float32"``."""
    return _FLOATX


def set_floatx(value):
    """Set the default float type (``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"``)."""
    global _FLOATX
    value = str(value)
    if value not in _FLOAT_TYPES:
        raise ValueError(f"Unknown `floatx` value: {value!r}. Expected one of {_FLOAT_TYPES}.")
    _FLOATX = value


def epsilon():
    """The fuzz factor used in numeric expressions (default ``1e-7``)."""
    return _EPSILON


def set_epsilon(value):
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """Default image data format: ``"channels_last"`` or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Set the default image data format."""
    global _IMAGE_DATA_FORMAT
    data_format = str(data_format).lower()
    if data_format not in _DATA_FORMATS:
        raise ValueError(
            f"Unknown `data_format`: {data_format!r}. Expected one of {_DATA_FORMATS}."
        )
    _IMAGE_DATA_FORMAT = data_format


def standardize_data_format(data_format):
    """Resolve ``None`` to the global default and validate the value."""
    if data_format is None:
        return image_data_format()
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ValueError(
            f"Invalid `data_format`: {data_format!r}. Expected one of {_DATA_FORMATS}."
        )
    return value


def backend():
    """Name of the compute backend (always ``"torch"``)."""
    return "torch"


class _DeviceStack(threading.local):
    def __init__(self):
        self.devices = []


# Devices chosen by `lamina.device(...)` blocks (innermost last), per thread.
_DEVICE_STACK = _DeviceStack()


def push_device(device):
    _DEVICE_STACK.devices.append(torch.device(device))


def pop_device():
    _DEVICE_STACK.devices.pop()


def get_device():
    """Device new variables and converted inputs live on (CUDA when available, else CPU)."""
    global _DEVICE
    if _DEVICE_STACK.devices:
        return _DEVICE_STACK.devices[-1]
    if _DEVICE is None:
        _DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return _DEVICE


def set_device(device):
    """Choose the device for new variables and converted inputs (``"cpu"``, ``"cuda:0"``, ...)."""
    global _DEVICE
    _DEVICE = torch.device(device)


def set_backend(backend):
    """Keras's backend switch. Lamina runs on torch only, so only ``"torch"`` is accepted."""
    if backend != "torch":
        raise ValueError(
            f"Lamina runs on the torch backend only; cannot switch to backend={backend!r}. "
            "Use Keras itself for the JAX, TensorFlow or NumPy backends."
        )


def is_nnx_enabled():
    """Whether Flax NNX features are on: a JAX-backend option, always ``False`` on torch."""
    return False


def enable_flash_attention():
    """Let attention layers use the fused kernel (the default).

    On torch the fused path is ``torch.nn.functional.scaled_dot_product_attention``, which picks
    a flash, memory-efficient or plain kernel itself for the device, dtype and shapes.
    """
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = None


def disable_flash_attention():
    """Make attention layers built from now on compute softmax attention step by step."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = False


def is_flash_attention_enabled():
    """``False`` after ``disable_flash_attention()``; otherwise ``None`` (layers may use it)."""
    return _FLASH_ATTENTION


def _int_or_none(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer or None. Received: {value!r}")
    return value


def max_epochs():
    """Cap on the number of epochs of any ``fit`` (``None``: no cap). Also ``$KERAS_MAX_EPOCHS``."""
    return _MAX_EPOCHS


def set_max_epochs(max_epochs):
    """Cap the number of epochs of every ``fit`` call (a debugging aid); ``None`` removes it."""
    global _MAX_EPOCHS
    _MAX_EPOCHS = _int_or_none(max_epochs, "max_epochs")


def max_steps_per_epoch():
    """Cap on the steps of one epoch of ``fit``/``evaluate``/``predict`` (``None``: no cap)."""
    return _MAX_STEPS_PER_EPOCH


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Cap the steps per epoch of every ``fit``/``evaluate``/``predict`` call; ``None`` removes it."""
    global _MAX_STEPS_PER_EPOCH
    _MAX_STEPS_PER_EPOCH = _int_or_none(max_steps_per_epoch, "max_steps_per_epoch")


def _load_config_file():
    candidates = [os.path.join(lamina_home(), "lamina.json")]
    if not os.environ.get("LAMINA_HOME"):
        candidates.append(os.path.join(os.path.expanduser("~"), ".keras", "keras.json"))
    for path in candidates:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        # A malformed value in a user's file falls back to the default instead of breaking import.
        for key, setter in (
            ("floatx", set_floatx),
            ("epsilon", set_epsilon),
            ("image_data_format", set_image_data_format),
        ):
            if key in data:
                try:
                    setter(data[key])
                except (TypeError, ValueError):
                    pass
        return path
    return None


_load_config_file()
