"""Recurrent layers: the ``RNN`` base, the cells, and the LSTM/GRU/SimpleRNN layers.

Also the Keras 2 module path ``keras.layers.recurrent``.
"""

from lamina.layers.recurrent.bidirectional import Bidirectional
from lamina.layers.recurrent.conv_lstm1d import ConvLSTM1D
from lamina.layers.recurrent.conv_lstm2d import ConvLSTM2D
from lamina.layers.recurrent.conv_lstm3d import ConvLSTM3D
from lamina.layers.recurrent.cudnn_recurrent import CuDNNGRU, CuDNNLSTM
from lamina.layers.recurrent.gru import GRU, GRUCell
from lamina.layers.recurrent.lstm import LSTM, LSTMCell
from lamina.layers.recurrent.rnn import RNN
from lamina.layers.recurrent.simple_rnn import SimpleRNN, SimpleRNNCell
from lamina.layers.recurrent.stacked_rnn_cells import StackedRNNCells
from lamina.layers.recurrent.time_distributed import TimeDistributed
from lamina.layers.recurrent.abstract_rnn_cell import AbstractRNNCell
