"""Shared machinery of the multi-head attention layers (``MultiHeadAttention``,
``GroupQueryAttention``).

Both are called as ``layer(query, value, key=None, ...)``: several tensors, not one. This base
builds the layer from all their shapes (``build(query_shape, value_shape, key_shape)``, saved as
Keras's ``{"shapes_dict": ...}`` build config), gathers the Keras masks the tensors carry, merges
them with the causal / sliding-window / explicit masks, and chooses between the fused kernel
(``scaled_dot_product_attention``) and the explicit einsum-softmax computation.
"""

import math
import numbers

import numpy as np
import torch

from lamina import constraints, initializers, regularizers
from lamina.backend import config
from lamina.backend.core import convert_to_tensor
from lamina.ops import _attention_math as ops
from lamina.layers.layer import Layer
from lamina.layers.regularization.dropout import Dropout
from lamina.saving import serialization_lib

_SHAPE_KEYS = ("query_shape", "value_shape", "key_shape")


class BaseMultiHeadAttention(Layer):
    """Base of the multi-head attention layers; subclasses define ``build`` and the projections.

    Subclasses set, in ``build``: ``query_dense``, ``key_dense``, ``value_dense``,
    ``output_dense`` (``EinsumDense`` layers named as in Keras), optionally ``_gate_dense``, and
    the einsum equations ``_dot_product_equation`` / ``_combine_equation`` with
    ``_attention_axes`` (projected-tensor axes attended over) and ``_query_first`` (whether the
    dot-product equation takes the query before the key).
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        dropout=0.0,
        use_bias=True,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"Argument `dropout` must be a float in [0, 1]. Received: dropout={dropout!r}")
        if sliding_window is not None and (
            isinstance(sliding_window, bool) or not isinstance(sliding_window, int) or sliding_window <= 0
        ):
            raise ValueError(
                "`sliding_window` must be `None` or a positive integer. "
                f"Received: sliding_window={sliding_window!r}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"Argument `seed` must be an integer or None. Received: seed={seed!r}")
        # As Keras: `keras.config.disable_flash_attention()` applies to layers built after it.
        flash_attention = flash_attention or config.is_flash_attention_enabled()
        if flash_attention and dropout > 0.0:
            raise ValueError(
                "Dropout is not supported when flash attention is enabled. "
                "Please set dropout to 0.0 to use flash attention."
            )
        self.supports_masking = True
        self._dropout = dropout
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        self._sliding_window = sliding_window
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        # Applied by the projections, not by this layer's output (as Keras).
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed

    # --- sublayers --------------------------------------------------------------------------
    def _sublayer_kwargs(self):
        # Fresh initializer copies per sublayer, as Keras: unseeded ones then draw independently.
        def copy(init):
            return type(init).from_config(init.get_config())

        return dict(
            kernel_initializer=copy(self._kernel_initializer),
            bias_initializer=copy(self._bias_initializer),
            kernel_regularizer=self._kernel_regularizer,
            bias_regularizer=self._bias_regularizer,
            activity_regularizer=self._activity_regularizer,
            kernel_constraint=self._kernel_constraint,
            bias_constraint=self._bias_constraint,
            dtype=self.dtype_policy,
        )

    def _build_dropout(self):
        # Private name, as Keras: its (empty) group in weights files is `_dropout_layer`.
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype_policy)

    # --- calling ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        args = list(args)
        for name in ("query", "value"):
            if len(args) < (1 if name == "query" else 2) and name in kwargs:
                args.append(kwargs.pop(name))
        if len(args) < 2:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' must be called with `query` and "
                "`value` tensors (and optionally `key`): layer(query, value, key=None)."
            )
        if not self.built:
            key = args[2] if len(args) > 2 else kwargs.get("key")
            shapes = {"query_shape": _shape_of(args[0]), "value_shape": _shape_of(args[1])}
            if key is not None:
                shapes["key_shape"] = _shape_of(key)
            with self._sharding_build_scope():
                self.build(**shapes)
            self._build_shapes = shapes
            self.built = True
            self._gather_shards_after_build(args)
        outputs = super().__call__(*args, **kwargs)
        if isinstance(outputs, tuple):
            # Keras attaches the query mask to the attention output only, not to the scores.
            if outputs[1] is not None:
                outputs[1]._keras_mask = None
        return outputs

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # `compute_output_shape` takes three shapes; shapes of a symbolic call (scores included)
        # are inferred by running `call` on fake tensors instead.
        return super()._symbolic_outputs(args, kwargs, False)

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        return {"shapes_dict": dict(self._build_shapes)}

    def build_from_config(self, config):
        if not config or self.built:
            return
        shapes = config.get("shapes_dict")
        if shapes is None:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects a build config with "
                f"'shapes_dict' (query_shape, value_shape, key_shape). Received: {config}"
            )
        shapes = {k: tuple(v) for k, v in shapes.items() if k in _SHAPE_KEYS and v is not None}
        self.build(**shapes)
        self._build_shapes = shapes
        self.built = True

    def _prepare_inputs(self, query, value, key, query_mask, value_mask, key_mask):
        """Tensors in the compute dtype and their masks, checked against the built shapes.

        Masks not given explicitly come from the tensors' Keras masks.
        """
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key is None:
            key = value
        elif key_mask is None:
            key_mask = getattr(key, "_keras_mask", None)
        dtype = self._compute_torch_dtype
        tensors = []
        for name, x in (("query", query), ("value", value), ("key", key)):
            x = x if isinstance(x, torch.Tensor) else convert_to_tensor(np.asarray(x))
            if x.dtype != dtype:
                x = x.to(dtype)
            self._check_shape(name, x)
            tensors.append(x)
        return tensors, (query_mask, value_mask, key_mask)

    def _check_shape(self, name, x):
        shapes = self._build_shapes or {}
        built = shapes.get(f"{name}_shape") or (shapes.get("value_shape") if name == "key" else None)
        if built is None:
            return
        if x.dim() != len(built) or (built[-1] is not None and x.shape[-1] != built[-1]):
            raise ValueError(
                f"Input `{name}` of layer '{self.name}' ({type(self).__name__}) is incompatible "
                f"with the layer: expected shape={tuple(built)}, found shape={tuple(x.shape)}"
            )

    def _compute_attention_mask(
        self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
    ):
        """AND of the query ``(B, T, 1)``, value/key ``(B, 1, S)``, causal, window and explicit
        masks (any of them may be absent); ``None`` when there is no mask at all."""
        masks = []
        query_mask, value_mask, key_mask, attention_mask = (
            m if m is None or isinstance(m, torch.Tensor) else convert_to_tensor(np.asarray(m))
            for m in (query_mask, value_mask, key_mask, attention_mask)
        )
        if query_mask is not None:
            masks.append(query_mask.to(torch.bool).unsqueeze(-1))
        if value_mask is not None:
            masks.append(value_mask.to(torch.bool).unsqueeze(-2))
        if key_mask is not None:
            masks.append(key_mask.to(torch.bool).unsqueeze(-2))
        t, s = query.shape[1], value.shape[1]
        if use_causal_mask:
            masks.append(ops.causal_mask(t, s, query.device))
        if self._sliding_window is not None:
            masks.append(ops.sliding_window_mask(t, s, self._sliding_window, query.device))
        if attention_mask is not None:
            masks.insert(0, attention_mask)
        return ops.combine_masks(*masks)

    def _attend(
        self,
        projections,
        query,
        value,
        key,
        masks,
        attention_mask,
        return_attention_scores,
        training,
        use_causal_mask,
    ):
        """The whole call: project, attend, (gate,) project back.

        ``projections`` are the query, key, value and output ``EinsumDense`` layers; ``masks``
        the ``(query_mask, value_mask, key_mask)`` arguments.
        """
        query_dense, key_dense, value_dense, output_dense = projections
        (query, value, key), (query_mask, value_mask, key_mask) = self._prepare_inputs(
            query, value, key, *masks
        )
        causal_only = (
            use_causal_mask
            and query_mask is None
            and value_mask is None
            and key_mask is None
            and attention_mask is None
            and self._sliding_window is None
        )
        mask = None
        if not causal_only:
            mask = self._compute_attention_mask(
                query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
            )
        gate = self._gate_dense(query) if self._use_gate else None
        output, scores = self._run_attention(
            query_dense(query),
            key_dense(key),
            value_dense(value),
            mask,
            training,
            return_attention_scores,
            causal_only,
        )
        output = output_dense(output * gate if gate is not None else output)
        if return_attention_scores:
            return output, scores
        return output

    def _run_attention(self, query, key, value, attention_mask, training, return_attention_scores, causal_only):
        """Attention of projected ``query``/``key``/``value``; returns ``(output, scores)``."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                "Returning attention scores is not supported when flash attention is enabled. "
                "Please disable flash attention to access attention scores."
            )
        rank = query.dim()
        # Keras's fused path (no scores, no dropout, rank-4 tensors) gives fully masked query
        # rows the mean of the values; its explicit path gives them zeros.
        keras_fused = self._dropout == 0 and not return_attention_scores and rank == 4
        dropout_active = bool(training) and self._dropout > 0
        scale = 1.0 / math.sqrt(float(query.shape[-1]))
        insert_axis = -2 * len(self._attention_axes) - 1
        if (
            rank == 4
            and not return_attention_scores
            and not dropout_active
            and self._flash_attention is not False
        ):
            if attention_mask is not None:
                attention_mask = ops.expand_mask(attention_mask, 4, insert_axis)
            out = ops.fused_attention(
                query,
                key,
                value,
                mask=attention_mask,
                is_causal=causal_only,
                scale=scale,
                fully_masked="mean" if keras_fused else "zeros",
            )
            return out, None
        if causal_only:
            attention_mask = ops.causal_mask(query.shape[1], value.shape[1], query.device)
        key, value = self._expand_heads(key), self._expand_heads(value)
        query = query * scale
        if self._query_first:
            scores = torch.einsum(self._dot_product_equation, query, key)
        else:
            scores = torch.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            attention_mask = ops.expand_mask(attention_mask, scores.dim(), insert_axis)
        probs = ops.masked_softmax(
            scores, attention_mask, len(self._attention_axes), zero_masked=not keras_fused
        )
        dropped = self._dropout_layer(probs, training=training) if self._dropout > 0 else probs
        out = torch.einsum(self._combine_equation, dropped, value)
        return out, probs

    def _expand_heads(self, x):
        """Key/value heads as seen by the query heads (identity unless heads are grouped)."""
        return x

    # --- config -----------------------------------------------------------------------------
    def _common_config(self):
        s = serialization_lib.serialize_keras_object
        return {
            "kernel_initializer": s(self._kernel_initializer),
            "bias_initializer": s(self._bias_initializer),
            "kernel_regularizer": s(self._kernel_regularizer),
            "bias_regularizer": s(self._bias_regularizer),
            "activity_regularizer": s(self._activity_regularizer),
            "kernel_constraint": s(self._kernel_constraint),
            "bias_constraint": s(self._bias_constraint),
            "seed": self.seed,
        }


def _shape_of(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(None if d is None else int(d) for d in shape)
