"""Small standard datasets (``keras.datasets``), downloaded once into the Keras cache.

Each loader downloads its files from the same URL as Keras, checks the same hash, and keeps them
in the same place (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``), so a cache filled by Keras
serves Lamina and the reverse; offline, a cached file loads without network.
"""

from lamina.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
