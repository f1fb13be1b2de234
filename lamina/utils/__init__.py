"""Utilities (``keras.utils``): one-hot encoding, normalization, seeding, Python datasets."""

from lamina.backend.random import set_random_seed
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.py_dataset import PyDataset, Sequence

__all__ = ["PyDataset", "Sequence", "normalize", "set_random_seed", "to_categorical"]
