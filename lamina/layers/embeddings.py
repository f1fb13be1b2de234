"""Keras 2 module path ``keras.layers.embeddings``: ``Embedding``."""

from lamina.layers.core.embedding import Embedding

__all__ = ["Embedding"]
