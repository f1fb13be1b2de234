"""GPTQ and AWQ state of a kernel layer (``Dense``, ``EinsumDense``): variables, call, saving.

Both modes are calibrated: ``quantize("gptq" | "awq", config)`` only creates the quantized
variables and keeps computing with the float kernel; the model-level calibration
(``lamina.models._calibrated_quantization``) then fills them through ``store_calibration``,
which drops the float kernel. A layer built from a ``"gptq/..."`` / ``"awq/..."`` policy (a
saved model) has no float kernel and computes with the variables it loads.

Layout, as Keras 3.15: the kernel is seen as a ``(rows, columns)`` matrix (inputs x outputs;
a 3-D EinsumDense kernel folds its head axes into one side) and stored transposed as the
unsigned integer ``quantized_kernel`` ``(columns, rows)``, 4-bit values packed two per byte
along the columns; ``kernel_scale`` and ``kernel_zero`` are ``(columns, n_groups)``, ``g_idx``
gives each row's group, and AWQ adds ``awq_scales`` ``(rows,)``, divided out of the rows.
"""

import math

import torch

from lamina.layers import _quantized_weights as qw
from lamina.ops import quantization as q

CALIBRATED_MODES = ("gptq", "awq")


def calibrated_dims(kernel_shape):
    """``(rows, columns)`` of a 2-D or 3-D kernel as GPTQ and AWQ see it.

    A 3-D kernel whose largest axis comes first is ``(in, heads, head_dim)`` (a query/key/value
    projection): rows ``in``, columns ``heads * head_dim``; otherwise it is
    ``(heads, head_dim, out)`` (an attention output): rows ``heads * head_dim``, columns ``out``.
    """
    shape = list(kernel_shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 3:
        if shape.index(max(shape)) == 0:
            return shape[0], shape[1] * shape[2]
        return shape[0] * shape[1], shape[2]
    raise ValueError(f"GPTQ and AWQ quantize 2-D or 3-D kernels only. Received a kernel of shape {tuple(shape)}.")


class CalibratedKernel:
    """The ``"gptq"`` and ``"awq"`` modes of a kernel layer.

    The layer supplies ``_calibrated_product(inputs, kernel)`` (its product, bias and
    activation with a kernel of the float kernel's shape) and may set ``_zero_point_name``
    (the saved name of ``kernel_zero``).
    """

    _zero_point_name = "kernel_zero"

    def _calibrated_settings(self, config):
        """``(weight_bits, group_size)`` from the config, else from the layer's policy."""
        from lamina.backend.quantized_dtype_policy import AWQDTypePolicy, GPTQDTypePolicy

        mode = self.quantization_mode if config is None else config.mode
        if config is not None and config.mode in CALIBRATED_MODES:
            return config.weight_bits, config.group_size
        policy = self._resolved_dtype_policy
        if isinstance(policy, (GPTQDTypePolicy, AWQDTypePolicy)):
            return policy.weight_bits, policy.group_size
        name = "GPTQ" if mode == "gptq" else "AWQ"
        raise ValueError(
            f"Layer '{self.name}': for {name} quantization, weight_bits and group_size must come from "
            f"a `{name}Config` (`config` argument) or a `{name}DTypePolicy` dtype policy. Received: "
            f"dtype policy {policy.name!r}, config={config!r}."
        )

    def _calibrated_build(self, kernel_shape, mode, config):
        rows, columns = calibrated_dims(kernel_shape)
        bits, group_size = self._calibrated_settings(config)
        self.__dict__["_calibrated"] = False
        setattr(self, f"is_{mode}_calibrated", False)
        self._calibrated_layout = (tuple(kernel_shape), rows, columns, bits)
        n_groups = 1 if group_size == -1 else math.ceil(rows / group_size)
        packed = (columns + 1) // 2 if bits == 4 else columns
        self.quantized_kernel = self.add_weight(
            name="kernel", shape=(packed, rows), initializer="zeros", dtype="uint8", trainable=False
        )
        self.kernel_scale = self.add_weight(
            name="kernel_scale", shape=(columns, n_groups), initializer="ones", trainable=False
        )
        self.kernel_zero = self.add_weight(
            name=self._zero_point_name, shape=(columns, n_groups), initializer="zeros", dtype="uint8",
            trainable=False,
        )
        if mode == "awq":
            self.awq_scales = self.add_weight(name="awq_scales", shape=(rows,), initializer="ones", trainable=False)
        self.g_idx = self.add_weight(name="g_idx", shape=(rows,), initializer="zeros", dtype="float32", trainable=False)
        self.__dict__["_is_quantized"] = True
        self._install_variable_hooks()

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        if self.quantization_mode in CALIBRATED_MODES:
            raise NotImplementedError(
                f"Layer '{self.name}': LoRA is not supported with {self.quantization_mode.upper()} quantization."
            )
        return super().enable_lora(rank, lora_alpha, a_initializer, b_initializer)

    enable_lora.__doc__ = qw.LoraKernel.enable_lora.__doc__

    def _calibrated_quantize(self, kernel_shape, config):
        """``quantize(mode)`` of a float layer: add the variables, keep the float kernel for now."""
        if self.lora_enabled:
            raise NotImplementedError(f"Layer '{self.name}': LoRA is not supported with {config.mode.upper()} quantization.")
        self._calibrated_build(kernel_shape, config.mode, config)
        # The layer keeps the settings only: the calibration data and the block structure (which
        # holds layers, and so could not be serialized with this layer) serve `Model.quantize`.
        settings = dict(config.get_config(), quantization_layer_structure=None)
        self.quantization_config = type(config).from_config(settings)

    def _float_kernel(self):
        """The float kernel until calibration replaces it (``None`` afterwards)."""
        kernel = self.__dict__.get("kernel")
        return kernel if kernel is not None and kernel is not self.__dict__.get("quantized_kernel") else None

    def _unpacked_quantized_kernel(self):
        _, _, columns, bits = self._calibrated_layout
        if bits == 4:
            return q.unpack_int4(self.quantized_kernel, columns, axis=0, dtype="uint8")
        return self.quantized_kernel

    def _calibrated_dequantized_kernel(self):
        """The kernel the quantized variables stand for, in the float kernel's shape."""
        shape, _, _, _ = self._calibrated_layout
        kernel = q.dequantize_with_sz_map(
            self._unpacked_quantized_kernel(), self.kernel_scale, self.kernel_zero, self.g_idx, group_axis=-1
        ).T
        if self.quantization_mode == "awq":
            kernel = kernel / self.awq_scales[:, None]
        return kernel.reshape(shape)

    def _calibrated_call(self, inputs):
        kernel = self._float_kernel()
        if kernel is None:
            kernel = self._calibrated_dequantized_kernel()
        return self._calibrated_product(inputs, kernel)

    def _gptq_call(self, inputs):
        return self._calibrated_call(inputs)

    def _awq_call(self, inputs):
        return self._calibrated_call(inputs)

    def calibration_kernel(self):
        """The float kernel as the ``(rows, columns)`` matrix the calibration quantizes."""
        _, rows, columns, _ = self._calibrated_layout
        return self._float_kernel().detach().reshape(rows, columns)

    def calibration_rows(self):
        """Input features per row of the calibration matrix (what the recorded inputs have)."""
        return self._calibrated_layout[1]

    def store_calibration(self, quantized, scale, zero, g_idx, awq_scales=None):
        """Keep the calibrated integers (``(columns, rows)``) and parameters; drop the float kernel."""
        bits = self._calibrated_layout[3]
        values = quantized.to(torch.uint8)
        if bits == 4:
            values, _, _ = q.pack_int4(values, axis=0, dtype="uint8")
        with torch.no_grad():
            self.quantized_kernel.copy_(values)
            self.kernel_scale.copy_(scale)
            self.kernel_zero.copy_(zero)
            self.g_idx.copy_(g_idx)
            if awq_scales is not None:
                self.awq_scales.copy_(awq_scales)
        self._mark_calibrated()

    def _mark_calibrated(self):
        if self._float_kernel() is not None:
            qw.drop_weight(self, "kernel")
        self.__dict__["_calibrated"] = True
        setattr(self, f"is_{self.quantization_mode}_calibrated", True)
        # `layer.kernel` now shows the stored integers, as Keras's does.
        self._set_computed_attribute("kernel", CalibratedKernel._unpacked_quantized_kernel)

    # --- saving ----------------------------------------------------------------------------------
    def _serialized_variables(self):
        mode = self.quantization_mode
        if mode not in CALIBRATED_MODES:
            return super()._serialized_variables()
        # Keras 3.15 reads these in this order (its own writer leaves out `kernel_zero`, which
        # makes its files unloadable, Keras included; Lamina writes the complete list).
        names = ["bias", "quantized_kernel", "kernel_scale", "kernel_zero"]
        names += ["awq_scales", "g_idx"] if mode == "awq" else ["g_idx"]
        return [getattr(self, name) for name in names if not (name == "bias" and self.bias is None)]

    def _load_spec_variables(self, store):
        if self.quantization_mode in CALIBRATED_MODES:
            expected = len(self._serialized_variables())
            found = len(list(store.keys())) if hasattr(store, "keys") else 0
            if found == expected - 1:
                raise ValueError(
                    f"Layer '{self.name}': the file has {found} of the {expected} variables of a "
                    f"{self.quantization_mode.upper()} layer: it lacks `kernel_zero` (Keras 3.15 saves "
                    "GPTQ/AWQ layers without their zero points, so such a file cannot be loaded "
                    "faithfully; save the quantized model with Lamina, or quantize the float model again)."
                )
        super()._load_spec_variables(store)

    def _after_load_variables(self):
        super()._after_load_variables()
        if self.quantization_mode in CALIBRATED_MODES:
            # A saved GPTQ/AWQ layer is always calibrated.
            self._mark_calibrated()
