"""Keras 2's CuDNNLSTM / CuDNNGRU: weight layout, equivalence with LSTM/GRU, config, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _x(shape=(3, 6, 5), seed=0):
    return torch.tensor(np.random.default_rng(seed).standard_normal(shape).astype("float32"))


def _random_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.4 for w in layer.get_weights()])


@pytest.mark.parametrize("go_backwards", [False, True])
def test_cudnn_lstm_is_lstm_with_split_biases(go_backwards):
    x = _x()
    fast = layers.CuDNNLSTM(4, return_sequences=True, return_state=True, go_backwards=go_backwards)
    fast(x)
    assert [(w.name, tuple(w.shape)) for w in fast.weights] == [
        ("kernel", (5, 16)), ("recurrent_kernel", (4, 16)), ("bias", (32,)),
    ]
    _random_weights(fast)
    kernel, recurrent, bias = fast.get_weights()
    ref = layers.LSTM(4, return_sequences=True, return_state=True, go_backwards=go_backwards, use_cudnn=False)
    ref.build(x.shape)
    ref.set_weights([kernel, recurrent, bias[:16] + bias[16:]])
    for a, b in zip(fast(x), ref(x)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_cudnn_lstm_forget_bias_initialization():
    layer = layers.CuDNNLSTM(2)
    layer(_x((1, 2, 3)))
    # Input biases (i, f, c, o) then recurrent biases; the recurrent forget bias starts at one.
    np.testing.assert_array_equal(layer.get_weights()[2], [0] * 10 + [1, 1] + [0] * 4)
    plain = layers.CuDNNLSTM(2, unit_forget_bias=False)
    plain(_x((1, 2, 3)))
    assert not plain.get_weights()[2].any()


def test_cudnn_gru_is_reset_after_gru():
    x = _x()
    fast = layers.CuDNNGRU(4, return_sequences=True)
    fast(x)
    assert [tuple(w.shape) for w in fast.weights] == [(5, 12), (4, 12), (24,)]
    _random_weights(fast)
    kernel, recurrent, bias = fast.get_weights()
    ref = layers.GRU(4, return_sequences=True, reset_after=True, use_cudnn=False)
    ref.build(x.shape)
    ref.set_weights([kernel, recurrent, bias.reshape(2, 12)])
    torch.testing.assert_close(fast(x), ref(x), rtol=1e-5, atol=1e-5)


def test_gradients_flow_and_stateful():
    layer = layers.CuDNNGRU(3, stateful=True)
    x = _x((2, 4, 5))
    first = layer(x)
    first.sum().backward()
    assert all(w.grad is not None for w in layer.trainable_weights)
    assert not torch.allclose(layer(x), first)
    layer.reset_states()
    torch.testing.assert_close(layer(x), first)


def test_config_symbolic_and_errors():
    layer = layers.CuDNNLSTM(3, return_sequences=True, go_backwards=True)
    config = layer.get_config()
    assert {"units", "unit_forget_bias", "return_sequences", "return_state", "go_backwards", "stateful"} <= set(config)
    assert "activation" not in config and "dropout" not in config
    assert layers.CuDNNLSTM.from_config(config).get_config() == config
    restored = layers.deserialize(layers.serialize(layers.CuDNNGRU(2)))
    assert isinstance(restored, layers.CuDNNGRU)
    assert layers.CuDNNGRU(2)(lamina.Input((7, 3))).shape == (None, 2)
    from lamina.layers.cudnn_recurrent import CuDNNLSTM

    assert CuDNNLSTM is layers.CuDNNLSTM
    with pytest.raises(ValueError, match="units"):
        layers.CuDNNGRU(0)
    with pytest.raises(ValueError, match="masking"):
        layers.CuDNNLSTM(2)(_x(), mask=torch.ones(3, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="cu_dnnlstm"):
        layers.CuDNNLSTM(2, name="cu_dnnlstm")(_x((2, 3)))
