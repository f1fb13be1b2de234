"""Quantized dtype policies: a quantization mode on top of a float source policy.

``"int8_from_float32"`` means int8 weights in layers that otherwise compute (and keep their other
variables) as ``"float32"`` does. Layers read ``policy.quantization_mode`` to build quantized
weights instead of float ones.
"""

from lamina.backend.dtype_policy import DTypePolicy, global_policy

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


class QuantizedDTypePolicy(DTypePolicy):
    """A dtype policy for layers whose weights are quantized.

    Args:
        mode: The quantization mode: ``"int8"``, ``"float8"`` or ``"int4"``.
        source_name: The float policy the layer computes in (e.g. ``"float32"``,
            ``"mixed_bfloat16"``); defaults to the global policy.

    Example:

    >>> policy = QuantizedDTypePolicy("int8", "mixed_bfloat16")
    >>> policy.name, policy.compute_dtype, policy.variable_dtype
    ('int8_from_mixed_bfloat16', 'bfloat16', 'float32')
    """

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = global_policy().name
        source = DTypePolicy(source_name)
        if mode not in QUANTIZATION_MODES:
            raise ValueError(
                f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}"
            )
        if mode == "int8" and source.compute_dtype == "float16":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'.")
        self._compute_dtype = source.compute_dtype
        self._variable_dtype = source.variable_dtype
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    @property
    def quantization_mode(self):
        return self._quantization_mode

    def get_config(self):
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __eq__(self, other):
        return (
            type(other) is type(self)
            and other.get_config() == self.get_config()
        )

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<{type(self).__name__} "{self._name}">'


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The float8 quantized policy, with the length of the delayed-scaling amax history.

    Args:
        mode: ``"float8"``.
        source_name: The float source policy name.
        amax_history_length: How many recent absolute maxima a float8 layer keeps to set its
            scales (Keras's default: 1024).
    """

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=1024):
        super().__init__(mode=mode, source_name=source_name)
        if not isinstance(amax_history_length, int) or isinstance(amax_history_length, bool):
            raise TypeError(
                f"`amax_history_length` must be an integer. Received: amax_history_length={amax_history_length!r}"
            )
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self):
        return self._amax_history_length

    def get_config(self):
        config = super().get_config()
        config["amax_history_length"] = self._amax_history_length
        return config


class Int4DTypePolicy(QuantizedDTypePolicy):
    """The int4 policy with its block size: ``"int4/128_from_float32"``.

    Args:
        mode: ``"int4/<block_size>"``; ``-1`` means one scale per output channel.
        source_name: The float source policy name.
    """

    def __init__(self, mode, source_name=None):
        parts = mode.split("/") if isinstance(mode, str) else []
        if len(parts) != 2 or parts[0] != "int4":
            raise ValueError(
                f"Invalid mode for Int4DTypePolicy. Expected format 'int4/<block_size>', but got '{mode}'."
            )
        try:
            block_size = int(parts[1])
        except ValueError:
            raise ValueError(
                "Invalid mode for Int4DTypePolicy. <block_size> must be an integer. Expected format "
                f"'int4/<block_size>', but got '{mode}'."
            ) from None
        if block_size < -1 or block_size == 0:
            raise ValueError(
                "Invalid block_size in mode. Supported values are -1 (per-channel) or a positive "
                f"integer (sub-channel), but got {block_size} from '{mode}'."
            )
        super().__init__(mode="int4", source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self._int4_mode = mode
        self.block_size = block_size

    def get_config(self):
        return {"mode": self._int4_mode, "source_name": self._source_name}


class _CalibratedDTypePolicy(QuantizedDTypePolicy):
    """A policy named ``"<algorithm>/<weight_bits>/<group_size>_from_<source>"`` (GPTQ, AWQ)."""

    _algorithm = None
    _allowed_bits = ()

    def __init__(self, mode, source_name=None):
        algorithm = self._algorithm
        kind = type(self).__name__
        expected = f"'{algorithm}/<weight_bits>/<group_size>'"
        parts = mode.split("/") if isinstance(mode, str) else []
        if len(parts) != 3 or parts[0] != algorithm:
            raise ValueError(f"Invalid mode for {kind}. Expected format {expected}, but got '{mode}'.")
        try:
            weight_bits, group_size = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(
                f"Invalid mode for {kind}. <weight_bits> and <group_size> must be integers. Expected "
                f"format {expected}, but got '{mode}'."
            ) from None
        if weight_bits not in self._allowed_bits:
            raise ValueError(
                f"Invalid weight_bits in mode. {kind} supports weight_bits in {list(self._allowed_bits)}, "
                f"but got {weight_bits} from '{mode}'."
            )
        if group_size < -1 or group_size == 0:
            raise ValueError(
                "Invalid group_size in mode. Supported values are -1 (one group per output channel) "
                f"or a positive integer, but got {group_size} from '{mode}'."
            )
        super().__init__(mode=algorithm, source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.weight_bits = weight_bits
        self.group_size = group_size

    def get_config(self):
        return {
            "mode": f"{self._algorithm}/{self.weight_bits}/{self.group_size}",
            "source_name": self._source_name,
        }


class GPTQDTypePolicy(_CalibratedDTypePolicy):
    """The GPTQ policy: ``"gptq/<weight_bits>/<group_size>_from_<source>"``.

    A layer built with it holds GPTQ-quantized weights (``quantized_kernel``, ``kernel_scale``,
    ``kernel_zero``, ``g_idx``), so a saved GPTQ model loads without calibrating again.

    Args:
        mode: ``"gptq/<weight_bits>/<group_size>"``; ``weight_bits`` is 2, 3, 4 or 8 and
            ``group_size`` ``-1`` (one group per output channel) or a positive integer.
        source_name: The float source policy name.

    Example:

    >>> policy = GPTQDTypePolicy("gptq/4/128", "float32")
    >>> policy.name, policy.weight_bits, policy.group_size
    ('gptq/4/128_from_float32', 4, 128)
    """

    _algorithm = "gptq"
    _allowed_bits = (2, 3, 4, 8)


class AWQDTypePolicy(_CalibratedDTypePolicy):
    """The AWQ policy: ``"awq/4/<group_size>_from_<source>"`` (AWQ is 4-bit only).

    Args:
        mode: ``"awq/4/<group_size>"``; ``group_size`` ``-1`` or a positive integer.
        source_name: The float source policy name.
    """

    _algorithm = "awq"
    _allowed_bits = (4,)


def policy_from_string(name):
    """The quantized policy named ``"<mode>_from_<source>"``."""
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError(
            "Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
            f"`QuantizedDTypePolicy`. Received: policy={name}"
        )
    mode, source_name = parts
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source_name)
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source_name)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source_name)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source_name)
    return QuantizedDTypePolicy(mode, source_name)


def policy_from_config(class_name, config):
    classes = {
        "QuantizedDTypePolicy": QuantizedDTypePolicy,
        "QuantizedFloat8DTypePolicy": QuantizedFloat8DTypePolicy,
        "Int4DTypePolicy": Int4DTypePolicy,
        "GPTQDTypePolicy": GPTQDTypePolicy,
        "AWQDTypePolicy": AWQDTypePolicy,
    }
    return classes[class_name](**config)
