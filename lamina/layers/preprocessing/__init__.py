"""Preprocessing layers (so far: Rescaling)."""

from lamina.layers.preprocessing.rescaling import Rescaling

__all__ = ["Rescaling"]
