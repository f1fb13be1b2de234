"""``Initializer``, the base class of all initializers, and the checks they share."""

import torch

from lamina.backend import config as _config
from lamina.backend.core import standardize_shape
from lamina.backend.dtypes import is_float_dtype, standardize_dtype, to_torch_dtype
from lamina.saving.object_registration import register_builtin

_MODULE = "keras.initializers"


def _register(*aliases):
    """Register a built-in class under its own name and its Keras aliases."""

    def decorator(cls):
        register_builtin(_MODULE)(cls)
        for alias in aliases:
            register_builtin(_MODULE, alias)(cls)
        return cls

    return decorator


def _known_shape(shape):
    shape = standardize_shape(shape)
    if any(d is None for d in shape):
        raise ValueError(
            f"Cannot initialize a tensor with an unknown dimension. Received: shape={shape}"
        )
    return shape


def _output_spec(shape, dtype):
    """Validate ``shape`` and ``dtype``; return ``(shape tuple, torch dtype, device)``."""
    return _known_shape(shape), to_torch_dtype(standardize_dtype(dtype)), _config.get_device()


def _require_float(initializer, dtype):
    if not is_float_dtype(dtype):
        raise ValueError(
            f"{type(initializer).__name__} can only produce floating-point tensors, "
            f"but received dtype={standardize_dtype(dtype)!r}."
        )


def _work_dtype(dtype):
    # Half-precision samples are drawn in float32 and rounded once, so a seed gives the same values
    # (up to rounding) whatever the output precision.
    return torch.float64 if dtype == torch.float64 else torch.float32



@_register("initializer")
class Initializer:
    """Base class of all initializers.

    Subclasses implement ``__call__(shape, dtype=None)`` returning a tensor of that shape, and
    ``get_config()`` when their constructor takes arguments, so they can be saved and cloned.

    Example:

    >>> class Halves(lamina.initializers.Initializer):
    ...     def __call__(self, shape, dtype=None):
    ...         return lamina.initializers.Constant(0.5)(shape, dtype=dtype)
    """

    def __call__(self, shape, dtype=None):
        """Return a tensor of shape ``shape`` and dtype ``dtype`` (``floatx()`` when ``None``)."""
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Make an initializer from the output of ``get_config()``."""
        return cls(**config)

    def clone(self):
        """A new initializer with the same configuration (an unseeded one draws a new seed)."""
        return self.__class__.from_config(self.get_config())

