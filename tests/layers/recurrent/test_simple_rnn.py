"""SimpleRNNCell / SimpleRNN against the oracle; config, dropout, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _x(shape=(3, 6, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _mask():
    mask = np.ones((3, 6), bool)
    mask[1, 4:] = False
    mask[2, 1] = False
    return mask


@pytest.mark.oracle
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"return_sequences": True, "return_state": True},
        {"go_backwards": True, "return_sequences": True, "activation": "relu"},
        {"use_bias": False, "activation": None},
        {"return_sequences": True, "zero_output_for_mask": True},
    ],
)
@pytest.mark.parametrize("masked", [False, True])
def test_simple_rnn_matches_oracle(oracle, config, masked):
    x = _x()
    kwargs = {"mask": _mask()} if masked else {}
    ref = oracle.layers.SimpleRNN(4, **config)
    expected = ref(x, **kwargs)
    expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    layer = layers.SimpleRNN(4, **config)
    layer.build(x.shape)
    layer.set_weights(ref.get_weights())
    actual = layer(x, **{k: torch.tensor(v) for k, v in kwargs.items()})
    actual = list(actual) if isinstance(actual, (list, tuple)) else [actual]
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a.detach().numpy(), np.asarray(e), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_masking_layer_then_simple_rnn(oracle):
    x = _x((3, 6, 2))
    x[0, 3:] = 0.0
    x[2, 1] = 0.0

    def build(lib):
        return lib.Sequential([lib.Input((6, 2)), lib.layers.Masking(0.0), lib.layers.SimpleRNN(3, return_sequences=True)])

    km, lm = build(oracle), build(lamina)
    lm.set_weights(km.get_weights())
    out = lm(x)
    np.testing.assert_allclose(out.detach().numpy(), np.asarray(km(x)), rtol=1e-5, atol=1e-5)
    assert out._keras_mask.shape == (3, 6)


def test_weights_config_and_errors(oracle):
    layer = layers.SimpleRNN(3)
    layer(np.zeros((2, 4, 5), "float32"))
    assert [w.path for w in layer.weights] == [
        "simple_rnn/simple_rnn_cell/kernel", "simple_rnn/simple_rnn_cell/recurrent_kernel",
        "simple_rnn/simple_rnn_cell/bias",
    ]
    ref = oracle.layers.SimpleRNN(3, dropout=0.1, seed=2)
    config = layers.SimpleRNN(3, dropout=0.1, seed=2).get_config()
    assert set(config) == set(ref.get_config())  # Keras's SimpleRNN config has no `seed`
    assert layers.SimpleRNN.from_config(config).get_config() == config
    assert isinstance(layers.deserialize(oracle.layers.serialize(ref)), layers.SimpleRNN)
    assert set(layers.SimpleRNNCell(2, seed=1).get_config()) == set(oracle.layers.SimpleRNNCell(2, seed=1).get_config())
    with pytest.raises(ValueError, match="units"):
        layers.SimpleRNN(-2)
    with pytest.raises(ValueError, match="units"):
        layers.SimpleRNNCell("3")


def test_dropout_training_only():
    x = torch.ones(6, 4, 3)
    layer = layers.SimpleRNN(5, dropout=0.5, recurrent_dropout=0.5, seed=0)
    out = layer(x)
    torch.testing.assert_close(layer(x), out)
    assert not torch.allclose(layer(x, training=True), out)
    # Out-of-range rates are clipped as in Keras.
    assert layers.SimpleRNN(2, dropout=1.5).dropout == 1.0
