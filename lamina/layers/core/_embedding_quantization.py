"""int8/int4 quantization and LoRA for ``Embedding``, with Keras 3.15's variables and saved layout.

int8 keeps an int8 ``embeddings`` table and one ``embeddings_scale`` per row; int4 packs two
values per byte along the output axis (``(input_dim, ceil(output_dim / 2))``) with a scale per
row, or, with a ``block_size``, a scale and zero point per row and block of output columns
(``embeddings_zero``, ``g_idx``); LoRA adds
``lora_embeddings_a`` ``(input_dim, rank)`` and ``lora_embeddings_b`` ``(rank, output_dim)``.
"""

import math

import torch

from lamina.layers import _quantized_weights as qw
from lamina.ops import quantization as q

_SPEC = {
    None: ("embeddings",),
    "int8": ("embeddings", "embeddings_scale"),
    "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx"),
}


_quantizers = qw._quantizers


def _as_indices(inputs):
    return inputs if inputs.dtype in (torch.int32, torch.int64) else inputs.to(torch.int64)


class EmbeddingQuantization:
    """``Embedding``'s ``enable_lora``, ``quantize`` and the quantized call."""

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freeze the table and train ``lora_embeddings_a @ lora_embeddings_b`` on top of it.

        Args:
            rank: Inner dimension of the two factors.
            lora_alpha: Scale numerator of the update; defaults to ``rank``.
            a_initializer, b_initializer: Initializers of the two factors.
        """
        self._check_lora_allowed(self.embeddings_constraint, "embeddings")
        base = self._embeddings_variable()
        self.lora_embeddings_a, self.lora_embeddings_b = self._add_lora_weights(
            base, "lora_embeddings_a", "lora_embeddings_b", (self.input_dim, rank), (rank, self.output_dim),
            rank, lora_alpha, a_initializer, b_initializer, self.embeddings_regularizer,
        )
        self.__dict__["_embeddings"] = base
        self._set_computed_attribute("embeddings", EmbeddingQuantization._merged_embeddings)
        self._select_call()
        self._install_variable_hooks()

    def _embeddings_variable(self):
        table = self.__dict__.get("_embeddings")
        return table if table is not None else self.__dict__["embeddings"]

    def _base_embeddings(self):
        """The stored table, int4 values unpacked (what Keras's ``embeddings`` shows)."""
        table = self.__dict__["_embeddings"]
        if self.quantization_mode == "int4":
            table = q.unpack_int4(table, self.output_dim, axis=-1)
        return table

    def _merged_embeddings(self):
        return qw.with_lora(self, self._base_embeddings())

    def _lora_delta(self):
        return qw.lora_delta(self, self.lora_embeddings_a, self.lora_embeddings_b)

    def _select_call(self):
        from lamina.layers.core.embedding import Embedding

        qw.select_call(self, Embedding)

    def _lora_call(self, inputs):
        indices = _as_indices(inputs)
        table = self.__dict__["_embeddings"]
        out = torch.nn.functional.embedding(indices, table).to(self._compute_torch_dtype)
        return self._add_lora(indices, out)

    def _add_lora(self, indices, out):
        lora = torch.matmul(torch.nn.functional.embedding(indices, self.lora_embeddings_a), self.lora_embeddings_b)
        return qw.add_lora_output(self, out, lora)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the table in place: ``"int8"`` or ``"int4"``, abs-max scales per row.

        Args:
            mode: ``"int8"`` or ``"int4"`` (per row, or per row and block of output columns
                with ``Int4QuantizationConfig(block_size=...)``; Keras's default block is 128).
            type_check: Refuse subclasses of ``Embedding``.
            config: An ``Int8QuantizationConfig`` or ``Int4QuantizationConfig``; ``None`` for
                the mode's default config.
        """
        from lamina.layers.core.embedding import Embedding

        config = qw.resolve_quantize_config(self, Embedding, mode, config, type_check, ("int8", "int4"))
        mode = config.mode
        self.quantization_config = config
        table = self._embeddings_variable().detach()
        zero = None
        if mode == "int8":
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=-1)
            )
            values, scale = quantizer(table, to_numpy=True)
            scale = scale.reshape(-1)
        else:
            values, scale, zero = self._int4_quantize(table, config)
        qw.drop_weight(self, "embeddings")
        self.quantized_build((self.input_dim, self.output_dim), mode, config)
        qw.copy_quantized(self, "embeddings", values, scale, zero)
        self._set_quantized_policy(mode if mode != "int4" else qw.int4_policy_mode(self, config))
        self._select_call()

    def _int4_quantize(self, table, config):
        """Packed int4 values, scale and zero point (``None`` per row) of a float table."""
        block_size = _quantizers()._int4_block_size(self, config)
        zero = None
        if block_size is None:
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=-1, value_range=(-8, 7), output_dtype="int8")
            )
            values, scale = quantizer(table, to_numpy=True)
            scale = scale.reshape(-1)
        else:
            # Blocks run along the output axis: quantize the transposed table by row groups.
            values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(table.T, block_size=block_size)
            values, scale, zero = values.T, scale.T, zero.T
        packed, _, _ = q.pack_int4(values.contiguous(), axis=-1)
        return packed, scale, zero

    def quantized_build(self, embeddings_shape, mode, config=None):
        """Create the quantized table (int8, or packed int4) and its scales."""
        if mode == "int4":
            self._int4_build(embeddings_shape, config if config is not None else self.quantization_config)
            return
        if mode != "int8":
            raise self._quantization_mode_error(mode)
        table = self.add_weight(
            name="embeddings", shape=embeddings_shape, initializer="zeros", dtype="int8", trainable=False
        )
        self.embeddings_scale = self.add_weight(
            name="embeddings_scale", shape=(self.input_dim,), initializer="ones", trainable=False
        )
        self.__dict__["_embeddings"] = table
        if self.lora_enabled:
            self._set_computed_attribute("embeddings", EmbeddingQuantization._merged_embeddings)
        self.__dict__["_is_quantized"] = True
        self._install_variable_hooks()

    def _int4_build(self, embeddings_shape, config):
        input_dim, output_dim = embeddings_shape
        self.__dict__["_embeddings"] = self.add_weight(
            name="embeddings", shape=(input_dim, (output_dim + 1) // 2), initializer="zeros", dtype="int8",
            trainable=False,
        )
        block_size = _quantizers()._int4_block_size(self, config)
        self._int4_block_size = block_size
        shape = (input_dim,) if block_size is None else (input_dim, math.ceil(output_dim / block_size))
        qw.add_int4_scales(self, "embeddings", shape, output_dim, block_size)
        # `embeddings` reads as the unpacked int4 values (LoRA-merged when enabled), as in Keras.
        self._set_computed_attribute("embeddings", EmbeddingQuantization._merged_embeddings)
        self.__dict__["_is_quantized"] = True
        self._install_variable_hooks()

    def _int4_call(self, inputs):
        indices = _as_indices(inputs)
        rows = torch.nn.functional.embedding(indices, q.unpack_int4(self.__dict__["_embeddings"], self.output_dim, axis=-1))
        rows = rows.to(self._compute_torch_dtype)
        scale = self.embeddings_scale[indices]
        if self._int4_block_size is None:
            out = rows / scale.unsqueeze(-1)
        else:
            zero = self.embeddings_zero[indices]
            out = q.dequantize_with_sz_map(rows, scale, zero, self.g_idx, group_axis=-1)
        if self.lora_enabled:
            out = self._add_lora(indices, out)
        return out

    def _dequantized_table(self):
        if self.quantization_mode == "int8":
            return self.__dict__["_embeddings"].to(torch.float32) / self.embeddings_scale.unsqueeze(-1)
        table = q.unpack_int4(self.__dict__["_embeddings"], self.output_dim, axis=-1)
        if self._int4_block_size is None:
            return table.to(torch.float32) / self.embeddings_scale.unsqueeze(-1)
        return q.dequantize_with_sz_map(
            table.to(torch.float32), self.embeddings_scale, self.embeddings_zero, self.g_idx, group_axis=-1
        )

    def _int8_call(self, inputs):
        indices = _as_indices(inputs)
        rows = torch.nn.functional.embedding(indices, self.__dict__["_embeddings"])
        scale = self.embeddings_scale[indices]
        out = rows.to(self._compute_torch_dtype) / scale.unsqueeze(-1)
        if self.lora_enabled:
            out = self._add_lora(indices, out)
        return out

    def _serialized_variables(self):
        variables = []
        for name in _SPEC[self.quantization_mode]:
            if name == "embeddings":
                variables.append(self._embeddings_variable())
            elif name in ("embeddings_zero", "g_idx") and self.__dict__.get("_int4_block_size") is None:
                continue  # Only sub-channel int4 has them.
            else:
                variables.append(getattr(self, name))
        return variables

    def _serialized_values(self):
        values = self._serialized_variables()
        if not self.lora_enabled:
            return values
        if self.quantization_mode is None:
            return [self._merged_embeddings()]
        merged = self._dequantized_table() + self._lora_delta()
        if self.quantization_mode == "int4":
            packed, scale, zero = self._int4_quantize(merged, self.quantization_config)
            return [packed, scale] + ([zero, values[3]] if zero is not None else [])
        merged, scale = q.abs_max_quantize(merged, axis=-1, to_numpy=True)
        return [merged, scale.reshape(-1)]
