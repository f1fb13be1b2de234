"""``MultiHeadAttention``: scaled dot-product attention over several learned heads."""

import string

from lamina.layers.attention.base_multi_head_attention import BaseMultiHeadAttention
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.saving.object_registration import register_builtin


def _projection_equation(free_dims, bound_dims, output_dims):
    """Einsum equation and bias axes of a projection: keep ``free_dims`` input axes, contract the
    next ``bound_dims`` with the kernel, produce ``output_dims`` new axes (the bias spans them)."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims : free_dims + bound_dims]
    new = letters[free_dims + bound_dims : free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{new}->{free}{new}", new


def _attention_equations(rank, attention_axes):
    """Dot-product and combine equations for projected tensors of ``rank`` axes.

    Projected tensors are ``(batch, <other axes>, <attended axes>, heads, channels)``; every axis
    other than the attended ones and the channels acts as a batch axis (heads included). Scores
    are ``(<batch axes>, <query attended axes>, <key attended axes>)``.
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source = list(target)
    extra = iter(letters[rank:])
    for i in attention_axes:
        source[i] = next(extra)
    source = "".join(source)
    product = (
        "".join(target[i] for i in batch)
        + "".join(target[i] for i in attention_axes)
        + "".join(source[i] for i in attention_axes)
    )
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


@register_builtin("keras.layers")
class MultiHeadAttention(BaseMultiHeadAttention):
    """Multi-head attention layer (Vaswani et al., 2017, "Attention is all you need").

    ``query``, ``key`` and ``value`` are projected into ``num_heads`` heads (``key_dim`` channels
    for query and key, ``value_dim`` for value); each head computes
    ``softmax(query . key / sqrt(key_dim)) @ value``; the heads are concatenated and projected
    back to the query's last dimension (or to ``output_shape``). When ``query``, ``key`` and
    ``value`` are the same tensor this is self-attention.

    Without returned scores and without active dropout, rank-3 inputs run through
    ``torch.nn.functional.scaled_dot_product_attention`` (fused kernels); otherwise the scores are
    computed explicitly.

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head for query and key.
        value_dim: Size of each head for value; defaults to ``key_dim``.
        dropout: Dropout probability on the attention weights.
        use_bias: Whether the projections use bias vectors/matrices.
        output_shape: Shape of the output besides the batch and sequence axes (int or tuple).
            Defaults to the query's last dimension.
        attention_axes: Axes attended over (int or tuple; negative axes count from the end of
            the input). ``None`` attends over every axis but batch, heads and features.
        sliding_window: Positive integer or ``None``: query ``i`` only attends to keys ``j`` with
            ``|i - j| < sliding_window`` (combine with ``use_causal_mask`` for a causal window).
        flash_attention: ``None`` lets the layer pick the fused kernel when it can; ``True``
            requires it (no returned scores, no dropout); ``False`` always computes scores
            explicitly.
        kernel_initializer, bias_initializer: Initializers of the projections.
        kernel_regularizer, bias_regularizer, activity_regularizer: Regularizers of the
            projections.
        kernel_constraint, bias_constraint: Constraints of the projections.
        use_gate: If ``True``, a sigmoid projection of the query gates the attention output
            before the output projection (gated attention).
        seed: Integer seed of the dropout.

    Call arguments:
        query: ``(B, T, dim)`` tensor (or higher rank with ``attention_axes``).
        value: ``(B, S, dim)`` tensor.
        key: Optional ``(B, S, dim)`` tensor; defaults to ``value``.
        attention_mask: Boolean mask ``(B, T, S)``, ``True`` where query ``t`` may attend to key
            ``s``; broadcast over missing batch and head axes.
        return_attention_scores: If ``True``, return ``(output, scores)`` with scores of shape
            ``(B, num_heads, T, S)``.
        training: Whether dropout is applied.
        use_causal_mask: If ``True``, query ``t`` only attends to keys ``s <= t``.

        Keras masks carried by ``query``, ``value`` and ``key`` (e.g. from
        ``Embedding(mask_zero=True)``) are merged into the attention mask; ``value_mask`` and
        ``key_mask`` may also be passed explicitly. As in Keras, the query's mask is always taken
        from the query tensor, and the output carries it.

    Input shape:
        ``query`` ``(B, T, dim_q)``, ``value`` ``(B, S, dim_v)``, ``key`` ``(B, S, dim_k)``.

    Output shape:
        ``(B, T, dim_q)`` (or ``(B, T) + output_shape``), and ``(B, num_heads, T, S)`` scores
        when requested.

    Example:

    >>> layer = lamina.layers.MultiHeadAttention(num_heads=2, key_dim=2)
    >>> target = lamina.Input(shape=[8, 16])
    >>> source = lamina.Input(shape=[4, 16])
    >>> output, weights = layer(target, source, return_attention_scores=True)
    >>> output.shape, weights.shape
    ((None, 8, 16), (None, 2, 8, 4))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
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
        for arg, value, optional in (("num_heads", num_heads, False), ("key_dim", key_dim, False), ("value_dim", value_dim, True)):
            if optional and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"Received an invalid value for argument `{arg}`, expected a positive integer"
                    f"{' or `None`' if optional else ''}. Received: {arg}={value!r}"
                )
        super().__init__(
            dropout=dropout,
            use_bias=use_bias,
            sliding_window=sliding_window,
            flash_attention=flash_attention,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            use_gate=use_gate,
            seed=seed,
            **kwargs,
        )
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            if not isinstance(output_shape, (list, tuple)) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in output_shape
            ):
                raise ValueError(
                    f"Invalid `output_shape`: {output_shape!r}. When specified, the `output_shape` "
                    "should be an int or a tuple/list of positive ints."
                )
            output_shape = tuple(output_shape)
        self._output_shape = output_shape or None
        if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                f"`attention_axes` must be an int, list, or tuple. Received: attention_axes={attention_axes!r}"
            )
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._query_first = False

    @property
    def num_heads(self):
        return self._num_heads

    @property
    def key_dim(self):
        return self._key_dim

    @property
    def value_dim(self):
        return self._value_dim

    @property
    def dropout(self):
        return self._dropout

    @property
    def use_bias(self):
        return self._use_bias

    @property
    def attention_axes(self):
        return self._attention_axes

    def build(self, query_shape, value_shape, key_shape=None):
        """Create the projections for inputs of the given shapes (``key`` defaults to ``value``)."""
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if len(value_shape) != len(key_shape) or any(
            v is not None and k is not None and v != k for v, k in zip(value_shape[1:-1], key_shape[1:-1])
        ):
            raise ValueError(
                f"MultiHeadAttention layer '{self.name}': all dimensions of `value` and `key`, "
                f"except the last one, must be equal. Received: value_shape={value_shape} and "
                f"key_shape={key_shape}"
            )
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3 or shape[-1] is None:
                raise ValueError(
                    f"MultiHeadAttention layer '{self.name}' expects `{name}` of rank >= 3 with a "
                    f"defined last dimension. Received: {name}_shape={shape}"
                )
        common = self._sublayer_kwargs
        self.query_dense = self._projection("query", query_shape, self._key_dim, common())
        self.key_dense = self._projection("key", key_shape, self._key_dim, common())
        if self._use_gate:
            self._gate_dense = self._projection(
                "gate", query_shape, self._value_dim, common(), activation="sigmoid"
            )
        self.value_dense = self._projection("value", value_shape, self._value_dim, common())
        self._build_attention(len(query_shape) + 1)
        self._build_dropout()
        self.output_dense = self._make_output_dense(query_shape, common())
        # Variable paths as Keras: `mha/query/kernel`.
        self._refresh_paths()
        self.built = True

    def _projection(self, name, input_shape, head_dim, common, activation=None):
        rank = len(input_shape)
        equation, bias_axes = _projection_equation(rank - 1, 1, 2)
        layer = EinsumDense(
            equation,
            output_shape=[None] * (rank - 2) + [self._num_heads, head_dim],
            bias_axes=bias_axes if self._use_bias else None,
            activation=activation,
            name=name,
            **common,
        )
        layer.build(input_shape)
        return layer

    def _make_output_dense(self, query_shape, common):
        rank = len(query_shape)
        output_shape = self._output_shape or (query_shape[-1],)
        equation, bias_axes = _projection_equation(rank - 1, 2, len(output_shape))
        layer = EinsumDense(
            equation,
            output_shape=[None] * (rank - 2) + list(output_shape),
            bias_axes=bias_axes if self._use_bias else None,
            name="attention_output",
            **common,
        )
        layer.build(tuple(query_shape[:-1]) + (self._num_heads, self._value_dim))
        return layer

    def _build_attention(self, rank):
        """Equations for projected tensors of ``rank`` axes; normalizes ``attention_axes``."""
        if self._attention_axes is None:
            axes = tuple(range(1, rank - 2))
        else:
            # Negative axes count from the end of the (unprojected) input, as in Keras.
            axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
            bad = [a for a in axes if not 1 <= a < rank - 2]
            if bad:
                raise ValueError(
                    f"MultiHeadAttention layer '{self.name}': `attention_axes` must be axes of the "
                    f"query other than the batch and feature axes (1 to {rank - 3} or negative). "
                    f"Received: attention_axes={self._attention_axes}"
                )
        self._attention_axes = axes
        self._dot_product_equation, self._combine_equation = _attention_equations(rank, axes)

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        # As Keras's MultiHeadAttention, the query mask comes from the query tensor only: an
        # explicit `query_mask` is ignored (GroupQueryAttention does honour it).
        return self._attend(
            (self.query_dense, self.key_dense, self.value_dense, self.output_dense),
            query,
            value,
            key,
            (None, value_mask, key_mask),
            attention_mask,
            return_attention_scores,
            training,
            use_causal_mask,
        )

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self._num_heads,
                "key_dim": self._key_dim,
                "value_dim": self._value_dim,
                "dropout": self._dropout,
                "use_bias": self._use_bias,
                "use_gate": self._use_gate,
                "output_shape": self._output_shape,
                "attention_axes": self._attention_axes,
                "sliding_window": self._sliding_window,
            }
        )
        config.update(self._common_config())
        return config
