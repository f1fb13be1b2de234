"""Keras 2 path ``keras.engine.training``: ``Model``."""

from lamina.models.model import Model

__all__ = ["Model"]
