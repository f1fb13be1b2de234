"""Initializers that fill a tensor with fixed values: ``Zeros``, ``Ones``, ``Constant``, ``Identity``."""

import numpy as np
import torch

from lamina.initializers.initializer import Initializer, _output_spec, _register
from lamina.saving import serialization_lib


@_register("zeros", "zero")
class Zeros(Initializer):
    """Initializer filling the tensor with 0 (any dtype, integers included).

    Example:

    >>> lamina.initializers.Zeros()((2, 2))
    """

    def __call__(self, shape, dtype=None):
        shape, dtype, device = _output_spec(shape, dtype)
        return torch.zeros(shape, dtype=dtype, device=device)


@_register("ones", "one")
class Ones(Initializer):
    """Initializer filling the tensor with 1 (any dtype, integers included).

    Example:

    >>> lamina.initializers.Ones()((2, 2))
    """

    def __call__(self, shape, dtype=None):
        shape, dtype, device = _output_spec(shape, dtype)
        return torch.ones(shape, dtype=dtype, device=device)


@_register("constant")
class Constant(Initializer):
    """Initializer filling the tensor with a constant.

    Args:
        value: A Python number, or an array broadcastable to the requested shape.

    Example:

    >>> lamina.initializers.Constant(3.0)((2, 2))
    """

    def __init__(self, value=0.0):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if np.asarray(value).dtype.kind not in "biuf":
            raise ValueError(
                f"Argument `value` of Constant must be a number or an array of numbers. "
                f"Received: value={value!r}"
            )
        self.value = value

    def __call__(self, shape, dtype=None):
        shape, dtype, device = _output_spec(shape, dtype)
        value = torch.as_tensor(np.asarray(self.value), device=device).to(dtype)
        try:
            return value.broadcast_to(shape).clone()
        except RuntimeError:
            raise ValueError(
                f"Constant initializer value of shape {tuple(value.shape)} cannot be broadcast to "
                f"the requested shape {shape}."
            ) from None

    def get_config(self):
        value = self.value
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            # The same tagged form Keras writes, so arrays keep their dtype in saved configs.
            value = {
                "class_name": "__numpy__",
                "config": {"value": value.tolist(), "dtype": value.dtype.name},
            }
        return {"value": value}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("value"), dict):
            config["value"] = serialization_lib.deserialize_keras_object(config["value"])
        return cls(**config)


@_register("identity", "IdentityInitializer")
class Identity(Initializer):
    """Initializer producing ``gain`` times the identity matrix (2D shapes only).

    Non-square shapes get ones on the main diagonal and zeros elsewhere.

    Args:
        gain: Multiplier of the identity matrix.

    Example:

    >>> lamina.initializers.Identity(gain=2.0)((2, 3))
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape, dtype, device = _output_spec(shape, dtype)
        if len(shape) != 2:
            raise ValueError(
                "Identity initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        out = torch.zeros(shape, dtype=dtype, device=device)
        out.diagonal().fill_(self.gain)
        return out

    def get_config(self):
        return {"gain": self.gain}

