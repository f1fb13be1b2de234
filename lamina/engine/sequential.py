"""Keras 2 path ``keras.engine.sequential``: ``Sequential``."""

from lamina.models.sequential import Sequential

__all__ = ["Sequential"]
