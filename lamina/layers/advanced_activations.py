"""Keras 2 module path ``keras.layers.advanced_activations``: the activation layers."""

from lamina.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]
