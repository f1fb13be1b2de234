"""``lamina.quantizers`` (mirrors ``keras.quantizers``): quantizers, quantization configs, math.

The math lives in ``lamina.ops.quantization``; this module holds the configurable objects that
layers and ``Model.quantize`` accept. GPTQ and AWQ are not implemented (their configs are absent).
"""

from lamina.backend import config as _config
from lamina.ops.quantization import (  # noqa: F401
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history,
    compute_float8_scale,
    fake_quant_with_min_max_vars,
    pack_int4,
    quantize_and_dequantize,
    unpack_int4,
)
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.quantizers")
@register_builtin("keras")
class Quantizer:
    """Base class of quantizers: ``quantizer(x)`` returns the quantized ``x`` (here: ``x``).

    Args:
        output_dtype: Dtype of the quantized values.
    """

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


@register_builtin("keras.quantizers")
class AbsMaxQuantizer(Quantizer):
    """Symmetric abs-max quantization (see ``abs_max_quantize``).

    Args:
        axis: Deprecated in Keras: the axis to reduce; give it to ``__call__`` instead.
        value_range: ``(min, max)`` of the integer range.
        epsilon: Guard against division by zero.
        output_dtype: Dtype of the quantized values.

    Example:

    >>> values, scale = AbsMaxQuantizer()(np.array([[0.5, -1.0]], "float32"), axis=-1)
    """

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=None, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = tuple(value_range)
        self.epsilon = _config.epsilon() if epsilon is None else epsilon
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ValueError(
                "Quantizer with output_dtype='int8' requires value_range to be within the interval "
                f"[-128, 127]. Received: value_range={value_range}"
            )

    def __call__(self, x, axis=None, to_numpy=False):
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy)

    def get_config(self):
        config = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


@register_builtin("keras.quantizers")
class QuantizationConfig:
    """What to quantize weights and activations with; subclasses fix the mode.

    Args:
        weight_quantizer: Quantizer for the weights (``None``: the layer's default).
        activation_quantizer: Quantizer for the inputs (``None``: inputs stay float).
    """

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        raise NotImplementedError("Subclasses must implement this property. Do not instantiate QuantizationConfig directly.")

    def get_config(self):
        s = serialization_lib.serialize_keras_object
        return {"weight_quantizer": s(self.weight_quantizer), "activation_quantizer": s(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config):
        return cls(
            weight_quantizer=deserialize(config.get("weight_quantizer")),
            activation_quantizer=deserialize(config.get("activation_quantizer")),
        )

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        return config.activation_quantizer if config is not None else default


@register_builtin("keras.quantizers")
class Int8QuantizationConfig(QuantizationConfig):
    """int8 quantization; the activation quantizer defaults to ``AbsMaxQuantizer()`` per row."""

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if weight_quantizer is not None and weight_quantizer.output_dtype != "int8":
            raise ValueError(
                "Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                f"Received: output_dtype={weight_quantizer.output_dtype}"
            )

    @property
    def mode(self):
        return "int8"


@register_builtin("keras.quantizers")
class Int4QuantizationConfig(QuantizationConfig):
    """int4 quantization: weights in ``[-8, 7]``, two per byte.

    Args:
        weight_quantizer: Quantizer for the weights (per-channel only); its ``value_range``
            must be ``(-8, 7)``.
        activation_quantizer: Quantizer for the inputs; ``"default"`` keeps them float.
        block_size: Rows per group for sub-channel quantization (a scale and a zero point per
            group and output column); ``None`` or ``-1`` for one symmetric scale per column.

    Example:

    >>> config = Int4QuantizationConfig(block_size=64)
    >>> config.mode
    'int4'
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and (
            not isinstance(block_size, int) or isinstance(block_size, bool) or (block_size != -1 and block_size <= 0)
        ):
            raise ValueError(
                f"block_size must be None, -1, or a positive integer. Received: block_size={block_size!r}"
            )
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (weight_quantizer is not None or self.activation_quantizer is not None):
            raise ValueError(
                "Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                "Either set block_size to None or -1 for per-channel quantization, or remove the "
                f"custom quantizer arguments. Received: block_size={block_size}"
            )
        if weight_quantizer is not None:
            if tuple(getattr(weight_quantizer, "value_range", ())) != (-8, 7):
                raise ValueError(
                    "Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                    f"Received: value_range={getattr(weight_quantizer, 'value_range', None)}"
                )
            if weight_quantizer.output_dtype != "int8":
                raise ValueError(
                    "Int4QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                    f"Received: output_dtype={weight_quantizer.output_dtype}"
                )

    @property
    def mode(self):
        return "int4"

    def get_config(self):
        config = super().get_config()
        config["block_size"] = self.block_size
        return config

    @classmethod
    def from_config(cls, config):
        return cls(
            weight_quantizer=deserialize(config.get("weight_quantizer")),
            activation_quantizer=deserialize(config.get("activation_quantizer")),
            block_size=config.get("block_size"),
        )


@register_builtin("keras.quantizers")
class Float8QuantizationConfig(QuantizationConfig):
    """float8 training with delayed scaling (no custom quantizers)."""

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self):
        return "float8"

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


_OBJECTS = {
    cls.__name__: cls
    for cls in (
        Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
        Float8QuantizationConfig,
    )
}

_DEFAULT_CONFIGS = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig, "float8": Float8QuantizationConfig}


def _resolve_config(mode, config):
    """The config ``quantize(mode, config=config)`` runs with (Keras's defaults when ``None``).

    A string ``config`` names the mode. Raises a ValueError for an unknown mode, a config that
    is not a ``QuantizationConfig``, or a mode contradicting the config's.
    """
    from lamina.backend.quantized_dtype_policy import QUANTIZATION_MODES

    if isinstance(config, str):
        mode, config = config, None
    config = deserialize(config)
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
    if config is None:
        if mode is None:
            raise ValueError("You must provide either `mode` or `config` to `quantize`.")
        if mode in ("gptq", "awq"):
            name = "GPTQConfig" if mode == "gptq" else "AWQConfig"
            raise ValueError(f"For {mode.upper()}, you must pass a `{name}` object in the `config` argument.")
        return _DEFAULT_CONFIGS[mode]()
    if not isinstance(config, QuantizationConfig):
        raise ValueError(
            "Argument `config` must be an instance of `QuantizationConfig`. "
            f"Received: config={config} (of type {type(config)})"
        )
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but config.mode='{config.mode}'")
    return config


def _int4_block_size(layer, config):
    """The int4 block size from ``config``, else from the layer's policy; ``None`` per channel."""
    from lamina.backend.quantized_dtype_policy import Int4DTypePolicy

    if isinstance(config, Int4QuantizationConfig):
        block_size = config.block_size
    elif isinstance(layer.dtype_policy, Int4DTypePolicy):
        block_size = layer.dtype_policy.block_size
    else:
        return None
    return None if block_size == -1 else block_size


def serialize(quantizer):
    return serialization_lib.serialize_keras_object(quantizer)


def deserialize(config, custom_objects=None):
    """A quantizer or quantization config from its serialized form (``None`` stays ``None``)."""
    if config is None or not isinstance(config, dict):
        return config
    return serialization_lib.deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier, **kwargs):
    """A quantizer from a quantizer, a serialized dict or a class name (with ``kwargs``)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    obj = _OBJECTS.get(identifier) if isinstance(identifier, str) else identifier
    if isinstance(obj, type):
        return obj(**kwargs)
    if obj is None or not callable(obj) and not isinstance(obj, QuantizationConfig):
        raise ValueError(f"Could not interpret quantizer identifier: {identifier}")
    return obj
