import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _pair(oracle, name, shape, seed=0, **kwargs):
    """The same ConvLSTM layer in Keras and Lamina, with the same random weights."""
    ref = getattr(oracle.layers, name)(**kwargs)
    ref.build(shape)
    ours = getattr(layers, name)(**kwargs)
    ours.build(shape)
    rng = np.random.default_rng(seed)
    weights = [0.4 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    return ref, ours


def _assert_outputs(ours, ref):
    ours, ref = _as_list(ours), _as_list(ref)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-5)


# unroll=True makes the oracle loop in Python instead of compiling a scan (faster, same numbers).
CASES = [
    ("ConvLSTM2D", (2, 3, 6, 6, 3), dict(filters=3, kernel_size=3)),
    ("ConvLSTM2D", (2, 3, 7, 6, 2), dict(filters=2, kernel_size=(2, 3), strides=2, padding="same",
                                         return_sequences=True, return_state=True)),
    ("ConvLSTM2D", (2, 3, 2, 6, 5), dict(filters=2, kernel_size=3, data_format="channels_first",
                                         return_sequences=True, go_backwards=True)),
    ("ConvLSTM1D", (2, 4, 8, 3), dict(filters=2, kernel_size=3, dilation_rate=2, padding="same",
                                      return_sequences=True, recurrent_activation="hard_sigmoid")),
    ("ConvLSTM1D", (2, 4, 8, 3), dict(filters=2, kernel_size=2, use_bias=False, activation="relu",
                                      unit_forget_bias=False)),
    ("ConvLSTM3D", (2, 2, 4, 4, 3, 2), dict(filters=2, kernel_size=2, padding="same", return_state=True)),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name, shape, kwargs", CASES)
def test_conv_lstm_matches_oracle(oracle, rng, name, shape, kwargs):
    x = rng.standard_normal(shape).astype("float32")
    ref, ours = _pair(oracle, name, shape, unroll=True, **kwargs)
    _assert_outputs(ours(x), ref(x))
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    expected_shape, got_shape = ref.compute_output_shape(shape), ours.compute_output_shape(shape)
    if kwargs.get("return_state"):
        expected_shape, got_shape = [tuple(s) for s in expected_shape], [tuple(s) for s in got_shape]
    assert got_shape == expected_shape


@pytest.mark.oracle
@pytest.mark.parametrize("go_backwards", [False, True])
def test_conv_lstm_masks_and_initial_state_match_oracle(oracle, rng, go_backwards):
    # Keras's scan path cannot mask ConvLSTM states (a broadcasting error on JAX); its unrolled
    # path gives the numbers (the two agree when the initial states are zeros).
    x = rng.standard_normal((2, 4, 6, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
    ref, ours = _pair(
        oracle, "ConvLSTM1D", x.shape, filters=2, kernel_size=3, padding="same",
        return_sequences=True, return_state=True, go_backwards=go_backwards, unroll=True,
    )
    _assert_outputs(ours(x, mask=torch.as_tensor(mask)), ref(x, mask=mask))
    states = [rng.standard_normal((2, 6, 2)).astype("float32") for _ in range(2)]
    _assert_outputs(ours(x, initial_state=states), ref(x, initial_state=states))


@pytest.mark.oracle
def test_conv_lstm_weights_and_forget_bias(oracle):
    layer = layers.ConvLSTM2D(4, (3, 2), bias_initializer="ones")
    layer.build((None, 2, 5, 5, 3))
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [tuple(w.shape) for w in layer.weights] == [(3, 2, 3, 16), (3, 2, 4, 16), (16,)]
    np.testing.assert_array_equal(_np(layer.cell.bias), np.ones(16))
    layer = layers.ConvLSTM1D(2, 3)
    layer.build((None, 2, 5, 3))
    np.testing.assert_array_equal(_np(layer.cell.bias), [0, 0, 1, 1, 0, 0, 0, 0])
    ref = oracle.layers.ConvLSTM1D(2, 3)
    ref.build((None, 2, 5, 3))
    np.testing.assert_array_equal(_np(layer.cell.bias), np.asarray(ref.cell.bias))


@pytest.mark.oracle
def test_conv_lstm_config_matches_oracle(oracle):
    kwargs = dict(filters=3, kernel_size=2, padding="same", recurrent_dropout=0.2, seed=4,
                  kernel_regularizer="l2", return_sequences=True)
    ours = layers.ConvLSTM2D(**kwargs, name="c").get_config()
    theirs = oracle.layers.ConvLSTM2D(**kwargs, name="c").get_config()
    assert set(ours) == set(theirs)
    for key in ("filters", "padding", "data_format", "activation", "recurrent_activation",
                "unit_forget_bias", "recurrent_dropout", "seed", "unroll", "zero_output_for_mask"):
        assert ours[key] == theirs[key], key
    assert tuple(ours["kernel_size"]) == tuple(theirs["kernel_size"])
    assert ours["kernel_regularizer"]["class_name"] == theirs["kernel_regularizer"]["class_name"]
    rebuilt = layers.ConvLSTM2D.from_config(ours)
    assert rebuilt.get_config() == ours
    ref = oracle.layers.ConvLSTM3D(2, 2, return_state=True)
    from_keras = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(from_keras, layers.ConvLSTM3D) and from_keras.return_state
    assert from_keras.kernel_size == (2, 2, 2)


def test_conv_lstm_keras2_arguments():
    layer = layers.ConvLSTM2D(
        2, 3, recurrent_activation="hard_sigmoid", unroll=True, activity_regularizer="l1",
        input_shape=(3, 5, 5, 1),
    )
    assert layer.get_config()["recurrent_activation"] == "hard_sigmoid"
    model = lamina.Sequential([layer])
    assert model.output_shape == (None, 3, 3, 2)


def test_conv_lstm_symbolic_shapes():
    x = lamina.Input((None, 8, 8, 3))
    y = layers.ConvLSTM2D(4, 3, strides=2, return_sequences=True)(x)
    assert y.shape == (None, None, 3, 3, 4)
    outs = layers.ConvLSTM2D(2, 3, padding="same", return_state=True)(x)
    assert [o.shape for o in outs] == [(None, 8, 8, 2)] * 3
    x = lamina.Input((5, 3, 8))
    y = layers.ConvLSTM1D(4, 3, data_format="channels_first")(x)
    assert y.shape == (None, 4, 6)
    model = lamina.Model(x, y)
    assert tuple(model(np.zeros((2, 5, 3, 8), "float32")).shape) == (2, 4, 6)


def test_conv_lstm_mask_propagation():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    h = layers.Reshape((3, 2, 2))(layers.Embedding(10, 4, mask_zero=True)(ids))
    h._keras_mask = torch.as_tensor(ids != 0)
    out = layers.ConvLSTM1D(2, 1, return_sequences=True)(h)
    np.testing.assert_array_equal(_np(out._keras_mask), ids != 0)
    # A masked step repeats the previous output.
    torch.testing.assert_close(out[1, 1], out[1, 0])
    last = layers.ConvLSTM1D(2, 1, return_state=True)(h)
    assert all(getattr(t, "_keras_mask", None) is None for t in last)


def test_conv_lstm_dropout_only_in_training():
    x = torch.randn(3, 4, 6, 2)
    layer = layers.ConvLSTM1D(3, 3, dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    inference = layer(x)
    plain = layers.ConvLSTM1D(3, 3, return_sequences=True)
    plain.build(tuple(x.shape))
    plain.set_weights(layer.get_weights())
    torch.testing.assert_close(inference, plain(x))
    trained = layer(x, training=True)
    assert not torch.allclose(trained, inference)
    assert layer.cell._dropout_mask is None and layer.cell._recurrent_dropout_mask is None
    trained.sum().backward()
    assert all(w.grad is not None for w in layer.trainable_weights)


def test_conv_lstm_stateful_continues_the_sequence():
    x = torch.randn(2, 6, 5, 5, 1)
    layer = layers.ConvLSTM2D(2, 3, padding="same", stateful=True, return_sequences=True)
    first, second = layer(x[:, :3]), layer(x[:, 3:])
    whole = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    whole.build(tuple(x.shape))
    whole.set_weights(layer.get_weights())
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole(x), rtol=1e-5, atol=1e-6)
    layer.reset_states()
    torch.testing.assert_close(layer(x[:, :3]), first)
    with pytest.raises(ValueError, match="batch size"):
        layer(x[:1, :3])


def test_conv_lstm_regularizers_add_losses():
    layer = layers.ConvLSTM1D(2, 3, kernel_regularizer="l2", recurrent_regularizer="l1",
                              bias_regularizer="l2")
    layer(np.zeros((1, 2, 5, 3), "float32"))
    assert len(layer.losses) == 3


def test_conv_lstm_errors():
    with pytest.raises(ValueError, match="filters"):
        layers.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        layers.ConvLSTM2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="dropout"):
        layers.ConvLSTM1D(2, 3, dropout=1.5)
    layer = layers.ConvLSTM2D(2, 3, name="clstm")
    with pytest.raises(ValueError, match=r"clstm.*ndim=5|clstm.*rank 5"):
        layer(np.zeros((1, 3, 5, 5), "float32"))
    with pytest.raises(ValueError, match="Computed output size"):
        layer(np.zeros((1, 3, 2, 2, 1), "float32"))
    layer = layers.ConvLSTM1D(2, 3, name="c1")
    with pytest.raises(ValueError, match=r"c1.*initial states of shape \(1, 3, 2\)"):
        layer(np.zeros((1, 2, 5, 1), "float32"), initial_state=[torch.zeros(1, 5, 2)] * 2)
    with pytest.raises(ValueError, match="stateful.*fixed spatial"):
        layers.ConvLSTM1D(2, 3, stateful=True)(lamina.Input((2, None, 1), batch_size=2))


def test_conv_lstm_weights_file_layout(tmp_path):
    model = lamina.Sequential([lamina.Input((2, 5, 5, 1)), layers.ConvLSTM2D(2, 3)])
    path = tmp_path / "c.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert "layers/conv_lstm2d/cell/vars/2" in f
        assert tuple(f["layers/conv_lstm2d/cell/vars/1"].shape) == (3, 3, 2, 8)


@pytest.mark.oracle
def test_conv_lstm_keras_files_both_ways(oracle, tmp_path):
    def build(K):
        x = K.Input((3, 6, 6, 2))
        y = K.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, unroll=True)(x)
        y = K.layers.ConvLSTM2D(2, 3, unroll=True)(y)
        return K.Model(x, y)

    x = np.random.default_rng(5).standard_normal((2, 3, 6, 6, 2)).astype("float32")
    ref = build(oracle)
    ref.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(_np(loaded(x)), _np(ref(x)), rtol=1e-5, atol=1e-6)
    ours = build(lamina)
    ours.save(tmp_path / "l.keras")
    theirs = oracle.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(_np(theirs(x)), _np(ours(x)), rtol=1e-5, atol=1e-6)
