"""Activation layers (Keras 2's "advanced activations"): ReLU, LeakyReLU, PReLU, ELU, Softmax,
ThresholdedReLU.

Not to be confused with ``lamina.activations``, the module of activation *functions* these layers
call into.
"""

from lamina.layers.activations.elu import ELU
from lamina.layers.activations.leaky_relu import LeakyReLU
from lamina.layers.activations.prelu import PReLU
from lamina.layers.activations.relu import ReLU
from lamina.layers.activations.softmax import Softmax
from lamina.layers.activations.thresholded_relu import ThresholdedReLU

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]
