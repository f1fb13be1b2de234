"""Locally-connected layers: convolutions with unshared weights (Keras 2 layers)."""

from lamina.layers.locally_connected.locally_connected1d import LocallyConnected1D
from lamina.layers.locally_connected.locally_connected2d import LocallyConnected2D

__all__ = ["LocallyConnected1D", "LocallyConnected2D"]
