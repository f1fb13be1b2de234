"""What the quantizable and LoRA layers share: LoRA on a kernel, weight swaps and int4 scales.

``Dense``, ``EinsumDense``, ``Embedding`` (and ``ReversibleEmbedding``) and the convolutions
keep their own variable layouts; the steps below are the same for all of them, so they live
here once. Nothing here runs on the call path of a layer that is neither quantized nor LoRA.
"""

import torch

from lamina import activations


def _quantizers():
    # `lamina.quantizers` imports the saving registry, which imports layers: import when used.
    from lamina import quantizers

    return quantizers


class LoraKernel:
    """``enable_lora`` for layers whose weight is a ``kernel`` (``Dense``, ``EinsumDense``, convolutions).

    A layer may override ``_lora_base_shape`` (the kernel's logical shape), ``_base_kernel``
    (the stored kernel as Keras shows it, e.g. int4 unpacked) and ``_select_call`` (which
    ``call`` runs once LoRA is on).
    """

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freeze the kernel and train a low-rank update ``lora_kernel_a @ lora_kernel_b`` instead.

        ``lora_kernel_a`` has the kernel's shape with its last axis replaced by ``rank``;
        ``lora_kernel_b`` is ``(rank, kernel.shape[-1])``. The layer computes with
        ``kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b``.

        Args:
            rank: Inner dimension of the two factors.
            lora_alpha: Scale numerator of the update; defaults to ``rank``.
            a_initializer: Initializer of ``lora_kernel_a``.
            b_initializer: Initializer of ``lora_kernel_b`` (zeros: the layer starts out
                unchanged).

        Example:

        >>> layer = lamina.layers.Conv2D(8, 3)
        >>> layer.build((None, 16, 16, 3))
        >>> layer.enable_lora(4)
        >>> [w.name for w in layer.trainable_weights]
        ['bias', 'lora_kernel_a', 'lora_kernel_b']
        """
        self._check_lora_allowed(self.kernel_constraint, "kernel")
        base = self._kernel_variable()
        shape = tuple(self._lora_base_shape(base))
        self.lora_kernel_a, self.lora_kernel_b = self._add_lora_weights(
            base, "lora_kernel_a", "lora_kernel_b", shape[:-1] + (rank,), (rank, shape[-1]), rank,
            lora_alpha, a_initializer, b_initializer, self.kernel_regularizer,
        )
        self.__dict__["_kernel"] = base
        self._set_computed_attribute("kernel", merged_kernel)
        self._select_call()
        self._install_variable_hooks()

    def _lora_base_shape(self, base):
        return base.shape

    def _base_kernel(self):
        """The frozen kernel that LoRA's update is added to."""
        return self.__dict__["_kernel"]

    def _merged_kernel(self):
        return with_lora(self, self._base_kernel())

    def _select_call(self):
        # The layer's own `call` reads `self.kernel`, which LoRA serves merged.
        pass

    def _kernel_variable(self):
        kernel = self.__dict__.get("_kernel")
        return kernel if kernel is not None else self.__dict__["kernel"]

    def _lora_delta(self):
        return lora_delta(self, self.lora_kernel_a, self.lora_kernel_b)


class QuantizedKernel(LoraKernel):
    """``quantize`` for the layers with one ``kernel`` to quantize (``Dense``, ``EinsumDense``).

    The layer supplies ``_quantization_base_class`` (the class ``type_check`` accepts),
    ``_int8_quantize`` and ``_int4_quantize`` (its kernel's values, scale and zero point),
    ``quantized_build``, ``_quantization_spec`` (the saved variables of each mode),
    ``_dequantized_kernel`` and ``_int8_requantize`` (for saving a LoRA-merged kernel).
    """

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the kernel in place: ``"int8"``, ``"int4"``, ``"float8"``, ``"gptq"`` or ``"awq"``.

        Args:
            mode: ``"int8"`` (abs-max per output unit or position), ``"int4"`` (per output
                column, or per block of the contracted rows with
                ``Int4QuantizationConfig(block_size=...)``; Keras's default block is 128) or
                ``"float8"``.
            type_check: Refuse subclasses of the layer class (which may compute differently).
            config: An ``Int8QuantizationConfig``, ``Int4QuantizationConfig`` or
                ``Float8QuantizationConfig``; ``None`` for the mode's default config. GPTQ and
                AWQ need a ``GPTQConfig`` / ``AWQConfig``: the layer only gets its quantized
                variables here, ``Model.quantize`` calibrates and fills them.
        """
        config = resolve_quantize_config(
            self, self._quantization_base_class(), mode, config, type_check,
            ("int8", "int4", "float8", "gptq", "awq"),
        )
        mode = config.mode
        self.quantization_config = config
        kernel = self._kernel_variable()
        shape = tuple(kernel.shape)
        if mode == "int4":
            values, scale, zero = self._int4_quantize(kernel.detach(), config)
            drop_weight(self, "kernel")
            self.quantized_build(shape, mode, config)
            copy_quantized(self, "kernel", values, scale, zero)
        elif mode == "int8":
            values, scale = self._int8_quantize(kernel.detach(), config)
            drop_weight(self, "kernel")
            self.quantized_build(shape, mode)
            copy_quantized(self, "kernel", values, scale)
        elif mode in ("gptq", "awq"):
            # The float kernel stays until the model-level calibration replaces it.
            self._calibrated_quantize(shape, config)
            self._set_quantized_policy(config.dtype_policy_string())
            self._select_call()
            return
        else:
            self.quantized_build(shape, mode)
        self._set_quantized_policy(mode if mode != "int4" else int4_policy_mode(self, config))
        self._select_call()

    def _finish(self, out):
        """The bias and the activation, after the quantized or LoRA product."""
        if self.bias is not None:
            out = out + self.bias
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def _float8_finish(self, out, round_bias):
        """``_finish`` of the float8 call; ``round_bias`` when the product is float32."""
        if self.bias is not None:
            bias = self.bias
            if round_bias and bias.dtype == torch.float32:
                # Keras rounds a float32 bias through bfloat16 here (for XLA's fused bias add).
                bias = bias.to(torch.bfloat16).to(torch.float32)
            out = out + bias
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    # --- saving ----------------------------------------------------------------------------------
    def _serialized_variables(self):
        return kernel_spec_variables(self, self._quantization_spec()[self.quantization_mode])

    def _serialized_values(self):
        values = self._serialized_variables()
        if not self.lora_enabled:
            return values
        mode = self.quantization_mode
        if mode is None:
            values[0] = self._merged_kernel()
        elif mode == "int8":
            # Keras merges the update into the dequantized kernel and quantizes again.
            values[0], values[-1] = self._int8_requantize(self._dequantized_kernel() + self._lora_delta())
        elif mode == "int4":
            merged = self._dequantized_kernel() + self._lora_delta()
            packed, scale, zero = self._int4_quantize(merged, self.quantization_config)
            at = 2 if self.bias is not None else 1
            values[0], values[at] = packed, scale
            if zero is not None:
                values[at + 1] = zero
        return values


def merged_kernel(layer):
    """The getter of a LoRA layer's ``kernel`` attribute: the base kernel plus the update."""
    return layer._merged_kernel()


def with_lora(layer, base):
    """``base`` plus the LoRA update in the compute dtype; ``base`` itself without LoRA."""
    if not layer.lora_enabled:
        return base
    return (base + layer._lora_delta()).to(layer._compute_torch_dtype)


def lora_delta(layer, a, b):
    """``(lora_alpha / lora_rank) * a @ b``: the LoRA update of the base weight."""
    return (layer.lora_alpha / layer.lora_rank) * torch.matmul(a, b)


def add_lora_output(layer, out, lora):
    """``out`` plus the scaled LoRA product ``lora`` of the inputs, in the compute dtype."""
    return (out + (layer.lora_alpha / layer.lora_rank) * lora).to(layer._compute_torch_dtype)


def select_call(layer, base_class):
    """Run the quantized call, or the LoRA call, in place of ``base_class.call``.

    A subclass with its own ``call`` keeps it: that call reads the (merged) weight attribute.
    """
    if type(layer).call is not base_class.call:
        return
    if layer.quantization_mode is not None:
        layer._use_call(layer.quantized_call)
    elif layer.lora_enabled:
        layer._use_call(layer._lora_call)


def resolve_quantize_config(layer, base_class, mode, config, type_check, supported):
    """The checks that open ``quantize``: returns the resolved quantization config.

    Refuses subclasses of ``base_class`` when ``type_check``, unbuilt or already quantized
    layers, and modes outside ``supported``.
    """
    if type_check and type(layer) is not base_class:
        raise layer._not_implemented_error(layer.quantize)
    config = _quantizers()._resolve_config(mode, config)
    mode = config.mode
    layer._check_quantize_args(mode, layer.compute_dtype)
    if mode not in supported:
        names = ", ".join(repr(m) for m in supported[:-1]) + f" or {supported[-1]!r}"
        raise NotImplementedError(
            f"Layer '{layer.name}' ({base_class.__name__}): quantization mode '{mode}' is not "
            f"supported by Lamina; use {names}."
        )
    return config


def copy_quantized(layer, name, values, scale, zero=None):
    """Fill the quantized ``_<name>``, ``<name>_scale`` and (with blocks) ``<name>_zero``."""
    with torch.no_grad():
        getattr(layer, f"_{name}").copy_(values)
        getattr(layer, f"{name}_scale").copy_(scale)
        if zero is not None:
            getattr(layer, f"{name}_zero").copy_(zero)


def drop_weight(layer, name):
    """Remove the float weight ``name`` (and its LoRA getter) before it is built quantized."""
    layer.__dict__.get("_computed_attributes", {}).pop(name, None)
    layer._remove_variable(name)
    layer.__dict__.pop(f"_{name}", None)


def int4_policy_mode(layer, config):
    """The policy's mode after int4 quantization: ``int4/<block size>``, ``-1`` per channel."""
    block_size = _quantizers()._int4_block_size(layer, config)
    return f"int4/{-1 if block_size is None else block_size}"


def add_int4_scales(layer, name, shape, g_idx_length, block_size):
    """Add ``<name>_scale`` of ``shape``; with a ``block_size`` also ``<name>_zero`` and ``g_idx``.

    ``g_idx`` gives the block of each of the ``g_idx_length`` positions along the blocked axis.
    """
    setattr(layer, f"{name}_scale", layer.add_weight(
        name=f"{name}_scale", shape=shape, initializer="ones", trainable=False
    ))
    if block_size is not None:
        setattr(layer, f"{name}_zero", layer.add_weight(
            name=f"{name}_zero", shape=shape, initializer="zeros", dtype="int8", trainable=False
        ))
        layer.g_idx = layer.add_weight(
            name="g_idx", shape=(g_idx_length,), dtype="float32", trainable=False,
            initializer=lambda shape, dtype=None: torch.div(
                torch.arange(shape[0], dtype=torch.float32), block_size, rounding_mode="floor"
            ),
        )


def kernel_spec_variables(layer, spec):
    """The variables a quantized or LoRA kernel layer saves, in the order of ``spec``."""
    variables = []
    for name in spec:
        if name == "kernel":
            variables.append(layer._kernel_variable())
        elif name == "bias" and layer.bias is None:
            continue
        elif name in ("kernel_zero", "g_idx") and layer.__dict__.get("_int4_block_size") is None:
            continue  # Only sub-channel int4 has them.
        else:
            variables.append(getattr(layer, name))
    return variables
