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

# Keras 2 module paths (`keras.layers.merge.Add`, `keras.layers.noise.GaussianNoise`, ...).
from lamina.layers import (  # noqa: E402
    advanced_activations,
    convolutional_recurrent,
    dense_attention,
    embeddings,
    merge,
    noise,
    wrappers,
)

# Keras 1 argument names (`border_mode=`, `init=`, `Convolution2D(32, 3, 3)`), as Keras 2 took them.
from lamina.layers import _keras1_arguments as _keras1_arguments  # noqa: E402
from lamina import layers as _this_package  # noqa: E402

_keras1_arguments.install(_this_package)
