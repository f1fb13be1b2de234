"""LSTMCell / LSTM: oracle agreement (fused kernel and step loop), masks, dropout, config, errors."""

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


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _compare(oracle_layer, layer, x, **kwargs):
    expected = _as_list(oracle_layer(x, **kwargs))
    layer.build(x.shape)
    layer.set_weights(oracle_layer.get_weights())
    kwargs = {k: torch.as_tensor(np.asarray(v)) if k == "mask" else v for k, v in kwargs.items()}
    actual = _as_list(layer(torch.as_tensor(x), **kwargs))
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a.detach().numpy(), np.asarray(e), rtol=1e-5, atol=1e-5)
    return actual


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the calls that ran torch's fused kernel to completion."""
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
    {"go_backwards": True, "return_state": True},
    {"use_bias": False, "return_sequences": True},
    {"unit_forget_bias": False, "bias_initializer": "random_normal"},
]


@pytest.mark.oracle
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("masked", [False, True])
def test_lstm_fused_matches_oracle(oracle, fused_calls, config, masked):
    kwargs = {"mask": _mask()} if masked else {}
    _compare(oracle.layers.LSTM(4, **config), layers.LSTM(4, **config), _x(), **kwargs)
    assert fused_calls == ["lstm"]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "config",
    [
        {"activation": "relu", "return_sequences": True},
        {"recurrent_activation": "hard_sigmoid", "return_state": True},
        {"unroll": True, "go_backwards": True, "return_sequences": True},
        {"use_cudnn": False, "return_sequences": True, "zero_output_for_mask": True},
    ],
)
def test_lstm_loop_matches_oracle(oracle, fused_calls, config):
    _compare(oracle.layers.LSTM(4, **config), layers.LSTM(4, **config), _x(), mask=_mask())
    assert fused_calls == []


@pytest.mark.oracle
def test_lstm_mask_not_right_padded_falls_back_to_loop(oracle, fused_calls):
    mask = _mask()
    mask[0, 1] = False
    config = {"return_sequences": True, "return_state": True}
    _compare(oracle.layers.LSTM(4, **config), layers.LSTM(4, **config), _x(), mask=mask)
    assert fused_calls == []


@pytest.mark.oracle
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_zero_output_for_mask_fused(oracle, fused_calls, go_backwards):
    config = {"return_sequences": True, "zero_output_for_mask": True, "go_backwards": go_backwards}
    _compare(oracle.layers.LSTM(4, **config), layers.LSTM(4, **config), _x(), mask=_mask())
    assert fused_calls == ["lstm"]


@pytest.mark.oracle
def test_lstm_cell_in_rnn_matches_oracle(oracle):
    config = {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False}
    _compare(
        oracle.layers.RNN(oracle.layers.LSTMCell(3, **config), return_sequences=True),
        layers.RNN(layers.LSTMCell(3, **config), return_sequences=True),
        _x(),
    )


@pytest.mark.oracle
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_initial_state_with_mask(oracle, fused_calls, go_backwards):
    # Eager with an explicit mask: Keras 3 drops the mask in functional graphs when
    # `initial_state` is passed, Lamina keeps it.
    states = [torch.tensor(_x((3, 4), 1)), torch.tensor(_x((3, 4), 2))]
    config = {"return_sequences": True, "return_state": True, "go_backwards": go_backwards}
    ref = oracle.layers.LSTM(4, **config)
    expected = ref(_x(), initial_state=[s.numpy() for s in states], mask=_mask())
    layer = layers.LSTM(4, **config)
    layer.build((3, 6, 5))
    layer.set_weights(ref.get_weights())
    actual = layer(torch.tensor(_x()), initial_state=states, mask=torch.tensor(_mask()))
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a.detach().numpy(), np.asarray(e), rtol=1e-5, atol=1e-5)
    assert fused_calls == ["lstm"]


@pytest.mark.oracle
def test_lstm_after_embedding_mask_zero_in_models(oracle):
    ids = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]], "int32")

    def build(lib):
        inp = lib.Input((6,), dtype="int32")
        emb = lib.layers.Embedding(10, 5, mask_zero=True)(inp)
        seq = lib.layers.LSTM(4, return_sequences=True)(emb)
        return lib.Model(inp, [seq, lib.layers.LSTM(3, go_backwards=True)(seq)])

    km, lm = build(oracle), build(lamina)
    lm.set_weights(km.get_weights())
    for a, e in zip(lm(ids), km(ids)):
        np.testing.assert_allclose(a.detach().numpy(), np.asarray(e), rtol=1e-5, atol=1e-5)


def test_fused_and_loop_agree_in_values_and_gradients():
    x = torch.tensor(_x((4, 7, 5)))
    mask = torch.ones(4, 7, dtype=torch.bool)
    mask[1, 5:] = False
    mask[3, 1:] = False
    results = []
    for use_cudnn in ("auto", False):
        layer = layers.LSTM(6, return_sequences=True, return_state=True, go_backwards=True, use_cudnn=use_cudnn)
        layer.build(x.shape)
        torch.manual_seed(0)
        layer.set_weights([np.random.default_rng(i).standard_normal(w.shape).astype("float32") * 0.3
                           for i, w in enumerate(layer.get_weights())])
        outs = layer(x, mask=mask)
        sum(o.square().sum() for o in outs).backward()
        results.append(([o.detach() for o in outs], [w.grad.clone() for w in layer.trainable_weights]))
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_use_cudnn_true_requires_the_fused_kernel():
    with pytest.raises(ValueError, match="use_cudnn"):
        layers.LSTM(3, use_cudnn="yes")
    layer = layers.LSTM(3, activation="relu", use_cudnn=True)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layer(np.zeros((2, 4, 3), "float32"))


def test_dropout_is_training_only_and_masks_are_fixed_per_call(fused_calls):
    x = torch.ones(8, 5, 6)
    layer = layers.LSTM(4, dropout=0.5, return_sequences=True, seed=3)
    inference = layer(x)
    torch.testing.assert_close(layer(x, training=False), inference)
    trained = layer(x, training=True)
    assert not torch.allclose(trained, inference)
    assert fused_calls == ["lstm"] * 3
    # One input mask per call: with a zero recurrent kernel every step sees the same dropped input.
    layer.cell.recurrent_kernel.data.zero_()
    layer.cell.bias.data.zero_()
    steps = layers.LSTM(4, dropout=0.5, recurrent_dropout=0.3, return_sequences=True, seed=1)
    steps.build(x.shape)
    steps.set_weights(layer.get_weights())
    with torch.no_grad():
        gates = [steps.cell.get_dropout_mask(x[:, 0]) for _ in range(2)]
    assert gates[0] is gates[1]
    steps.cell.reset_dropout_mask()
    out = steps(x, training=True)
    assert steps.cell._dropout_mask is None
    assert out.shape == (8, 5, 4)


def test_recurrent_dropout_forces_implementation_1_and_loop(fused_calls):
    layer = layers.LSTM(3, recurrent_dropout=0.2, implementation=2)
    assert layer.implementation == 1 and layer.cell.dropout_mask_count == 4
    layer(np.ones((2, 4, 3), "float32"), training=True)
    assert fused_calls == []
    layer(np.ones((2, 4, 3), "float32"))
    assert fused_calls == ["lstm"]


def test_weights_layout_and_unit_forget_bias():
    layer = layers.LSTM(3)
    layer(np.zeros((2, 4, 5), "float32"))
    assert [w.path for w in layer.weights] == [
        "lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel", "lstm/lstm_cell/bias",
    ]
    assert [tuple(w.shape) for w in layer.weights] == [(5, 12), (3, 12), (12,)]
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert layer.count_params() == 5 * 12 + 3 * 12 + 12


def test_regularizers_and_constraints():
    layer = layers.LSTM(
        3, kernel_regularizer="l2", recurrent_regularizer="l1", bias_regularizer="l2",
        activity_regularizer="l1", kernel_constraint="non_neg",
    )
    layer(np.ones((2, 4, 5), "float32"))
    assert len(layer.losses) == 4
    assert layer.cell.kernel.constraint is not None


def test_symbolic_shapes_and_mask_propagation():
    inp = lamina.Input((7, 5))
    seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(inp)
    assert seq.shape == (None, 7, 4) and h.shape == (None, 4) and c.shape == (None, 4)
    ids = lamina.Input((7,), dtype="int32")
    out = layers.LSTM(4, return_sequences=True)(layers.Embedding(10, 5, mask_zero=True)(ids))
    assert out._keras_mask is not None
    last = layers.LSTM(4)(layers.Embedding(10, 5, mask_zero=True)(ids))
    assert getattr(last, "_keras_mask", None) is None
    x = torch.tensor([[1, 2, 0, 0]])
    eager = layers.LSTM(2, return_sequences=True)(layers.Embedding(10, 3, mask_zero=True)(x))
    np.testing.assert_array_equal(eager._keras_mask.numpy(), [[True, True, False, False]])


@pytest.mark.oracle
def test_config_round_trips(oracle):
    layer = layers.LSTM(
        5, activation="relu", dropout=0.1, recurrent_dropout=0.2, seed=4, return_sequences=True,
        kernel_regularizer="l2", unit_forget_bias=False, go_backwards=True, stateful=False,
    )
    config = layer.get_config()
    ref = oracle.layers.LSTM(
        5, activation="relu", dropout=0.1, recurrent_dropout=0.2, seed=4, return_sequences=True,
        kernel_regularizer="l2", unit_forget_bias=False, go_backwards=True,
    )
    expected = ref.get_config()
    assert set(config) == set(expected)
    for key in ("units", "activation", "dropout", "recurrent_dropout", "seed", "unit_forget_bias"):
        assert config[key] == expected[key]
    assert layers.LSTM.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(restored, layers.LSTM) and restored.units == 5 and restored.go_backwards
    cell = layers.LSTMCell(3, seed=1)
    assert set(cell.get_config()) == set(oracle.layers.LSTMCell(3, seed=1).get_config())
    assert isinstance(layers.deserialize(oracle.layers.serialize(oracle.layers.LSTMCell(3))), layers.LSTMCell)


def test_invalid_arguments_and_inputs():
    for units in (0, -1, 2.5, None):
        with pytest.raises(ValueError, match="units"):
            layers.LSTM(units)
    with pytest.raises(ValueError, match="units"):
        layers.LSTMCell(0)
    layer = layers.LSTM(3, name="my_lstm")
    with pytest.raises(ValueError, match="my_lstm"):
        layer(np.zeros((2, 5), "float32"))
    layer(np.zeros((2, 4, 5), "float32"))
    with pytest.raises(ValueError, match="my_lstm"):
        layer(np.zeros((2, 4, 6), "float32"))
    with pytest.raises(ValueError, match="initial state"):
        layer(np.zeros((2, 4, 5), "float32"), initial_state=[torch.zeros(2, 3)])
