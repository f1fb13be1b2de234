"""Keras 2 module path ``keras.layers.cudnn_recurrent``."""

from lamina.layers.recurrent.cudnn_recurrent import CuDNNGRU, CuDNNLSTM  # noqa: F401
