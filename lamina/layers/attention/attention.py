"""``Attention``: dot-product (Luong-style) attention over a ``[query, value, key]`` list."""

import numbers

import numpy as np
import torch

from lamina.backend.seed_generator import SeedGenerator
from lamina.ops import _attention_math as ops
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    The layer takes a list ``[query, value]`` or ``[query, value, key]`` (``key`` defaults to
    ``value``) and computes ``softmax(score(query, key)) @ value``:

    1. scores of shape ``(batch_size, Tq, Tv)`` from ``query`` and ``key``;
    2. a softmax over the last axis, after masking;
    3. the weighted sum of ``value`` rows, of shape ``(batch_size, Tq, dim)``.

    Args:
        use_scale: If ``True``, a learned scalar ``scale`` multiplies the scores.
        score_mode: ``"dot"`` (``query . key``) or ``"concat"``
            (``sum(tanh(query + key))``, weighted by a learned scalar ``concat_score_weight``).
        dropout: Float in ``[0, 1]``, fraction of the attention weights to drop in training.
        seed: Integer seed of the dropout stream.

    Call arguments:
        inputs: List ``[query, value]`` or ``[query, value, key]``: ``query`` of shape
            ``(batch_size, Tq, dim)``, ``value`` and ``key`` of shape ``(batch_size, Tv, dim)``.
        mask: List ``[query_mask, value_mask]`` of boolean tensors ``(batch_size, Tq)`` and
            ``(batch_size, Tv)``. Masked values do not contribute; masked query rows output 0.
            Filled in from the inputs' Keras masks (e.g. ``Embedding(mask_zero=True)``).
        training: Whether dropout is applied.
        return_attention_scores: If ``True``, also return the attention weights (after masking
            and softmax), of shape ``(batch_size, Tq, Tv)``.
        use_causal_mask: If ``True``, query position ``i`` only attends to positions ``j <= i``.

    Input shape:
        ``[(batch_size, Tq, dim), (batch_size, Tv, dim)]`` plus an optional key of the value's shape.

    Output shape:
        ``(batch_size, Tq, dim)``, and ``(batch_size, Tq, Tv)`` scores when requested.

    Example:

    >>> query = lamina.Input(shape=(4, 8))
    >>> value = lamina.Input(shape=(6, 8))
    >>> lamina.layers.Attention()([query, value]).shape
    (None, 4, 8)
    """

    _promotes_non_float_inputs = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                "Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                f"Received: score_mode={score_mode!r}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(
                f"Argument `dropout` must be a float in [0, 1]. Received: dropout={dropout!r}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"Argument `seed` must be an integer or None. Received: seed={seed!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = SeedGenerator(seed) if dropout > 0 else None
        self.supports_masking = True
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        query_shape, value_shape = input_shape[0], input_shape[1]
        key_shape = input_shape[2] if len(input_shape) > 2 else value_shape
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 2:
                raise ValueError(
                    f"{type(self).__name__} layer '{self.name}' expects `{name}` of rank >= 2 "
                    f"(batch_size, T, dim). Received: {name} shape={tuple(shape)}"
                )
        if query_shape[-1] is not None and key_shape[-1] is not None and query_shape[-1] != key_shape[-1]:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects `query` and `key` with the same "
                f"last dimension. Received: query shape={tuple(query_shape)}, key shape={tuple(key_shape)}"
            )
        self._build_scores(query_shape)
        self.built = True

    def _build_scores(self, query_shape):
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones"
            )

    def _calculate_scores(self, query, key):
        """``(batch_size, Tq, Tv)`` scores of every query row against every key row."""
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            if self.scale is not None:
                scores = scores * self.scale
            return scores
        # (B, Tq, 1, dim) + (B, 1, Tv, dim) broadcasts to every (query, key) pair.
        pairs = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * torch.tanh(pairs).sum(dim=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (_as_bool(mask[0]), _as_bool(mask[1])) if mask else (None, None)

        scores = self._calculate_scores(query, key)
        scores_mask = None
        if value_mask is not None:
            scores_mask = value_mask.unsqueeze(-2)
        if use_causal_mask:
            causal = ops.causal_mask(scores.shape[-2], scores.shape[-1], scores.device)
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            # Keras subtracts a large number rather than replacing the logit (a fully masked row
            # stays a softmax of shifted scores); 65504 is the float16 maximum.
            big = 65504.0 if scores.dtype == torch.float16 else 1e9
            scores = torch.where(scores_mask, scores, scores - big)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = ops.dropout(weights, self.dropout, self.seed_generator.generator(weights.device))
        output = torch.matmul(weights, value)
        if query_mask is not None:
            output = torch.where(query_mask.unsqueeze(-1), output, torch.zeros((), dtype=output.dtype))
        if return_attention_scores:
            return output, weights
        return output

    def __call__(self, *args, **kwargs):
        outputs = super().__call__(*args, **kwargs)
        if isinstance(outputs, tuple):
            # Keras attaches the query mask to the attention output only, not to the scores.
            outputs[1]._keras_mask = None
        return outputs

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # `compute_output_shape` knows only the output; with `return_attention_scores` there are
        # two, so symbolic calls infer shapes by running `call` on fake tensors.
        return super()._symbolic_outputs(args, kwargs, False)

    def compute_mask(self, inputs, mask=None):
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return _as_bool(mask[0])

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or (
            isinstance(inputs, tuple) and all(d is None or isinstance(d, int) for d in inputs)
        ):
            raise ValueError(
                f"{name} layer '{self.name}' must be called on a list of inputs, namely "
                f"[query, value] or [query, value, key]. Received: inputs={_describe(inputs)}."
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} layer '{self.name}' accepts inputs list of length 2 or 3, namely "
                f"[query, value] or [query, value, key]. Received length: {len(inputs)}."
            )
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(
                    f"{name} layer '{self.name}' mask must be a list, namely "
                    f"[query_mask, value_mask]. Received: mask={_describe(mask)}."
                )
            if not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"{name} layer '{self.name}' accepts mask list of length 2 or 3. "
                    f"Received mask list of length {len(mask)}."
                )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "use_scale": self.use_scale,
                "score_mode": self.score_mode,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config


def _as_bool(mask):
    if mask is None:
        return None
    mask = mask if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask))
    return mask if mask.dtype == torch.bool else mask.to(torch.bool)


def _describe(x):
    shape = getattr(x, "shape", None)
    return f"tensor of shape {tuple(shape)}" if shape is not None else repr(x)
