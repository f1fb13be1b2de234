"""Keras 2 module path ``keras.layers.noise``: the noise layers (active only in training)."""

from lamina.layers.regularization import AlphaDropout, GaussianDropout, GaussianNoise

__all__ = ["AlphaDropout", "GaussianDropout", "GaussianNoise"]
