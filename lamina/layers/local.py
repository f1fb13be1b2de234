"""Keras 2 module path ``keras.layers.local``: the locally-connected layers."""

from lamina.layers.locally_connected import LocallyConnected1D, LocallyConnected2D

__all__ = ["LocallyConnected1D", "LocallyConnected2D"]
