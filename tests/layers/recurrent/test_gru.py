"""GRUCell / GRU: oracle agreement for reset_after True/False, fused kernel vs loop, config, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.recurrent import _cell_base


def _x(shape=(3, 6, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _mask():
    mask = np.ones((3, 6), bool)
    mask[1, 4:] = False
    mask[2, 2:] = False
    return mask


def _compare(oracle_layer, layer, x, **kwargs):
    expected = oracle_layer(x, **kwargs)
    expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    layer.build(x.shape)
    layer.set_weights(oracle_layer.get_weights())
    kwargs = {k: torch.as_tensor(np.asarray(v)) if k == "mask" else v for k, v in kwargs.items()}
    actual = layer(torch.as_tensor(x), **kwargs)
    actual = list(actual) if isinstance(actual, (list, tuple)) else [actual]
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a.detach().numpy(), np.asarray(e), rtol=1e-5, atol=1e-5)


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    original = _cell_base.fused_rnn

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        if result is not None:
            calls.append(args[0])
        return result

    monkeypatch.setattr(_cell_base, "fused_rnn", spy)
    return calls


CONFIGS = [
    {},
    {"return_sequences": True, "return_state": True},
    {"go_backwards": True, "return_sequences": True},
    {"use_bias": False, "return_state": True},
    {"bias_initializer": "random_normal", "return_sequences": True},
]


@pytest.mark.oracle
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_oracle(oracle, fused_calls, config, masked, reset_after):
    kwargs = {"mask": _mask()} if masked else {}
    config = dict(config, reset_after=reset_after)
    _compare(oracle.layers.GRU(4, **config), layers.GRU(4, **config), _x(), **kwargs)
    # torch's GRU kernel is the reset_after=True formulation; the other one runs the loop.
    assert fused_calls == (["gru"] if reset_after else [])


@pytest.mark.oracle
@pytest.mark.parametrize(
    "config",
    [
        {"activation": "relu", "return_sequences": True},
        {"recurrent_activation": "hard_sigmoid", "go_backwards": True},
        {"unroll": True, "return_state": True},
    ],
)
def test_gru_loop_matches_oracle(oracle, fused_calls, config):
    _compare(oracle.layers.GRU(4, **config), layers.GRU(4, **config), _x(), mask=_mask())
    assert fused_calls == []


@pytest.mark.oracle
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_in_rnn_matches_oracle(oracle, reset_after):
    _compare(
        oracle.layers.RNN(oracle.layers.GRUCell(3, reset_after=reset_after), return_state=True),
        layers.RNN(layers.GRUCell(3, reset_after=reset_after), return_state=True),
        _x(),
    )


@pytest.mark.oracle
def test_gru_initial_state(oracle):
    h0 = _x((3, 4), 1)
    ref = oracle.layers.GRU(4, return_sequences=True)
    expected = ref(_x(), initial_state=[h0])
    layer = layers.GRU(4, return_sequences=True)
    layer.build((3, 6, 5))
    layer.set_weights(ref.get_weights())
    np.testing.assert_allclose(
        layer(_x(), initial_state=[torch.tensor(h0)]).detach().numpy(), np.asarray(expected), rtol=1e-5, atol=1e-5
    )


def test_fused_and_loop_agree_in_gradients():
    x = torch.tensor(_x((4, 7, 5)))
    mask = torch.ones(4, 7, dtype=torch.bool)
    mask[0, 3:] = False
    grads = []
    for use_cudnn in ("auto", False):
        layer = layers.GRU(6, return_sequences=True, use_cudnn=use_cudnn, bias_initializer="random_normal")
        layer.build(x.shape)
        layer.set_weights([np.random.default_rng(i).standard_normal(w.shape).astype("float32") * 0.3
                           for i, w in enumerate(layer.get_weights())])
        layer(x, mask=mask).square().sum().backward()
        grads.append([w.grad.clone() for w in layer.trainable_weights])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_weights_layout():
    layer = layers.GRU(3)
    layer(np.zeros((2, 4, 5), "float32"))
    assert [w.path for w in layer.weights] == [
        "gru/gru_cell/kernel", "gru/gru_cell/recurrent_kernel", "gru/gru_cell/bias",
    ]
    assert [tuple(w.shape) for w in layer.weights] == [(5, 9), (3, 9), (2, 9)]
    old = layers.GRU(3, reset_after=False)
    old(np.zeros((2, 4, 5), "float32"))
    assert tuple(old.cell.bias.shape) == (9,)


def test_dropout_training_only():
    x = torch.ones(8, 5, 6)
    layer = layers.GRU(4, dropout=0.5, recurrent_dropout=0.5, seed=2)
    assert layer.implementation == 1 and layer.cell.dropout_mask_count == 3
    out = layer(x)
    torch.testing.assert_close(layer(x, training=False), out)
    assert not torch.allclose(layer(x, training=True), out)
    assert layer.cell._dropout_mask is None and layer.cell._recurrent_dropout_mask is None


def test_symbolic_shapes():
    inp = lamina.Input((7, 5))
    seq, h = layers.GRU(4, return_sequences=True, return_state=True)(inp)
    assert seq.shape == (None, 7, 4) and h.shape == (None, 4)
    assert layers.GRU(2)(inp).shape == (None, 2)


@pytest.mark.oracle
def test_config_round_trips(oracle):
    kwargs = dict(reset_after=False, dropout=0.2, seed=3, return_state=True, recurrent_activation="hard_sigmoid")
    layer, ref = layers.GRU(5, **kwargs), oracle.layers.GRU(5, **kwargs)
    config = layer.get_config()
    assert set(config) == set(ref.get_config())
    assert layers.GRU.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(restored, layers.GRU) and not restored.reset_after and restored.return_state
    assert set(layers.GRUCell(2).get_config()) == set(oracle.layers.GRUCell(2).get_config())


def test_invalid_arguments():
    with pytest.raises(ValueError, match="units"):
        layers.GRU(0)
    with pytest.raises(ValueError, match="use_cudnn"):
        layers.GRU(2, use_cudnn=None)
    with pytest.raises(ValueError, match="my_gru"):
        layers.GRU(2, name="my_gru")(np.zeros((2, 3, 4, 5), "float32"))
