"""The Keras 2 surface of issue 10: every ``K.*`` function, ``layers.AbstractRNNCell`` and the
Keras 2 module paths resolve to real Lamina objects (no placeholders), each module path exposing
the names it exposed in Keras 2.x."""

import ast
import importlib
import inspect
import textwrap

import pytest

import lamina

K_FUNCTIONS = [
    "conv1d", "conv2d", "conv3d", "conv2d_transpose", "depthwise_conv2d", "separable_conv2d",
    "pool2d", "pool3d", "local_conv1d", "local_conv2d", "ctc_batch_cost", "ctc_decode",
    "ctc_label_dense_to_sparse", "rnn", "map_fn", "foldl", "foldr", "function", "gradients",
    "placeholder", "learning_phase", "set_learning_phase", "learning_phase_scope",
    "in_train_phase", "in_test_phase", "name_scope", "is_keras_tensor", "is_sparse", "to_dense",
    "moving_average_update", "normalize_batch_in_training", "random_normal_variable",
    "random_uniform_variable", "reset_uids", "manual_variable_initialization",
    "binary_focal_crossentropy", "categorical_focal_crossentropy",
]

# Module path (under `lamina.`) -> the names Keras 2.x exposed there that Lamina implements.
MODULE_PATHS = {
    "layers.core": [
        "Activation", "ActivityRegularization", "Dense", "Dropout", "EinsumDense", "Embedding",
        "Flatten", "Identity", "Lambda", "Masking", "Permute", "RepeatVector", "Reshape",
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    ],
    "layers.merge": [
        "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract",
        "_Merge", "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply",
        "subtract",
    ],
    "layers.advanced_activations": ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"],
    "layers.noise": ["AlphaDropout", "GaussianDropout", "GaussianNoise"],
    "layers.wrappers": ["Bidirectional", "TimeDistributed", "Wrapper"],
    "layers.embeddings": ["Embedding"],
    "layers.convolutional_recurrent": ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"],
    "layers.recurrent": [
        "AbstractRNNCell", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell",
        "StackedRNNCells",
    ],
    "layers.normalization": ["BatchNormalization", "LayerNormalization"],
    "layers.convolutional": [
        "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "Conv1D", "Conv1DTranspose",
        "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Convolution1D",
        "Convolution2D", "Convolution3D", "Cropping1D", "Cropping2D", "Cropping3D",
        "DepthwiseConv1D", "DepthwiseConv2D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
        "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
        "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
        "ZeroPadding3D",
    ],
    "layers.pooling": [
        "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D",
        "AvgPool3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D",
        "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
        "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPooling1D",
        "MaxPooling2D", "MaxPooling3D",
    ],
    "layers.local": ["LocallyConnected1D", "LocallyConnected2D"],
    "layers.cudnn_recurrent": ["CuDNNGRU", "CuDNNLSTM"],
    "layers.dense_attention": ["AdditiveAttention", "Attention"],
    "layers": ["AbstractRNNCell"],
    "engine": ["Input", "InputLayer", "InputSpec", "Layer", "Model", "get_source_inputs"],
    "engine.base_layer": ["InputSpec", "Layer", "Node"],
    "engine.input_layer": ["Input", "InputLayer"],
    "engine.input_spec": ["InputSpec", "assert_input_compatibility"],
    "engine.node": ["Node"],
    "engine.keras_tensor": ["KerasTensor"],
    "engine.training": ["Model"],
    "engine.sequential": ["Sequential"],
    "engine.functional": ["Functional"],
    "engine.topology": ["Input", "InputLayer", "InputSpec", "Layer", "Node", "get_source_inputs"],
    "utils.np_utils": ["normalize", "to_categorical", "to_ordinal"],
    "utils.vis_utils": ["model_to_dot", "plot_model"],
    "utils.generic_utils": [
        "CustomObjectScope", "Progbar", "custom_object_scope", "deserialize_keras_object",
        "func_dump", "func_load", "get_custom_objects", "get_registered_name",
        "get_registered_object", "has_arg", "is_all_none", "make_batches",
        "register_keras_serializable", "serialize_keras_object", "slice_arrays", "to_list",
        "to_snake_case",
    ],
    "utils.layer_utils": ["count_params", "get_source_inputs", "print_summary"],
    "callbacks": ["BaseLogger"],
}


def _is_placeholder(obj):
    """A function whose body only raises NotImplementedError (or does nothing)."""
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        return False
    tree = ast.parse(source)
    fn = tree.body[0]
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if not body or all(isinstance(s, ast.Pass) for s in body):
        return True
    return len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0])


def _assert_real(obj, where):
    assert callable(obj), f"{where} is not callable"
    module = getattr(obj, "__module__", "") or ""
    assert module.startswith("lamina."), f"{where} comes from {module!r}, not Lamina"
    if inspect.isfunction(obj):
        assert not _is_placeholder(obj), f"{where} is a placeholder"


@pytest.mark.parametrize("name", K_FUNCTIONS)
def test_k_function_is_real(name):
    fn = getattr(lamina.backend, name)
    _assert_real(fn, f"lamina.backend.{name}")
    assert name in lamina.backend.legacy.__all__


def test_k_function_list_is_complete():
    assert len(set(K_FUNCTIONS)) == 37


@pytest.mark.parametrize("path", sorted(MODULE_PATHS))
def test_module_path_exposes_keras2_names(path):
    module = importlib.import_module(f"lamina.{path}")
    # Also reachable as attributes from the top level, as `keras.layers.merge.Add` is.
    target = lamina
    for part in path.split("."):
        target = getattr(target, part)
    assert target is module
    for name in MODULE_PATHS[path]:
        obj = getattr(module, name, None)
        assert obj is not None, f"lamina.{path}.{name} is missing"
        _assert_real(obj, f"lamina.{path}.{name}")


def test_layer_paths_share_the_layer_classes():
    # The Keras 2 paths are the same classes as `lamina.layers.X`, so isinstance checks and
    # saved configs agree.
    for path, names in MODULE_PATHS.items():
        if not path.startswith("layers."):
            continue
        module = importlib.import_module(f"lamina.{path}")
        for name in names:
            if hasattr(lamina.layers, name):
                assert getattr(module, name) is getattr(lamina.layers, name), f"{path}.{name}"
