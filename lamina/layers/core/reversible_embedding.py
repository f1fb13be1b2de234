"""``ReversibleEmbedding``: an embedding that can also project hidden states back to logits."""

import numbers

import torch

from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend import symbolic
from lamina.layers.core.embedding import Embedding
from lamina.layers.core._reversible_embedding_quantization import ReversibleEmbeddingQuantization  # noqa: I001
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def reverse_projection(inputs, kernel, dtype, logit_soft_cap=None):
    """``inputs @ kernel`` computed in ``dtype``, optionally soft-capped.

    With ``logit_soft_cap`` the logits become ``tanh(logits / cap) * cap``, which keeps them in
    ``(-cap, cap)``.
    """
    logits = torch.matmul(inputs.to(dtype), kernel.to(dtype))
    if logit_soft_cap is not None:
        logits = torch.tanh(logits / logit_soft_cap) * logit_soft_cap
    return logits


@register_builtin("keras.layers")
class ReversibleEmbedding(ReversibleEmbeddingQuantization, Embedding):
    """An embedding layer that can also project from ``output_dim`` back to ``input_dim``.

    Called normally it is an ``Embedding``. Called with ``reverse=True`` on hidden states of
    size ``output_dim`` it returns logits over the vocabulary: by default the hidden states times
    the transposed embedding table (tied weights, as in most language models); with
    ``tie_weights=False`` a separate ``reverse_embeddings`` matrix of shape
    ``(output_dim, input_dim)`` is used instead. There is no bias.

    Args:
        input_dim: Size of the vocabulary: the largest index plus one.
        output_dim: Size of each embedding vector.
        tie_weights: Whether the reverse projection uses the transposed ``embeddings`` (``True``,
            the default) or its own trainable ``reverse_embeddings`` weight.
        embeddings_initializer: Initializer for the embedding table (and for
            ``reverse_embeddings``).
        embeddings_regularizer: Regularizer for the embedding table.
        embeddings_constraint: Constraint for the embedding table.
        mask_zero: Whether index 0 is padding; the forward call then returns a mask
            (``inputs != 0``). Reverse calls never return a mask.
        reverse_dtype: Dtype in which the reverse projection is computed (and returned);
            defaults to the layer's compute dtype.
        logit_soft_cap: If set, reverse logits become ``tanh(logits / logit_soft_cap) *
            logit_soft_cap``.
        **kwargs: Other ``Embedding`` arguments, such as ``name`` and ``dtype``.

    Call arguments:
        inputs: Integer indices (forward) or hidden states ``(..., output_dim)`` (reverse).
        reverse: Whether to project hidden states back to vocabulary logits.

    Input shape:
        Forward: ``(batch_size, ...)``; reverse: ``(batch_size, ..., output_dim)``.

    Output shape:
        Forward: ``(batch_size, ..., output_dim)``; reverse: ``(batch_size, ..., input_dim)``.

    Example:

    >>> embedding = lamina.layers.ReversibleEmbedding(100, 32)
    >>> hidden = embedding(np.random.randint(100, size=(16, 50)))
    >>> hidden.shape
    torch.Size([16, 50, 32])
    >>> embedding(hidden, reverse=True).shape
    torch.Size([16, 50, 100])
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        tie_weights=True,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        reverse_dtype=None,
        logit_soft_cap=None,
        **kwargs,
    ):
        if not isinstance(tie_weights, bool):
            raise ValueError(
                f"`tie_weights` must be a boolean. Received: tie_weights={tie_weights!r}"
            )
        if logit_soft_cap is not None and (
            not isinstance(logit_soft_cap, numbers.Real)
            or isinstance(logit_soft_cap, bool)
            or logit_soft_cap <= 0
        ):
            raise ValueError(
                "`logit_soft_cap` must be a positive number or None. Received: "
                f"logit_soft_cap={logit_soft_cap!r}"
            )
        if reverse_dtype is not None:
            try:
                standardize_dtype(reverse_dtype)
            except (TypeError, ValueError) as e:
                raise ValueError(f"Invalid `reverse_dtype`: {reverse_dtype!r}. {e}") from None
        # Applied once `tie_weights` is known: it decides how many weights there are.
        weights = kwargs.pop("weights", None)
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            **kwargs,
        )
        if self.quantization_mode not in (None, "int8", "int4"):
            raise ValueError(
                f"ReversibleEmbedding layer '{self.name}': quantization mode "
                f"'{self.quantization_mode}' is not supported by Lamina (dtype="
                f"{self.dtype_policy.name!r}); use int8 or int4."
            )
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        # The mask depends on `reverse`, which `compute_mask` cannot see: `call` sets it instead.
        self.supports_masking = False
        if weights is not None:
            self.build()
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights and self.quantization_mode is None:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer,
                name="reverse_embeddings",
            )
        self.built = True

    def _reverse_torch_dtype(self):
        return to_torch_dtype(self.reverse_dtype or self.compute_dtype)

    def call(self, inputs, reverse=False):
        if not reverse:
            mode = self.quantization_mode
            outputs = self.quantized_call(inputs) if mode is not None else super().call(inputs)
            if self.mask_zero:
                outputs._keras_mask = torch.ne(inputs, 0)
            return outputs
        if inputs.dim() < 1 or inputs.shape[-1] != self.output_dim:
            raise ValueError(
                f"Layer '{self.name}' (ReversibleEmbedding) called with `reverse=True` expects "
                f"inputs whose last axis is output_dim={self.output_dim}. Received input shape "
                f"{tuple(inputs.shape)}"
            )
        if self.quantization_mode is not None:
            return getattr(self, f"_{self.quantization_mode}_reverse")(inputs)
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        return reverse_projection(inputs, kernel, self._reverse_torch_dtype(), self.logit_soft_cap)

    # `Layer.compute_mask` (no mask unless `supports_masking`): the mask is set in `call`.
    compute_mask = Layer.compute_mask

    def compute_output_shape(self, input_shape, reverse=False):
        input_shape = tuple(input_shape)
        if reverse:
            return input_shape[:-1] + (self.input_dim,)
        return input_shape + (self.output_dim,)

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # `reverse` changes the output shape, dtype and mask, so it must reach the shape logic.
        inputs = args[0]
        reverse = bool(args[1] if len(args) > 1 else kwargs.get("reverse", False))
        if reverse and (not inputs.shape or inputs.shape[-1] not in (None, self.output_dim)):
            raise ValueError(
                f"Layer '{self.name}' (ReversibleEmbedding) called with `reverse=True` expects "
                f"inputs whose last axis is output_dim={self.output_dim}. Received input shape "
                f"{tuple(inputs.shape)}"
            )
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        dtype = standardize_dtype(self._reverse_torch_dtype()) if reverse else self.compute_dtype
        outputs = symbolic.KerasTensor(shape, dtype=dtype)
        if self.mask_zero and not reverse:
            outputs._keras_mask = symbolic.KerasTensor(tuple(inputs.shape), dtype="bool")
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap,
            }
        )
        return config
