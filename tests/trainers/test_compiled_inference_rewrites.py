"""``jit_compile=True`` predict / evaluate: the inference rewrites inside the compiled graph.

A convolution with few input channels whose output only a max pooling reads computes the pooled
output as one elementwise expression (``_conv_math.max_pooled_conv``, fused by inductor); "valid"
runs are cropped; BatchNormalization is folded and a narrow Dense kernel transposed inside the graph,
from the current weights on every call."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_inference_crop import _mnist_convnet

import lamina
from lamina import layers
from lamina.layers import _inference
from lamina.ops import _conv_math
from lamina.trainers import inference_path

rng = np.random.default_rng(3)


def _reference(x, kernel, bias, strides, dilation, pool_size, pool_strides, activation):
    """torch's convolution then max pooling, channels-last in and out."""
    rank = kernel.dim() - 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[rank - 1]
    out = conv(torch.movedim(x, -1, 1), _conv_math.torch_kernel(kernel), bias, strides, 0, dilation)
    if activation is not None:
        out = activation(out)
    return torch.movedim(pool(out, pool_size, pool_strides), 1, -1)


@pytest.mark.parametrize(
    "spatial, kernel_size, strides, dilation, pool_size, pool_strides, channels, relu, bias",
    [
        ((28, 28), (3, 3), (1, 1), (1, 1), (2, 2), (2, 2), 1, True, True),  # the MNIST convnet's
        ((27, 25), (3, 2), (1, 1), (1, 1), (2, 2), (2, 2), 2, True, False),  # odd sizes: unread rows
        ((20, 21), (3, 3), (2, 1), (1, 1), (2, 3), (1, 2), 1, False, True),  # overlapping windows
        ((19, 19), (2, 2), (1, 1), (2, 2), (3, 3), (2, 2), 1, True, True),  # dilated
        ((30,), (5,), (1,), (1,), (3,), (3,), 3, True, True),  # Conv1D
        ((9, 8, 7), (2, 2, 2), (1, 1, 1), (1, 1, 1), (2, 2, 2), (2, 2, 2), 1, True, True),  # 3D
    ],
)
def test_max_pooled_conv_matches_the_convolution_then_the_pooling(
    spatial, kernel_size, strides, dilation, pool_size, pool_strides, channels, relu, bias
):
    x = torch.from_numpy(rng.normal(size=(3,) + spatial + (channels,)).astype("float32"))
    kernel = torch.from_numpy(rng.normal(size=kernel_size + (channels, 5)).astype("float32"))
    b = torch.from_numpy(rng.normal(size=(5,)).astype("float32")) if bias else None
    activation = torch.relu if relu else None
    args = (x, kernel, b, strides, dilation, pool_size, pool_strides, activation)
    out = _conv_math.max_pooled_conv(*args)
    expected = _reference(*args)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_max_pooled_conv_propagates_nan_like_the_pooling():
    x = torch.from_numpy(rng.normal(size=(2, 8, 8, 1)).astype("float32"))
    x[0, 3, 3, 0] = float("nan")
    kernel = torch.from_numpy(rng.normal(size=(3, 3, 1, 4)).astype("float32"))
    args = (x, kernel, None, (1, 1), (1, 1), (2, 2), (2, 2), torch.relu)
    out, expected = _conv_math.max_pooled_conv(*args), _reference(*args)
    assert torch.equal(out.isnan(), expected.isnan()) and out.isnan().any()
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5, equal_nan=True)


@pytest.mark.oracle
def test_max_pooled_conv_matches_keras(kops):
    x = rng.uniform(size=(4, 28, 28, 1)).astype("float32")
    kernel = rng.normal(size=(3, 3, 1, 32)).astype("float32")
    bias = rng.normal(size=(32,)).astype("float32")
    theirs = kops.max_pool(kops.relu(kops.conv(x, kernel) + bias), 2, 2)
    mine = _conv_math.max_pooled_conv(
        torch.from_numpy(x), torch.from_numpy(kernel), torch.from_numpy(bias), (1, 1), (1, 1),
        (2, 2), (2, 2), torch.relu,
    )
    np.testing.assert_allclose(mine.numpy(), np.asarray(theirs), rtol=1e-5, atol=1e-5)


def _built(*stack, shape):
    model = lamina.Sequential([lamina.Input(shape), *stack])
    return model


@pytest.mark.parametrize(
    "conv, pool, shape, expected",
    [
        (layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), (28, 28, 1), True),
        (layers.Conv2D(8, 3), layers.MaxPooling2D(2), (28, 28, 1), True),  # linear activation
        (layers.Conv1D(8, 3, activation="relu"), layers.MaxPooling1D(2), (30, 4), True),
        (layers.Conv2D(8, 3, data_format="channels_first"),
         layers.MaxPooling2D(2, data_format="channels_first"), (1, 28, 28), True),
        # Too many products per pooled output: 2x2 pooling x 3x3 kernel x 2 channels = 72.
        (layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2), (28, 28, 2), False),
        (layers.Conv2D(8, 5, activation="relu"), layers.MaxPooling2D(2), (28, 28, 1), False),
        (layers.Conv2D(8, 3, activation="relu"), layers.AveragePooling2D(2), (28, 28, 1), False),
        (layers.Conv2D(8, 3, padding="same"), layers.MaxPooling2D(2), (28, 28, 1), False),
        (layers.Conv2D(8, 3), layers.MaxPooling2D(2, padding="same"), (28, 28, 1), False),
        # Applied after the maximum: only an activation that keeps the order of its inputs.
        (layers.Conv2D(8, 3, activation="tanh"), layers.MaxPooling2D(2), (28, 28, 1), False),
        (layers.Conv2D(8, 3, activation="gelu"), layers.MaxPooling2D(2), (28, 28, 1), False),
        (layers.Conv2D(8, 3, groups=1, dtype="float16"), layers.MaxPooling2D(2), (28, 28, 1), False),
    ],
)
def test_which_convolution_pooling_pairs_fuse(conv, pool, shape, expected):
    model = _built(conv, pool, shape=shape)
    assert inference_path._linked_pairs(model) == [(conv, pool)]
    assert inference_path._fusable_max_pool(conv, pool) is expected


def _convnet(jit_compile):
    model = _mnist_convnet()  # 8 and 12 filters
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"], jit_compile=jit_compile)
    return model


def _compiled_now(model, loop="predict"):
    step = model.__dict__["_predict_function" if loop == "predict" else "_test_function"].step
    assert not step.failed
    step.path = "compiled"  # whichever was faster here, the compiled graph is under test


def _convolutions(run):
    """The input shapes of the convolutions ``run()`` makes torch run."""
    with torch.profiler.profile(record_shapes=True) as profile:
        run()
    return [
        tuple(event.input_shapes[0]) for event in profile.events()
        if event.name == "aten::mkldnn_convolution" or event.name == "aten::convolution_overrideable"
    ]


def test_compiled_predict_fuses_and_crops_in_one_graph_and_sees_new_weights(monkeypatch):
    monkeypatch.setattr(_inference, "_MIN_INPUT_SIZE", 1)  # the narrow Dense's 16 x 300 inputs too
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    eager, compiled = _convnet(False), _convnet(True)
    compiled.set_weights(eager.get_weights())
    x = rng.uniform(size=(64, 28, 28, 1)).astype("float32")
    y = np.eye(10, dtype="float32")[np.arange(64) % 10]
    for _ in range(3):  # the build call, the compiling call, 3 timed calls of each path
        compiled.predict(x, batch_size=16, verbose=0)
    _compiled_now(compiled)
    np.testing.assert_allclose(
        compiled.predict(x, batch_size=16, verbose=0), eager.predict(x, batch_size=16, verbose=0),
        rtol=1e-5, atol=1e-6,
    )
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert not torch._dynamo.utils.counters["graph_break"]
    # One convolution left per batch: the first pair (1 channel: 36 products) is one fused
    # expression, the second (8 channels) is not. Its input is 12x12, not 13x13: the run's input
    # was cropped from 28x28 to 26x26 inside the graph too.
    assert _convolutions(lambda: compiled.predict(x[:32], batch_size=16, verbose=0)) == [
        (16, 8, 12, 12)
    ] * 2
    assert _convolutions(lambda: eager.predict(x[:16], batch_size=16, verbose=0)) == [
        (16, 1, 26, 26), (16, 8, 12, 12),
    ]
    # The graph reads the weights on each call: new ones show at once (the narrow Dense's
    # transposed kernel included).
    new = [w * 0.5 + 0.05 for w in eager.get_weights()]
    eager.set_weights(new)
    compiled.set_weights(new)
    np.testing.assert_allclose(
        compiled.predict(x, batch_size=16, verbose=0), eager.predict(x, batch_size=16, verbose=0),
        rtol=1e-5, atol=1e-6,
    )
    # evaluate compiles its own forward pass with the same rewrites.
    for _ in range(2):
        compiled.evaluate(x, y, batch_size=16, verbose=0)
    _compiled_now(compiled, "evaluate")
    np.testing.assert_allclose(
        compiled.evaluate(x, y, batch_size=16, verbose=0),
        eager.evaluate(x, y, batch_size=16, verbose=0), rtol=1e-5,
    )
    assert len(_convolutions(lambda: compiled.evaluate(x[:16], y[:16], verbose=0))) == 1
    # Nothing stays marked after the loops.
    assert not any(key.startswith("_inference_") for key in compiled.layers[0].__dict__)


def test_compiled_predict_folds_batchnorm_with_current_statistics(monkeypatch):
    torch._dynamo.reset()
    traced = []  # whether folded weights came back while compiling (replayed by each graph call)
    original = _inference.folded_weights

    def spy(conv, x):
        out = original(conv, x)
        traced.append(out is not None and torch.compiler.is_compiling())
        return out

    monkeypatch.setattr(_inference, "folded_weights", spy)

    def model(jit_compile):
        inputs = lamina.Input((12, 12, 3))
        x = layers.Conv2D(8, 3, padding="same")(inputs)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        outputs = layers.Dense(4)(layers.GlobalAveragePooling2D()(x))
        m = lamina.Model(inputs, outputs)
        m.compile(loss="mse", jit_compile=jit_compile)
        return m

    eager, compiled = model(False), model(True)
    conv, bn = eager.layers[1:3]
    assert inference_path._foldable(conv, bn)

    def statistics(scale):
        weights = eager.get_weights()
        # Conv kernel, bias; gamma, beta, moving mean, moving variance; Dense kernel, bias.
        weights[4] = rng.normal(size=8).astype("float32") * scale
        weights[5] = rng.uniform(0.5, 2.0, size=8).astype("float32") * scale
        eager.set_weights(weights)
        compiled.set_weights(weights)

    statistics(1.0)
    x = rng.normal(size=(32, 12, 12, 3)).astype("float32")
    for _ in range(3):
        compiled.predict(x, batch_size=8, verbose=0)
    _compiled_now(compiled)
    np.testing.assert_allclose(
        compiled.predict(x, batch_size=8, verbose=0), eager.predict(x, batch_size=8, verbose=0),
        rtol=1e-5, atol=1e-5,
    )
    assert True in traced
    statistics(3.0)  # the folded weights come from the statistics of this call
    np.testing.assert_allclose(
        compiled.predict(x, batch_size=8, verbose=0), eager.predict(x, batch_size=8, verbose=0),
        rtol=1e-5, atol=1e-5,
    )
