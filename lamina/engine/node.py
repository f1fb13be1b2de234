"""Keras 2 path ``keras.engine.node``: ``Node``, one call of a layer in a graph."""

from lamina.backend.symbolic import Node

__all__ = ["Node"]
