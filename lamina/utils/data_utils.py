"""Keras 2's ``keras.utils.data_utils`` path: ``Sequence``, ``get_file`` and the enqueuers."""

from lamina.utils.enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer
from lamina.utils.file_utils import get_file, hash_file, validate_file
from lamina.utils.py_dataset import PyDataset, Sequence

__all__ = [
    "GeneratorEnqueuer",
    "OrderedEnqueuer",
    "PyDataset",
    "Sequence",
    "SequenceEnqueuer",
    "get_file",
    "hash_file",
    "validate_file",
]
