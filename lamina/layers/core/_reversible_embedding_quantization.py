"""int8 quantization for ``ReversibleEmbedding``, with Keras 3.15's variables and saved layout.

The table is quantized as ``Embedding``'s (a scale per row). Untied layers also quantize
``reverse_embeddings`` ``(output_dim, input_dim)`` with a scale per column
(``reverse_embeddings_scale``). The reverse call quantizes its inputs per row (abs-max) and
multiplies the integers, as Keras does.
"""

import torch

from lamina.layers.core._embedding_quantization import EmbeddingQuantization, _quantizers


class ReversibleEmbeddingQuantization:
    """``ReversibleEmbedding``'s ``quantize`` and its quantized reverse projection."""

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the table (and an untied reverse matrix) in place; ``"int8"`` only.

        Args:
            mode: ``"int8"``.
            type_check: Refuse subclasses of ``ReversibleEmbedding``.
            config: An ``Int8QuantizationConfig``; ``None`` for the default.
        """
        from lamina.layers.core.reversible_embedding import ReversibleEmbedding

        if type_check and type(self) is not ReversibleEmbedding:
            raise self._not_implemented_error(self.quantize)
        config = _quantizers()._resolve_config(mode, config)
        if config.mode != "int8":
            raise NotImplementedError(
                f"Layer '{self.name}' (ReversibleEmbedding): quantization mode '{config.mode}' is not "
                "supported by Lamina; use 'int8'."
            )
        self._check_quantize_args(config.mode, self.compute_dtype)
        reverse = None
        if not self.tie_weights:
            quantizer = _quantizers().QuantizationConfig.weight_quantizer_or_default(
                config, _quantizers().AbsMaxQuantizer(axis=0)
            )
            reverse = quantizer(self.reverse_embeddings.detach(), to_numpy=True)
            self._remove_variable("reverse_embeddings")
        EmbeddingQuantization.quantize(self, config=config, type_check=False)
        if reverse is not None:
            with torch.no_grad():
                self.reverse_embeddings.copy_(reverse[0])
                self.reverse_embeddings_scale.copy_(reverse[1].reshape(-1))

    def quantized_build(self, embeddings_shape, mode, config=None):
        """The table's quantized variables, then (untied) the int8 reverse matrix and its scales."""
        if mode != "int8":
            raise self._quantization_mode_error(mode)
        EmbeddingQuantization.quantized_build(self, embeddings_shape, mode, config)
        self.inputs_quantizer = _quantizers().QuantizationConfig.activation_quantizer_or_default(
            config if config is not None else self.quantization_config, _quantizers().AbsMaxQuantizer(axis=-1)
        )
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings", shape=(self.output_dim, self.input_dim), initializer="zeros",
                dtype="int8", trainable=False,
            )
            self.reverse_embeddings_scale = self.add_weight(
                name="reverse_embeddings_scale", shape=(self.input_dim,), initializer="ones", trainable=False
            )

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
            if self.quantization_mode == "int8":
                variables.append(self.reverse_embeddings_scale)
        return variables

    def _serialized_values(self):
        values = EmbeddingQuantization._serialized_values(self)
        if not self.tie_weights and self.lora_enabled:
            values += self._serialized_variables()[len(values):]
        return values
