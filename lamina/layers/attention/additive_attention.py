"""``AdditiveAttention``: Bahdanau-style attention, ``sum(scale * tanh(query + key))`` scores."""

import torch

from lamina.layers.attention.attention import Attention
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Like :class:`Attention`, but the score of a query row ``q`` against a key row ``k`` is
    ``sum(scale * tanh(q + k))`` over the feature axis, with ``scale`` a learned vector of size
    ``dim`` (or 1 when ``use_scale=False``).

    Args:
        use_scale: If ``True``, create the learned ``scale`` vector (shape ``(dim,)``).
        dropout: Float in ``[0, 1]``, fraction of the attention weights to drop in training.
        seed: Integer seed of the dropout stream.

    Call arguments:
        inputs: List ``[query, value]`` or ``[query, value, key]`` (see :class:`Attention`).
        mask: List ``[query_mask, value_mask]`` of boolean tensors.
        training: Whether dropout is applied.
        return_attention_scores: If ``True``, also return the attention weights.
        use_causal_mask: If ``True``, query position ``i`` only attends to positions ``j <= i``.

    Input shape:
        ``[(batch_size, Tq, dim), (batch_size, Tv, dim)]`` plus an optional key of the value's shape.

    Output shape:
        ``(batch_size, Tq, dim)``, and ``(batch_size, Tq, Tv)`` scores when requested.

    Example:

    >>> query = lamina.Input(shape=(4, 8))
    >>> value = lamina.Input(shape=(6, 8))
    >>> lamina.layers.AdditiveAttention()([query, value]).shape
    (None, 4, 8)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def _build_scores(self, query_shape):
        if self.use_scale:
            dim = query_shape[-1]
            if dim is None:
                raise ValueError(
                    f"AdditiveAttention layer '{self.name}' needs a defined last dimension of "
                    f"`query` to create `scale`. Received: query shape={tuple(query_shape)}"
                )
            self.scale = self.add_weight(name="scale", shape=(dim,), initializer="glorot_uniform")

    def _calculate_scores(self, query, key):
        pairs = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        if self.scale is not None:
            pairs = self.scale * pairs
        return pairs.sum(dim=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
