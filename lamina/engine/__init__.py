"""Keras 2 import paths (``keras.engine.topology.Input``, ``keras.engine.input_layer.Input``)."""

from lamina.engine import input_layer, topology
