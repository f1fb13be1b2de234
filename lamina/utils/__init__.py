"""Utilities (``keras.utils``): one-hot encoding, normalization, seeding."""

from lamina.backend.random import set_random_seed
from lamina.utils.numerical_utils import normalize, to_categorical

__all__ = ["normalize", "set_random_seed", "to_categorical"]
