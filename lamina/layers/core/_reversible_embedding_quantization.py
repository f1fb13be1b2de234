"""int8/int4 quantization for ``ReversibleEmbedding``, with Keras 3.15's variables and layout.

The table is quantized as ``Embedding``'s. Untied layers also quantize ``reverse_embeddings``
``(output_dim, input_dim)``: int8 with a scale per column (``reverse_embeddings_scale``); int4
packed two per byte along the output axis, per column or, with a ``block_size``, per block of
output rows and column with a zero point (``reverse_embeddings_zero``). The reverse call
quantizes its inputs per row (abs-max) when the layer has an input quantizer, as Keras does.
"""

import math

import torch

from lamina.layers.core._embedding_quantization import EmbeddingQuantization, _quantizers
from lamina.ops import quantization as q


class ReversibleEmbeddingQuantization:
    """``ReversibleEmbedding``'s ``quantize`` and its quantized reverse projection."""

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the table (and an untied reverse matrix) in place: ``"int8"`` or ``"int4"``.

        Args:
            mode: ``"int8"`` or ``"int4"``.
            type_check: Refuse subclasses of ``ReversibleEmbedding``.
            config: An ``Int8QuantizationConfig`` or ``Int4QuantizationConfig``; ``None`` for
                the mode's default.
        """
        from lamina.layers.core.reversible_embedding import ReversibleEmbedding

        if type_check and type(self) is not ReversibleEmbedding:
            raise self._not_implemented_error(self.quantize)
        config = _quantizers()._resolve_config(mode, config)
        if config.mode not in ("int8", "int4"):
            raise NotImplementedError(
                f"Layer '{self.name}' (ReversibleEmbedding): quantization mode '{config.mode}' is not "
                "supported by Lamina; use 'int8' or 'int4'."
            )
        self._check_quantize_args(config.mode, self.compute_dtype)
        reverse = None
        if not self.tie_weights:
            reverse = self._quantize_reverse(self.reverse_embeddings.detach(), config)
            self._remove_variable("reverse_embeddings")
        EmbeddingQuantization.quantize(self, config=config, type_check=False)
        if reverse is not None:
            with torch.no_grad():
                self.reverse_embeddings.copy_(reverse[0])
                self.reverse_embeddings_scale.copy_(reverse[1])
                if reverse[2] is not None:
                    self.reverse_embeddings_zero.copy_(reverse[2])

    def _quantize_reverse(self, matrix, config):
        """Quantized values (int4: packed along the output axis), scale and zero point."""
        if config.mode == "int8":
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=0)
            )
            values, scale = quantizer(matrix, to_numpy=True)
            return values, scale.reshape(-1), None
        block_size = _quantizers()._int4_block_size(self, config)
        zero = None
        if block_size is None:
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8")
            )
            values, scale = quantizer(matrix, to_numpy=True)
            scale = scale.reshape(-1)
        else:
            values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(matrix, block_size=block_size)
            zero = zero.to(torch.float32)  # Keras keeps this zero point as a float variable.
        packed, _, _ = q.pack_int4(values, axis=0)
        return packed, scale, zero

    def quantized_build(self, embeddings_shape, mode, config=None):
        """The table's quantized variables, then (untied) the int8 reverse matrix and its scales."""
        if mode not in ("int8", "int4"):
            raise self._quantization_mode_error(mode)
        EmbeddingQuantization.quantized_build(self, embeddings_shape, mode, config)
        config = config if config is not None else self.quantization_config
        self.inputs_quantizer = _quantizers().QuantizationConfig.activation_quantizer_or_default(
            config, _quantizers().AbsMaxQuantizer(axis=-1)
        )
        if mode == "int4":
            if not self.tie_weights:
                self._int4_reverse_build(config)
            return
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings", shape=(self.output_dim, self.input_dim), initializer="zeros",
                dtype="int8", trainable=False,
            )
            self.reverse_embeddings_scale = self.add_weight(
                name="reverse_embeddings_scale", shape=(self.input_dim,), initializer="ones", trainable=False
            )

    def _int4_reverse_build(self, config):
        self.reverse_embeddings = self.add_weight(
            name="reverse_embeddings", shape=((self.output_dim + 1) // 2, self.input_dim), initializer="zeros",
            dtype="int8", trainable=False,
        )
        block_size = _quantizers()._int4_block_size(self, config)
        shape = (self.input_dim,) if block_size is None else (math.ceil(self.output_dim / block_size), self.input_dim)
        self.reverse_embeddings_scale = self.add_weight(
            name="reverse_embeddings_scale", shape=shape, initializer="ones", trainable=False
        )
        if block_size is not None:
            self.reverse_embeddings_zero = self.add_weight(
                name="reverse_embeddings_zero", shape=shape, initializer="zeros", trainable=False
            )

    def _int4_reverse(self, inputs):
        dtype = self._compute_torch_dtype
        blocks = self._int4_block_size is not None
        if self.tie_weights:
            packed, scale = self.__dict__["_embeddings"].T, self.embeddings_scale
            zero = self.embeddings_zero.T if blocks else None
            scale = scale.T if blocks else scale
        else:
            packed, scale = self.reverse_embeddings, self.reverse_embeddings_scale
            zero = self.reverse_embeddings_zero if blocks else None
        kernel = q.unpack_int4(packed, self.output_dim, axis=0)
        inputs = inputs.to(dtype)
        inputs_scale = None
        if self.inputs_quantizer:
            inputs, inputs_scale = self.inputs_quantizer(inputs)
            inputs = inputs.to(dtype)
        if not blocks:
            divisor = scale.to(dtype) if inputs_scale is None else inputs_scale * scale
            logits = torch.matmul(inputs, kernel.to(dtype)) / divisor
        else:
            float_kernel = q.dequantize_with_sz_map(kernel.to(dtype), scale, zero, self.g_idx, group_axis=0)
            logits = torch.matmul(inputs, float_kernel.to(dtype))
            if inputs_scale is not None:
                logits = logits / inputs_scale
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def _int8_reverse(self, inputs):
        if self.tie_weights:
            kernel, scale = self.__dict__["_embeddings"].T, self.embeddings_scale
        else:
            kernel, scale = self.reverse_embeddings, self.reverse_embeddings_scale
        dtype = self._compute_torch_dtype
        inputs = inputs.to(dtype)
        if self.inputs_quantizer:
            inputs, inputs_scale = self.inputs_quantizer(inputs)
            inputs = inputs.to(dtype)
            scale = inputs_scale * scale
        logits = torch.matmul(inputs, kernel.to(dtype)) / scale.to(dtype)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def _serialized_variables(self):
        variables = EmbeddingQuantization._serialized_variables(self)
        if not self.tie_weights:
            variables.append(self.reverse_embeddings)
            if self.quantization_mode in ("int8", "int4"):
                variables.append(self.reverse_embeddings_scale)
            if self.quantization_mode == "int4" and self._int4_block_size is not None:
                variables.append(self.reverse_embeddings_zero)
        return variables

    def _serialized_values(self):
        values = EmbeddingQuantization._serialized_values(self)
        if not self.tie_weights and self.lora_enabled:
            values += self._serialized_variables()[len(values):]
        return values
