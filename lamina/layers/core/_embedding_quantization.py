"""int8 quantization and LoRA for ``Embedding``, with Keras 3.15's variables and saved layout.

int8 keeps an int8 ``embeddings`` table and one ``embeddings_scale`` per row; LoRA adds
``lora_embeddings_a`` ``(input_dim, rank)`` and ``lora_embeddings_b`` ``(rank, output_dim)``.
"""

import torch

from lamina.ops import quantization as q

_SPEC = {None: ("embeddings",), "int8": ("embeddings", "embeddings_scale")}


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

    def _merged_embeddings(self):
        table = self.__dict__["_embeddings"]
        if not self.lora_enabled:
            return table
        delta = (self.lora_alpha / self.lora_rank) * torch.matmul(self.lora_embeddings_a, self.lora_embeddings_b)
        return (table + delta).to(self._compute_torch_dtype)

    def _select_call(self):
        from lamina.layers.core.embedding import Embedding

        if type(self).call is not Embedding.call:
            # A subclass's own `call` reads `self.embeddings`, which then is the merged table.
            return
        if self.quantization_mode is not None:
            self._use_call(self.quantized_call)
        elif self.lora_enabled:
            self._use_call(self._lora_call)

    def _lora_call(self, inputs):
        indices = _as_indices(inputs)
        table = self.__dict__["_embeddings"]
        out = torch.nn.functional.embedding(indices, table).to(self._compute_torch_dtype)
        return self._add_lora(indices, out)

    def _add_lora(self, indices, out):
        lora = torch.matmul(torch.nn.functional.embedding(indices, self.lora_embeddings_a), self.lora_embeddings_b)
        return (out + (self.lora_alpha / self.lora_rank) * lora).to(self._compute_torch_dtype)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the table to int8 in place, one abs-max scale per row.

        Args:
            mode: ``"int8"``.
            type_check: Refuse subclasses of ``Embedding``.
            config: Not supported yet; must be ``None``.
        """
        from lamina.layers.core.embedding import Embedding

        if type_check and type(self) is not Embedding:
            raise self._not_implemented_error(self.quantize)
        if config is not None:
            raise ValueError(f"Layer '{self.name}': quantization configs are not supported. Received: config={config!r}")
        self._check_quantize_args(mode, self.compute_dtype)
        if mode != "int8":
            raise NotImplementedError(
                f"Layer '{self.name}' (Embedding): quantization mode '{mode}' is not supported by Lamina; use 'int8'."
            )
        values, scale = q.abs_max_quantize(self._embeddings_variable().detach(), axis=-1, to_numpy=True)
        self.__dict__.get("_computed_attributes", {}).pop("embeddings", None)
        self._remove_variable("embeddings")
        self.__dict__.pop("_embeddings", None)
        self.quantized_build((self.input_dim, self.output_dim), mode)
        with torch.no_grad():
            self._embeddings.copy_(values)
            self.embeddings_scale.copy_(scale.reshape(-1))
        self._set_quantized_policy(mode)
        self._select_call()

    def quantized_build(self, embeddings_shape, mode, config=None):
        """Create the int8 table and its per-row scale."""
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

    def _int8_call(self, inputs):
        indices = _as_indices(inputs)
        rows = torch.nn.functional.embedding(indices, self.__dict__["_embeddings"])
        scale = self.embeddings_scale[indices]
        out = rows.to(self._compute_torch_dtype) / scale.unsqueeze(-1)
        if self.lora_enabled:
            out = self._add_lora(indices, out)
        return out

    def _serialized_variables(self):
        return [self._embeddings_variable() if n == "embeddings" else getattr(self, n) for n in _SPEC[self.quantization_mode]]

    def _serialized_values(self):
        values = self._serialized_variables()
        if not self.lora_enabled:
            return values
        if self.quantization_mode is None:
            return [self._merged_embeddings()]
        delta = (self.lora_alpha / self.lora_rank) * torch.matmul(self.lora_embeddings_a, self.lora_embeddings_b)
        table = self.__dict__["_embeddings"].to(torch.float32) / self.embeddings_scale.unsqueeze(-1)
        merged, scale = q.abs_max_quantize(table + delta, axis=-1, to_numpy=True)
        return [merged, scale.reshape(-1)]
