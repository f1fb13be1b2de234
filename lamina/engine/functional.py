"""Keras 2 path ``keras.engine.functional``: ``Functional``, the graph model."""

from lamina.models.functional import Functional

__all__ = ["Functional"]
