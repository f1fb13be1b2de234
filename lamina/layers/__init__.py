"""Layers: the public ``lamina.layers`` namespace (mirrors ``keras.layers``)."""

from lamina.layers.core import *  # noqa: F401,F403
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize, serialize
