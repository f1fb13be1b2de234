"""Keras 1 layer arguments that Keras 2.0-2.2 converted with a warning (``border_mode=``, ``init=``,
``Convolution2D(32, 3, 3)``, ``LSTM(dropout_W=...)``): each converted call builds the layer the
Keras 2 spelling builds, and the warning shows that spelling."""

import warnings

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.regularizers import l2

# (Keras 1 call, the same layer spelled in Keras 2/3 as (class name, args, kwargs), warning text)
CASES = [
    (
        lambda L: L.Convolution2D(32, 3, 3, border_mode="same", init="he_normal", W_regularizer=l2(0.01),
                                  subsample=(2, 2), dim_ordering="tf"),
        ("Conv2D", (32, (3, 3)), dict(padding="same", kernel_initializer="he_normal",
                                      kernel_regularizer={"class_name": "L2", "config": {"l2": 0.01}},
                                      strides=(2, 2), data_format="channels_last")),
        'Update your `Conv2D` call to the Keras 2 API: `Conv2D(32, (3, 3), padding="same", '
        'kernel_initializer="he_normal", kernel_regularizer=',
    ),
    (
        lambda L: L.Convolution2D(8, 5, nb_col=3, bias=False, dim_ordering="th"),
        ("Conv2D", (8, (5, 3)), dict(use_bias=False, data_format="channels_first")),
        '`Conv2D(8, (5, 3), use_bias=False, data_format="channels_first")`',
    ),
    (
        lambda L: L.Convolution2D(nb_filter=8, nb_row=2, nb_col=4),
        ("Conv2D", (), dict(filters=8, kernel_size=(2, 4))),
        "`Conv2D(filters=8, kernel_size=(2, 4))`",
    ),
    (
        lambda L: L.Dense(output_dim=10, init="zeros", W_constraint=lamina.constraints.NonNeg(), bias=False),
        ("Dense", (10,), dict(kernel_initializer="zeros", kernel_constraint="non_neg", use_bias=False)),
        '`Dense(units=10, kernel_initializer="zeros", kernel_constraint=',
    ),
    (
        lambda L: L.Convolution1D(16, 5, border_mode="causal", subsample_length=2, b_regularizer=l2(0.1)),
        ("Conv1D", (16, 5), dict(padding="causal", strides=2,
                                 bias_regularizer={"class_name": "L2", "config": {"l2": 0.1}})),
        '`Conv1D(16, 5, padding="causal", strides=2, bias_regularizer=',
    ),
    (
        lambda L: L.Convolution1D(nb_filter=4, filter_length=3),
        ("Conv1D", (), dict(filters=4, kernel_size=3)),
        "`Conv1D(filters=4, kernel_size=3)`",
    ),
    (
        lambda L: L.Convolution3D(4, 3, 2, 1, border_mode="same"),
        ("Conv3D", (4, (3, 2, 1)), dict(padding="same")),
        '`Conv3D(4, (3, 2, 1), padding="same")`',
    ),
    (
        lambda L: L.Deconvolution2D(4, 3, 3, (None, 14, 14, 4), subsample=(2, 2), border_mode="same"),
        ("Conv2DTranspose", (4, (3, 3)), dict(strides=(2, 2), padding="same")),
        '`Conv2DTranspose(4, (3, 3), strides=(2, 2), padding="same")`',
    ),
    (
        lambda L: L.SeparableConvolution2D(8, 3, 3, init="ones", depth_multiplier=2),
        ("SeparableConv2D", (8, (3, 3)), dict(depthwise_initializer="ones", pointwise_initializer="ones",
                                              depth_multiplier=2)),
        "`SeparableConv2D(8, (3, 3), depth_multiplier=2, depthwise_initializer=",
    ),
    (
        lambda L: L.MaxPooling2D((2, 2), border_mode="same", dim_ordering="th"),
        ("MaxPooling2D", ((2, 2),), dict(padding="same", data_format="channels_first")),
        '`MaxPooling2D((2, 2), padding="same", data_format="channels_first")`',
    ),
    (
        lambda L: L.MaxPooling1D(pool_length=3, stride=1, border_mode="valid"),
        ("MaxPooling1D", (), dict(pool_size=3, strides=1, padding="valid")),
        '`MaxPooling1D(pool_size=3, strides=1, padding="valid")`',
    ),
    (
        lambda L: L.AveragePooling3D((2, 2, 2), dim_ordering="default"),
        ("AveragePooling3D", ((2, 2, 2),), dict(data_format=None)),
        "`AveragePooling3D((2, 2, 2), data_format=None)`",
    ),
    (
        lambda L: L.GlobalAveragePooling2D(dim_ordering="tf"),
        ("GlobalAveragePooling2D", (), dict(data_format="channels_last")),
        '`GlobalAveragePooling2D(data_format="channels_last")`',
    ),
    (
        lambda L: L.LSTM(8, dropout_W=0.1, dropout_U=0.2, inner_init="orthogonal", inner_activation="sigmoid",
                         U_regularizer=l2(0.1), return_sequences=True),
        ("LSTM", (8,), dict(dropout=0.1, recurrent_dropout=0.2, recurrent_initializer="orthogonal",
                            recurrent_activation="sigmoid", return_sequences=True,
                            recurrent_regularizer={"class_name": "L2", "config": {"l2": 0.1}})),
        '`LSTM(8, dropout=0.1, recurrent_dropout=0.2, recurrent_initializer="orthogonal"',
    ),
    (
        lambda L: L.GRU(output_dim=6, init="zeros", W_regularizer=l2(0.1)),
        ("GRU", (), dict(units=6, kernel_initializer="zeros",
                         kernel_regularizer={"class_name": "L2", "config": {"l2": 0.1}})),
        '`GRU(units=6, kernel_initializer="zeros", kernel_regularizer=',
    ),
    (
        lambda L: L.SimpleRNN(4, dropout_W=0.5),
        ("SimpleRNN", (4,), dict(dropout=0.5)),
        "`SimpleRNN(4, dropout=0.5)`",
    ),
    (
        lambda L: L.Embedding(100, 8, init="uniform", W_regularizer=l2(0.1)),
        ("Embedding", (100, 8), dict(embeddings_initializer="uniform",
                                     embeddings_regularizer={"class_name": "L2", "config": {"l2": 0.1}})),
        '`Embedding(100, 8, embeddings_initializer="uniform", embeddings_regularizer=',
    ),
    (
        lambda L: L.BatchNormalization(mode=0, axis=1, beta_init="ones", gamma_init="zeros"),
        ("BatchNormalization", (), dict(axis=1, beta_initializer="ones", gamma_initializer="zeros")),
        '`BatchNormalization(axis=1, beta_initializer="ones", gamma_initializer="zeros")`',
    ),
    (lambda L: L.Dropout(p=0.3), ("Dropout", (), dict(rate=0.3)), "`Dropout(rate=0.3)`"),
    (lambda L: L.SpatialDropout1D(p=0.3), ("SpatialDropout1D", (), dict(rate=0.3)), "`SpatialDropout1D(rate=0.3)`"),
    (
        lambda L: L.SpatialDropout2D(p=0.3, dim_ordering="th"),
        ("SpatialDropout2D", (), dict(rate=0.3, data_format="channels_first")),
        '`SpatialDropout2D(rate=0.3, data_format="channels_first")`',
    ),
    (lambda L: L.GaussianNoise(sigma=0.2), ("GaussianNoise", (), dict(stddev=0.2)), "`GaussianNoise(stddev=0.2)`"),
    (lambda L: L.GaussianDropout(p=0.2), ("GaussianDropout", (), dict(rate=0.2)), "`GaussianDropout(rate=0.2)`"),
    (lambda L: L.PReLU(init="ones"), ("PReLU", (), dict(alpha_initializer="ones")), '`PReLU(alpha_initializer="ones")`'),
    (lambda L: L.UpSampling1D(length=3), ("UpSampling1D", (), dict(size=3)), "`UpSampling1D(size=3)`"),
    (
        lambda L: L.UpSampling2D((2, 2), dim_ordering="th"),
        ("UpSampling2D", ((2, 2),), dict(data_format="channels_first")),
        '`UpSampling2D((2, 2), data_format="channels_first")`',
    ),
    (
        lambda L: L.ZeroPadding2D((1, 1), dim_ordering="tf"),
        ("ZeroPadding2D", ((1, 1),), dict(data_format="channels_last")),
        '`ZeroPadding2D((1, 1), data_format="channels_last")`',
    ),
    (
        lambda L: L.Cropping2D(((1, 1), (2, 2)), dim_ordering="th"),
        ("Cropping2D", (((1, 1), (2, 2)),), dict(data_format="channels_first")),
        "`Cropping2D(((1, 1), (...",
    ),
    (
        lambda L: L.ConvLSTM2D(4, 3, 3, border_mode="same", inner_init="zeros", dropout_U=0.1),
        ("ConvLSTM2D", (4, (3, 3)), dict(padding="same", recurrent_initializer="zeros", recurrent_dropout=0.1)),
        '`ConvLSTM2D(4, (3, 3), padding="same", recurrent_initializer="zeros", recurrent_dropout=0.1)`',
    ),
]


def _oracle_value(oracle, value):
    if isinstance(value, dict):
        return oracle.regularizers.deserialize(value)
    return value


def _comparable(config):
    config = dict(config)
    config.pop("name")
    return config


@pytest.mark.oracle
@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[1][0] + str(i) for i, c in enumerate(CASES)])
def test_keras1_call_matches_the_keras2_spelling_and_warns(oracle, case):
    old_call, (name, args, kwargs), text = CASES[case]
    with pytest.warns(UserWarning) as record:
        layer = old_call(layers)
    assert type(layer).__name__ == name
    messages = [str(w.message) for w in record]
    assert any(text in m for m in messages), messages
    assert all(w.filename == __file__ for w in record), [w.filename for w in record]
    new_kwargs = {k: _oracle_value(lamina, v) for k, v in kwargs.items()}
    assert _comparable(layer.get_config()) == _comparable(getattr(layers, name)(*args, **new_kwargs).get_config())
    if name == "Dense":
        kwargs = dict(kwargs, kernel_constraint=oracle.constraints.NonNeg())
    expected = getattr(oracle.layers, name)(*args, **{k: _oracle_value(oracle, v) for k, v in kwargs.items()})
    ours = layer.get_config()
    # Keys Keras 3 writes must agree; Lamina's Dense also writes `activity_regularizer` (Keras 2 did).
    assert {k: ours[k] for k in _comparable(expected.get_config())} == _comparable(expected.get_config())


def test_keras2_calls_pass_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Conv2D(8, (3, 3), padding="same", data_format="channels_last")
        layers.Conv2D(8, 3, 2, padding="same")  # Keras 3: (filters, kernel_size, strides)
        layers.Dense(4, kernel_initializer="zeros", use_bias=False)
        layers.LSTM(3, dropout=0.1)
        clone = layers.Conv2D.from_config(layers.Conv2D(8, (2, 2)).get_config())
    assert clone.kernel_size == (2, 2)


def test_keras2_keywords_keep_the_third_positional_as_strides():
    assert layers.Conv2D(8, 3, 2, padding="same").strides == (2, 2)
    with pytest.warns(UserWarning, match=r"`Conv2D\(8, \(3, 2\)\)`"):
        assert layers.Conv2D(8, 3, 2).kernel_size == (3, 2)


def test_recurrent_input_dim_and_forget_bias_init():
    with pytest.warns(UserWarning) as record:
        layer = layers.LSTM(5, input_dim=3, input_length=7, forget_bias_init="one", consume_less="mem")
    messages = " ".join(str(w.message) for w in record)
    assert "Use `input_shape` instead" in messages
    assert "unit_forget_bias=True" in messages and "implementation=1" in messages
    assert layer.unit_forget_bias and layer.implementation == 1
    assert tuple(layer._batch_input_shape) == (None, 7, 3)
    with pytest.warns(UserWarning, match="`forget_bias_init` argument has been ignored"):
        layers.LSTM(5, forget_bias_init="zero")


def test_conv1d_input_dim_becomes_input_shape():
    with pytest.warns(UserWarning, match=r"input_shape=\(10, 4\)"):
        layer = layers.Convolution1D(8, 3, input_dim=4, input_length=10)
    assert tuple(layer._batch_input_shape) == (None, 10, 4)


def test_embedding_dropout_is_dropped_with_advice():
    with pytest.warns(UserWarning, match="SpatialDropout1D"):
        layer = layers.Embedding(10, 4, dropout=0.5)
    assert layer.output_dim == 4


def test_zero_padding2d_dict():
    with pytest.warns(UserWarning, match="no longer accepts dict"):
        layer = layers.ZeroPadding2D(padding={"top_pad": 1, "right_pad": 2})
    assert layer.padding == ((1, 0), (0, 2))


def test_atrous_convolutions_are_dilated_convolutions():
    with pytest.warns(UserWarning, match="`AtrousConvolution2D` layer  has been deprecated"):
        conv = layers.AtrousConvolution2D(8, 3, 3, atrous_rate=(2, 2), border_mode="same")
    assert isinstance(conv, layers.Conv2D)
    assert (conv.kernel_size, conv.dilation_rate, conv.padding) == ((3, 3), (2, 2), "same")
    with pytest.warns(UserWarning, match="Conv1D"):
        conv = layers.AtrousConv1D(4, 5, atrous_rate=3)
    assert (conv.kernel_size, conv.dilation_rate) == ((5,), (3,))


def test_old_class_names_are_the_keras2_classes():
    assert layers.Deconvolution2D is layers.Deconv2D is layers.Conv2DTranspose
    assert layers.Deconvolution3D is layers.Deconv3D is layers.Conv3DTranspose
    assert layers.Convolution1D is layers.Conv1D and layers.Convolution3D is layers.Conv3D
    assert lamina.layers.convolutional.AtrousConvolution1D is layers.AtrousConvolution1D


def test_refused_keras1_arguments_say_why():
    with pytest.raises(TypeError, match="`mode=1` and `mode=2` are no longer supported"):
        layers.BatchNormalization(mode=2)
    with pytest.raises(TypeError, match="both the legacy keyword argument `border_mode` and the Keras 2 keyword"):
        layers.Conv2D(8, (3, 3), border_mode="same", padding="valid")
    with pytest.raises(TypeError, match="`init` and the Keras 2 keyword argument `kernel_initializer`"):
        layers.Dense(3, kernel_initializer="zeros", init="ones")
    with pytest.raises(ValueError, match="padding"):
        layers.Convolution2D(8, 3, 3, border_mode="full")  # Keras 1's "full" mode has no Keras 2 form


def test_subclass_of_a_converted_layer_names_itself():
    class MyDense(layers.Dense):
        pass

    with pytest.warns(UserWarning, match=r"Update your `MyDense` call to the Keras 2 API: `MyDense\(units=2\)`"):
        layer = MyDense(output_dim=2)
    assert layer.units == 2


def test_keras1_script_trains_a_step():
    warnings.simplefilter("ignore")
    model = lamina.models.Sequential()
    model.add(layers.Convolution2D(4, 3, 3, border_mode="same", input_shape=(8, 8, 1), init="he_normal"))
    model.add(layers.Activation("relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2), border_mode="valid"))
    model.add(layers.Dropout(p=0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(output_dim=3, W_regularizer=l2(0.01)))
    model.add(layers.Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    x = np.random.rand(8, 8, 8, 1).astype("float32")
    y = np.eye(3)[np.arange(8) % 3].astype("float32")
    before = model.get_weights()[0].copy()
    history = model.fit(x, y, batch_size=4, nb_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, model.get_weights()[0])

    inputs = layers.Input((6, 2))
    outputs = layers.Dense(1)(layers.LSTM(output_dim=3, dropout_W=0.1, consume_less="cpu")(inputs))
    seq = lamina.Model(input=inputs, output=outputs)
    seq.compile("adam", "mse")

    def batches():
        while True:
            yield np.ones((2, 6, 2), "float32"), np.ones((2, 1), "float32")

    history = seq.fit_generator(batches(), samples_per_epoch=3, nb_epoch=1, verbose=0)
    assert len(history.history["loss"]) == 1


class _BatchedSequence(lamina.utils.PyDataset):
    batch_size = 2

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return np.ones((2, 3), "float32"), np.ones((2, 1), "float32")


def test_generator_sample_counts_become_step_counts():
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    seen = []

    class Count(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    with pytest.warns(UserWarning, match="steps_per_epoch = samples_per_epoch/batch_size"):
        model.fit_generator(_BatchedSequence(), samples_per_epoch=6, nb_epoch=1, verbose=0,
                            validation_data=_BatchedSequence(), nb_val_samples=1, callbacks=[Count()])
    assert seen == [0, 1, 2]  # 6 samples / batch_size 2
    with pytest.warns(UserWarning, match="`val_samples` is now `steps`"):
        out = model.predict_generator(_BatchedSequence(), val_samples=2)
    assert out.shape == (4, 1)
    with pytest.raises(TypeError, match="both `samples_per_epoch`"):
        model.fit_generator(_BatchedSequence(), 2, samples_per_epoch=4)


def test_every_table_entry_is_installed():
    from lamina.layers import _keras1_arguments

    for name in _keras1_arguments.KERAS1_ARGUMENTS:
        assert getattr(getattr(layers, name).__dict__.get("__init__"), "_keras1_arguments", None), name


def test_input_layer_input_dtype():
    with pytest.warns(UserWarning, match=r'`InputLayer\(input_shape=\(3,\), dtype="int32"\)`'):
        layer = layers.InputLayer(input_shape=(3,), input_dtype="int32")
    assert layer.get_config()["dtype"] == "int32"


def test_add_weight_in_keras2_positional_order():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), "float32", "ones", None, False)

        def call(self, x):
            return x * self.w

    layer = Scale()
    out = layer(np.full((2, 3), 2.0, "float32"))
    np.testing.assert_allclose(np.asarray(out), np.full((2, 3), 2.0))
    assert layer.w.name == "w" and not layer.w.trainable and tuple(layer.w.shape) == (3,)
    with pytest.raises(TypeError, match="`shape` both by position and by keyword"):
        layers.Layer().add_weight("v", (2,), shape=(3,))


@pytest.mark.parametrize("mode, implementation", [("cpu", 0), ("mem", 1), ("gpu", 2)])
def test_consume_less_values(mode, implementation):
    with pytest.warns(UserWarning, match=f"implementation={implementation}"):
        assert layers.GRU(3, consume_less=mode).implementation == implementation
    with pytest.warns(UserWarning, match="`consume_less` argument in `SimpleRNN` has been deprecated"):
        assert layers.SimpleRNN(3, consume_less=mode).units == 3
