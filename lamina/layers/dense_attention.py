"""Keras 2 module path ``keras.layers.dense_attention``: dot-product and additive attention."""

from lamina.layers.attention import AdditiveAttention, Attention

__all__ = ["AdditiveAttention", "Attention"]
