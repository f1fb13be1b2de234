"""``lamina.quantizers`` (mirrors ``keras.quantizers``): quantizers, quantization configs, math.

The math lives in ``lamina.ops.quantization``; this module holds the configurable objects that
layers and ``Model.quantize`` accept. ``GPTQConfig`` and ``AWQConfig`` configure the two
calibrated modes (their math: ``lamina.ops.gptq`` and ``lamina.ops.awq``).
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


def _check_calibration_arguments(num_samples, sequence_length, group_size):
    if num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer. Received: num_samples={num_samples}")
    if sequence_length <= 0:
        raise ValueError(f"sequence_length must be a positive integer. Received: sequence_length={sequence_length}")
    if group_size < -1 or group_size == 0:
        raise ValueError(
            "Invalid group_size. Supported values are -1 (one group per output channel) or a "
            f"positive integer, but got {group_size}."
        )


class _CalibratedConfig(QuantizationConfig):
    """What GPTQ and AWQ configs share: a mode name and the fields their configs save.

    The dataset and tokenizer serve the one-time calibration: they are saved as ``None``.
    """

    _MODE = None
    _FIELDS = ()

    @property
    def mode(self):
        return self._MODE

    def dtype_policy_string(self):
        """The mode part of the quantized policy: ``"<mode>/<weight_bits>/<group_size>"``."""
        return f"{self._MODE}/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        config = {"dataset": None, "tokenizer": None}
        config.update((name, getattr(self, name)) for name in self._FIELDS)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register_builtin("keras.quantizers")
class GPTQConfig(_CalibratedConfig):
    """Configuration of GPTQ, post-training quantization with Hessian-based error correction.

    ``model.quantize("gptq", config=GPTQConfig(...))`` runs the calibration samples through the
    model block by block; in each block it collects the inputs of every ``Dense`` /
    ``EinsumDense`` layer, and quantizes the layer's kernel column by column, pushing each
    column's rounding error onto the columns not yet quantized (Frantar et al., 2022).

    The model says what its blocks are through ``quantization_layer_structure`` or its
    ``get_quantization_layer_structure(mode)``: ``{"pre_block_layers": [...],
    "sequential_blocks": [...]}``. Calibration samples are token ids: ``sequence_length``
    windows cut from the concatenated ``dataset`` (strings go through ``tokenizer.tokenize``),
    fed to the pre-block layers (e.g. an embedding) one sample at a time.

    Args:
        dataset: The calibration data: an iterable of strings or of token-id arrays (a list,
            a generator, a NumPy array).
        tokenizer: An object with ``tokenize(text)`` used on string samples; required (also
            with pre-tokenized data).
        weight_bits: Bits per weight: 2, 3, 4 (two values per byte) or 8. Defaults to 4.
        num_samples: Number of calibration windows. Defaults to 128.
        per_channel: One scale and zero point per output channel (and group); ``False``
            for one per group of the whole tensor. Defaults to True.
        sequence_length: Tokens per calibration window. Defaults to 512.
        hessian_damping: Fraction of the mean Hessian diagonal added to the diagonal before
            inverting it, in ``[0, 1]``. Defaults to 0.01.
        group_size: Input columns that share a scale and zero point; ``-1`` for all of them.
            Defaults to 128.
        symmetric: Zero point fixed at the middle of the range. Defaults to False.
        activation_order: Quantize the columns with the largest Hessian diagonal first.
            Defaults to False.
        quantization_layer_structure: The ``{"pre_block_layers", "sequential_blocks"}`` dict;
            ``None`` asks the model.

    Example:

    >>> config = GPTQConfig(dataset=token_ids, tokenizer=tokenizer, group_size=64)
    >>> model.quantize("gptq", config=config)
    """

    _MODE = "gptq"
    _FIELDS = ("weight_bits", "num_samples", "per_channel", "sequence_length", "hessian_damping",
               "group_size", "symmetric", "activation_order", "quantization_layer_structure")

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, per_channel=True,
                 sequence_length=512, hessian_damping=0.01, group_size=128, symmetric=False,
                 activation_order=False, quantization_layer_structure=None):
        super().__init__()
        if weight_bits not in (2, 3, 4, 8):
            raise ValueError(f"Unsupported weight_bits {weight_bits}. Supported values are 2, 3, 4, and 8.")
        if hessian_damping < 0 or hessian_damping > 1:
            raise ValueError(f"hessian_damping must be between 0 and 1. Received: hessian_damping={hessian_damping}")
        _check_calibration_arguments(num_samples, sequence_length, group_size)
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.per_channel = per_channel
        self.sequence_length = sequence_length
        self.hessian_damping = hessian_damping
        self.group_size = group_size
        self.symmetric = symmetric
        self.activation_order = activation_order
        self.quantization_layer_structure = quantization_layer_structure


@register_builtin("keras.quantizers")
class AWQConfig(_CalibratedConfig):
    """Configuration of AWQ, activation-aware 4-bit weight quantization.

    ``model.quantize("awq", config=AWQConfig(...))`` walks the model's blocks like GPTQ (see
    ``GPTQConfig``), records the largest absolute input of every input channel of each
    ``Dense`` / ``EinsumDense`` layer, and picks per-channel scales ``x_max ** ratio`` (ratio
    on a grid in ``[0, 1]``) that minimize the activation-weighted error of the int4 kernel
    (Lin et al., 2023). The layer divides the scales back out when it computes.

    Args:
        dataset: The calibration data: an iterable of strings or of token-id arrays.
        tokenizer: An object with ``tokenize(text)`` used on string samples; required.
        weight_bits: Must be 4 (AWQ is 4-bit only). Defaults to 4.
        num_samples: Number of calibration windows. Defaults to 128.
        sequence_length: Tokens per calibration window. Defaults to 512.
        group_size: Input columns that share a scale and zero point; ``-1`` for all of them.
            Defaults to 128.
        num_grid_points: Grid steps of the scale search. Defaults to 20.
        quantization_layer_structure: The ``{"pre_block_layers", "sequential_blocks"}`` dict;
            ``None`` asks the model.

    Example:

    >>> model.quantize("awq", config=AWQConfig(dataset=token_ids, tokenizer=tokenizer))
    """

    _MODE = "awq"
    _FIELDS = ("weight_bits", "num_samples", "sequence_length", "group_size", "num_grid_points",
               "quantization_layer_structure")

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, sequence_length=512,
                 group_size=128, num_grid_points=20, quantization_layer_structure=None):
        super().__init__()
        if weight_bits != 4:
            raise ValueError(f"AWQ only supports 4-bit quantization. Received weight_bits={weight_bits}.")
        _check_calibration_arguments(num_samples, sequence_length, group_size)
        if num_grid_points <= 0:
            raise ValueError(f"num_grid_points must be a positive integer. Received: num_grid_points={num_grid_points}")
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.sequence_length = sequence_length
        self.group_size = group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure


_OBJECTS = {
    cls.__name__: cls
    for cls in (
        Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
        Float8QuantizationConfig, GPTQConfig, AWQConfig,
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
    elif isinstance(layer._resolved_dtype_policy, Int4DTypePolicy):
        block_size = layer._resolved_dtype_policy.block_size
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
