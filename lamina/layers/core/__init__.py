"""Core layers (also the Keras 2 module path ``keras.layers.core``)."""

from lamina.layers.core.activation import Activation
from lamina.layers.core.activity_regularization import ActivityRegularization
from lamina.layers.core.dense import Dense
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.layers.core.embedding import Embedding
from lamina.layers.core.identity import Identity
from lamina.layers.core.input_layer import Input, InputLayer
from lamina.layers.core.lambda_layer import Lambda
from lamina.layers.core.masking import Masking
from lamina.layers.core.reversible_embedding import ReversibleEmbedding
from lamina.layers.core.torch_module_wrapper import TorchModuleWrapper
from lamina.layers.core.wrapper import Wrapper

# Keras 2's `keras.layers.core` also held these (now in the regularization and reshaping
# families).
from lamina.layers.regularization.dropout import Dropout  # noqa: E402
from lamina.layers.regularization.spatial_dropout import (  # noqa: E402
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from lamina.layers.reshaping.flatten import Flatten  # noqa: E402
from lamina.layers.reshaping.permute import Permute  # noqa: E402
from lamina.layers.reshaping.repeat_vector import RepeatVector  # noqa: E402
from lamina.layers.reshaping.reshape import Reshape  # noqa: E402

__all__ = [
    "Activation",
    "ActivityRegularization",
    "Dense",
    "EinsumDense",
    "Embedding",
    "Identity",
    "Input",
    "InputLayer",
    "Lambda",
    "Masking",
    "ReversibleEmbedding",
    "TorchModuleWrapper",
    "Wrapper",
]
__all__ += [
    "Dropout",
    "Flatten",
    "Permute",
    "RepeatVector",
    "Reshape",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
]

# Installs the recorder of ops called on symbolic tensors (lamina.backend.symbolic.set_op_recorder).
from lamina.layers.core import tensor_op as _tensor_op  # noqa: E402,F401
