"""``GroupQueryAttention``: multi-head attention whose key/value heads are shared by groups of
query heads (Ainslie et al., 2023)."""

from lamina.layers.attention.base_multi_head_attention import BaseMultiHeadAttention
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers", name="GroupQueryAttention")
@register_builtin("keras.layers")
class GroupedQueryAttention(BaseMultiHeadAttention):
    """Grouped-query attention layer.

    ``num_query_heads`` query heads share ``num_key_value_heads`` key/value heads: query head
    ``i`` uses key/value head ``i // (num_query_heads // num_key_value_heads)``. With as many
    key/value heads as query heads this is multi-head attention; with one, multi-query attention.

    Args:
        head_dim: Size of each attention head.
        num_query_heads: Number of query heads.
        num_key_value_heads: Number of key and value heads; must divide ``num_query_heads``.
        dropout: Dropout probability on the attention weights.
        use_bias: Whether the projections use bias vectors/matrices.
        sliding_window: Positive integer or ``None``: query ``i`` only attends to keys ``j`` with
            ``|i - j| < sliding_window``.
        flash_attention: ``None`` lets the layer pick the fused kernel when it can; ``True``
            requires it; ``False`` always computes scores explicitly.
        kernel_initializer, bias_initializer: Initializers of the projections.
        kernel_regularizer, bias_regularizer, activity_regularizer: Regularizers of the
            projections.
        kernel_constraint, bias_constraint: Constraints of the projections.
        use_gate: If ``True``, a sigmoid projection of the query gates the attention output.
        seed: Integer seed of the dropout.

    Call arguments:
        query: ``(B, T, dim)`` tensor.
        value: ``(B, S, dim)`` tensor.
        key: Optional ``(B, S, dim)`` tensor; defaults to ``value``.
        attention_mask: Boolean mask ``(B, T, S)``, ``True`` where attention is allowed.
        return_attention_scores: If ``True``, return ``(output, scores)`` with scores of shape
            ``(B, num_query_heads, T, S)``.
        training: Whether dropout is applied.
        use_causal_mask: If ``True``, query ``t`` only attends to keys ``s <= t``.

    Input shape:
        ``query`` ``(B, T, dim)``, ``value`` and ``key`` ``(B, S, dim)``.

    Output shape:
        ``(B, T, dim)``, and ``(B, num_query_heads, T, S)`` scores when requested.

    Keras exports this class as ``keras.layers.GroupQueryAttention`` (the name written in saved
    configs); ``GroupedQueryAttention`` is its class name, which default layer names and weight
    file paths derive from.

    Example:

    >>> layer = lamina.layers.GroupQueryAttention(head_dim=8, num_query_heads=4, num_key_value_heads=2)
    >>> x = lamina.Input(shape=(10, 16))
    >>> layer(x, x).shape
    (None, 10, 16)
    """

    _keras_class_name = "GroupQueryAttention"

    def __init__(
        self,
        head_dim,
        num_query_heads,
        num_key_value_heads,
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
        for arg, value in (
            ("head_dim", head_dim),
            ("num_query_heads", num_query_heads),
            ("num_key_value_heads", num_key_value_heads),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"Received an invalid value for argument `{arg}`, expected a positive integer. "
                    f"Received: {arg}={value!r}"
                )
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError(
                "`num_query_heads` must be divisible by `num_key_value_heads`. Received: "
                f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}"
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
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self._attention_axes = (1,)
        self._dot_product_equation = "bquh,bkuh->buqk"
        self._combine_equation = "buqk,bkuh->bquh"
        self._query_first = True

    @property
    def dropout(self):
        return self._dropout

    @property
    def use_bias(self):
        return self._use_bias

    @property
    def use_gate(self):
        return self._use_gate

    @property
    def sliding_window(self):
        return self._sliding_window

    def build(self, query_shape, value_shape, key_shape=None):
        """Create the projections for inputs of the given shapes (``key`` defaults to ``value``)."""
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"GroupedQueryAttention layer '{self.name}' expects `{name}` of rank 3 "
                    f"(batch, seq, dim) with a defined last dimension. Received: {name}_shape={shape}"
                )
        self.feature_dim = query_shape[-1]
        common = self._sublayer_kwargs

        def projection(equation, output_shape, bias_axes, name, input_shape, activation=None):
            layer = EinsumDense(
                equation,
                output_shape=output_shape,
                bias_axes=bias_axes if self._use_bias else None,
                activation=activation,
                name=name,
                **common(),
            )
            layer.build(input_shape)
            return layer

        q_heads, kv_heads, h = self.num_query_heads, self.num_key_value_heads, self.head_dim
        # Keras keeps these under private names (no public properties): so do its weights files.
        self._query_dense = projection("bqm,muh->bquh", (None, q_heads, h), "uh", "query", query_shape)
        self._key_dense = projection("bkm,mvh->bkvh", (None, kv_heads, h), "vh", "key", key_shape)
        if self._use_gate:
            self._gate_dense = projection(
                "bqm,muh->bquh", (None, q_heads, h), "uh", "gate", query_shape, activation="sigmoid"
            )
        self._value_dense = projection("bkm,mvh->bkvh", (None, kv_heads, h), "vh", "value", value_shape)
        self._build_dropout()
        self._output_dense = projection(
            "bquh,uhm->bqm", (None, self.feature_dim), "m", "attention_output", (None, None, q_heads, h)
        )
        # Variable paths as Keras: `mha/query/kernel`.
        self._refresh_paths()
        self.built = True

    def _expand_heads(self, x):
        return x.repeat_interleave(self.num_repeats, dim=2) if self.num_repeats > 1 else x

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
        return self._attend(
            (self._query_dense, self._key_dense, self._value_dense, self._output_dense),
            query,
            value,
            key,
            (query_mask, value_mask, key_mask),
            attention_mask,
            return_attention_scores,
            training,
            use_causal_mask,
        )

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(
                "The last dimension of `query_shape` and `value_shape` must be equal, but are "
                f"{query_shape[-1]}, {value_shape[-1]}. Received: query_shape={query_shape}, "
                f"value_shape={value_shape}"
            )
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "head_dim": self.head_dim,
                "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "use_bias": self._use_bias,
                "use_gate": self._use_gate,
                "sliding_window": self._sliding_window,
                "dropout": self._dropout,
            }
        )
        config.update(self._common_config())
        return config


GroupQueryAttention = GroupedQueryAttention
