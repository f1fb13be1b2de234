"""The seed documents' examples for the foundation layers, run as written (Keras 2 spellings too)."""

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import backend as K
from lamina.layers import Activation, Dense, Lambda, Masking, Permute, RepeatVector, Reshape
from lamina.models import Sequential


def test_reshape_seed_example():
    model = Sequential()
    model.add(Reshape((3, 4), input_shape=(12,)))
    assert model.output_shape == (None, 3, 4)
    model.add(Reshape((6, 2)))
    assert model.output_shape == (None, 6, 2)
    model.add(Reshape((-1, 2, 2)))
    assert model.output_shape == (None, 3, 2, 2)


def test_permute_seed_example():
    model = Sequential()
    model.add(Permute((2, 1), input_shape=(10, 64)))
    assert model.output_shape == (None, 64, 10)


def test_repeat_vector_seed_example():
    model = Sequential()
    model.add(Dense(32, input_dim=32))
    assert model.output_shape == (None, 32)
    model.add(RepeatVector(3))
    assert model.output_shape == (None, 3, 32)


def test_lambda_square_and_antirectifier_seed_example():
    model = Sequential([keras.Input((4,))])
    model.add(Lambda(lambda x: x**2))

    def antirectifier(x):
        x -= K.mean(x, axis=1, keepdims=True)
        x = K.l2_normalize(x, axis=1)
        pos = K.relu(x)
        neg = K.relu(-x)
        return K.concatenate([pos, neg], axis=1)

    def antirectifier_output_shape(input_shape):
        shape = list(input_shape)
        assert len(shape) == 2  # only valid for 2D tensors
        shape[-1] *= 2
        return tuple(shape)

    model.add(Lambda(antirectifier, output_shape=antirectifier_output_shape))
    assert model.output_shape == (None, 8)
    x = np.random.rand(3, 4).astype("float32")
    out = model(x).detach().numpy()
    sq = x**2
    centred = sq - sq.mean(axis=1, keepdims=True)
    normed = centred / np.sqrt(np.maximum((centred**2).sum(axis=1, keepdims=True), 1e-12))
    expected = np.concatenate([np.maximum(normed, 0), np.maximum(-normed, 0)], axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_lambda_with_two_outputs_seed_example():
    input_1 = keras.Input((16,))
    input_2 = keras.Input((16,))

    def hadamard_product_sum(tensors):
        out1 = tensors[0] * tensors[1]
        out2 = K.sum(out1, axis=-1)
        return [out1, out2]

    def hadamard_product_sum_output_shape(input_shapes):
        shape1 = list(input_shapes[0])
        shape2 = list(input_shapes[1])
        assert shape1 == shape2  # else hadamard product isn't possible
        return [tuple(shape1), tuple(shape2[:-1])]

    x1 = Dense(32)(input_1)
    x2 = Dense(32)(input_2)
    layer = Lambda(hadamard_product_sum, hadamard_product_sum_output_shape)
    x_hadamard, x_sum = layer([x1, x2])
    assert x_hadamard.shape == (None, 32) and x_sum.shape == (None,)
    model = keras.Model([input_1, input_2], [x_hadamard, x_sum])
    a, b = torch.randn(2, 16), torch.randn(2, 16)
    h, s = model([a, b])
    torch.testing.assert_close(s, h.sum(-1))


def test_masking_seed_example():
    timesteps, features = 6, 3
    x = np.random.rand(3, timesteps, features).astype("float32")
    x[0, 3, :] = 0.0
    x[2, 5, :] = 0.0
    model = Sequential()
    model.add(Masking(mask_value=0.0, input_shape=(timesteps, features)))
    model.add(Dense(4))
    out = model(x)
    expected = np.ones((3, timesteps), bool)
    expected[0, 3] = expected[2, 5] = False
    np.testing.assert_array_equal(out._keras_mask.numpy(), expected)


def test_get_config_from_config_and_deserialize_seed_example():
    from lamina import layers

    layer = Dense(32)
    config = layer.get_config()
    reconstructed_layer = Dense.from_config(config)
    assert reconstructed_layer.get_config() == config
    layer = layers.deserialize({"class_name": layer.__class__.__name__, "config": config})
    assert isinstance(layer, Dense) and layer.units == 32


def test_get_set_weights_seed_example():
    layer = Dense(3)
    layer.build((None, 2))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [(2, 3), (3,)]
    layer.set_weights([np.ones((2, 3)), np.zeros(3)])
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones((2, 3)))


def test_layer_weights_after_call_seed_example():
    layer = keras.layers.Dense(32, activation="relu")
    inputs = torch.rand(10, 20)
    outputs = layer(inputs)
    assert outputs.shape == (10, 32)
    assert [tuple(w.shape) for w in layer.weights] == [(20, 32), (32,)]


def test_activation_seed_examples():
    from lamina import activations

    model = Sequential()
    model.add(Dense(64, activation=activations.relu, input_shape=(8,)))
    model.add(Dense(64))
    model.add(Activation(activations.relu))
    model.add(Dense(64, activation="relu"))
    assert model.output_shape == (None, 64)


def test_initializer_regularizer_constraint_seed_examples():
    from lamina import initializers, layers, regularizers
    from lamina.constraints import max_norm

    layer = layers.Dense(
        units=64,
        kernel_initializer=initializers.RandomNormal(stddev=0.01),
        bias_initializer=initializers.Zeros(),
    )
    layer = layers.Dense(units=64, kernel_initializer="random_normal", bias_initializer="zeros")
    layer = layers.Dense(
        units=64,
        kernel_regularizer=regularizers.L1L2(l1=1e-5, l2=1e-4),
        bias_regularizer=regularizers.L2(1e-4),
        activity_regularizer=regularizers.L2(1e-5),
    )
    layer(torch.ones(2, 3))
    assert len(layer.losses) == 3
    model = Sequential([keras.Input((3,))])
    model.add(Dense(64, kernel_constraint=max_norm(2.0)))
    assert model.layers[0].kernel.constraint is not None


def test_node_api_seed_example():
    a = keras.Input((4,))
    b = keras.Input((4,))
    shared = Dense(2)
    shared(a)
    shared(b)
    assert shared.get_input_at(0) is a and shared.get_input_at(1) is b
    assert shared.get_input_shape_at(1) == (None, 4)
    assert shared.get_output_shape_at(0) == (None, 2)
    assert shared.get_output_at(1).shape == (None, 2)


def test_embedding_lstm_dense_seed_example(capsys):
    from lamina import layers

    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.LSTM(128))
    model.add(layers.Dense(10))
    model.summary()
    assert model(np.zeros((2, 9), "int32")).shape == (2, 10)
    assert "lstm" in capsys.readouterr().out


def test_masking_lstm_seed_example():
    from lamina.layers import LSTM

    timesteps, features = 6, 3
    x = np.random.rand(3, timesteps, features).astype("float32")
    x[0, 3, :] = 0.0
    x[2, 5, :] = 0.0
    model = Sequential()
    model.add(Masking(mask_value=0.0, input_shape=(timesteps, features)))
    model.add(LSTM(32))
    out = model(x)
    assert out.shape == (3, 32)
    # Timestep 3 of sample 0 is skipped: removing it from the input gives the same output.
    alone = model.layers[-1](torch.tensor(np.delete(x[:1], 3, axis=1)))
    torch.testing.assert_close(out[:1], alone, rtol=1e-5, atol=1e-5)


def test_seed_outputs_print_and_convert_to_numpy(capsys):
    # Seed 000 (UpSampling2D, printed) and seed 002 (Conv2D on random data, shape printed), plus
    # the conversions Keras users write on such outputs.
    x = np.arange(np.prod((2, 2, 1, 3))).reshape((2, 2, 1, 3))
    print(x)
    y = keras.layers.UpSampling2D(size=(1, 2))(x)
    print(y)
    assert np.asarray(y).shape == (2, 2, 2, 3)
    inputs = np.random.default_rng(0).normal(size=(4, 28, 28, 3)).astype("float32")
    y = keras.layers.Conv2D(2, 3, activation="relu", input_shape=(28, 28, 3))(inputs)
    print(y.shape)
    assert np.asarray(y).shape == (4, 26, 26, 2) and y.numpy().dtype == np.float32
    assert "(4, 26, 26, 2)" in capsys.readouterr().out.replace("torch.Size([4, 26, 26, 2])", "(4, 26, 26, 2)")
