"""Keras 2 path ``keras.engine.keras_tensor``: ``KerasTensor``."""

from lamina.backend.symbolic import KerasTensor

__all__ = ["KerasTensor"]
