"""Keras 2 module path ``keras.layers.convolutional_recurrent``: the convolutional LSTM layers."""

from lamina.layers.recurrent import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
