"""Layers: the public ``lamina.layers`` namespace (mirrors ``keras.layers``)."""

from lamina.layers.activations import *  # noqa: F401,F403
from lamina.layers.attention import *  # noqa: F401,F403
from lamina.layers.convolutional import *  # noqa: F401,F403
from lamina.layers.core import *  # noqa: F401,F403
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.locally_connected import *  # noqa: F401,F403
from lamina.layers.merging import *  # noqa: F401,F403
from lamina.layers.normalization import *  # noqa: F401,F403
from lamina.layers.pooling import *  # noqa: F401,F403
from lamina.layers.preprocessing import *  # noqa: F401,F403
from lamina.layers.recurrent import *  # noqa: F401,F403
from lamina.layers.regularization import *  # noqa: F401,F403
from lamina.layers.reshaping import *  # noqa: F401,F403
from lamina.layers.serialization import deserialize, serialize
