"""The ``RNN`` base layer: custom cells, stacked cells, stateful, constants, time_major, config."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _x(shape=(3, 6, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _flat(item)]
    return [x]


def _assert_outputs(actual, expected):
    actual, expected = _flat(actual), _flat(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a.detach().numpy(), np.asarray(e), rtol=1e-5, atol=1e-5)


class MinimalRNNCell(layers.Layer):
    """The Keras docs' minimal cell, written against Lamina."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return output, [output]


def test_custom_cell_loop_and_masks():
    x = torch.tensor(_x())
    layer = layers.RNN(MinimalRNNCell(4), return_sequences=True, return_state=True)
    seq, state = layer(x)
    k, rk = layer.cell.kernel.detach(), layer.cell.recurrent_kernel.detach()
    h = torch.zeros(3, 4)
    for t in range(6):
        h = x[:, t] @ k + h @ rk
        torch.testing.assert_close(seq[:, t], h.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state, h)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[0, 2] = False
    masked, _ = layer(x, mask=mask)
    torch.testing.assert_close(masked[0, 2], masked[0, 1])
    # Stacked custom cells via a list.
    stacked = layers.RNN([MinimalRNNCell(4), MinimalRNNCell(2)])
    assert isinstance(stacked.cell, layers.StackedRNNCells)
    assert stacked(x).shape == (3, 2)


@pytest.mark.oracle
@pytest.mark.parametrize("masked", [False, True])
def test_stacked_cells_match_oracle(oracle, masked):
    def cells(lib):
        return [lib.layers.LSTMCell(4), lib.layers.GRUCell(3, reset_after=False), lib.layers.SimpleRNNCell(2)]

    x = _x()
    mask = np.ones((3, 6), bool)
    mask[1, 3:] = False
    kwargs = {"mask": mask} if masked else {}
    ref = oracle.layers.RNN(cells(oracle), return_sequences=True, return_state=True)
    expected = ref(x, **kwargs)
    layer = layers.RNN(cells(lamina), return_sequences=True, return_state=True)
    layer.build(x.shape)
    layer.set_weights(ref.get_weights())
    actual = layer(x, **{k: torch.tensor(v) for k, v in kwargs.items()})
    assert len(actual) == len(expected) == 4  # output, [h, c], h, h
    _assert_outputs(actual, expected)
    assert [w.path for w in layer.weights][:2] == [
        w.path for w in ref.weights
    ][:2] == ["rnn/stacked_rnn_cells/lstm_cell/kernel", "rnn/stacked_rnn_cells/lstm_cell/recurrent_kernel"]


@pytest.mark.oracle
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
def test_stateful_across_calls_matches_oracle(oracle, cls):
    x1, x2 = _x((2, 4, 3), 1), _x((2, 4, 3), 2)

    def build(lib):
        return lib.Sequential([lib.Input(batch_shape=(2, 4, 3)), getattr(lib.layers, cls)(5, stateful=True)])

    km, lm = build(oracle), build(lamina)
    lm.set_weights(km.get_weights())
    _assert_outputs(lm(x1), km(x1))
    _assert_outputs(lm(x2), km(x2))
    km.layers[0].reset_states()
    lm.layers[0].reset_states()
    _assert_outputs(lm(x2), km(x2))
    with pytest.raises(ValueError, match="batch size"):
        lm(_x((3, 4, 3)))


def test_stateful_reset_states_with_values_and_batch_input_shape():
    layer = layers.LSTM(3, stateful=True, batch_input_shape=(2, 4, 5))
    layer.build((None, 4, 5))
    assert layer.states[0].shape == (2, 3)  # the batch size comes from `batch_input_shape`
    x = torch.tensor(_x((2, 4, 5)))
    first = layer(x)
    assert not torch.allclose(layer(x), first)
    layer.reset_state()
    torch.testing.assert_close(layer(x), first)
    h = np.ones((2, 3), "float32")
    layer.reset_states([h, np.zeros((2, 3), "float32")])
    np.testing.assert_array_equal(layer.states[0].numpy(), h)
    with pytest.raises(ValueError, match="shape"):
        layer.reset_states([np.ones((3, 3)), np.ones((3, 3))])
    with pytest.raises(AttributeError, match="stateful"):
        layers.LSTM(2).reset_states([np.ones((1, 2))] * 2)
    # Stateful states are not weights and do not keep the graph alive.
    assert len(layer.weights) == 3 and not layer.states[0].requires_grad


def test_constants_reach_the_cell():
    class ConstantCell(layers.Layer):
        state_size = 2

        def call(self, inputs, states, constants=None):
            out = states[0] + inputs.sum(-1, keepdims=True) + constants[0]
            return out, [out]

    x = torch.ones(2, 3, 4)
    out = layers.RNN(ConstantCell())(x, constants=[torch.full((2, 2), 10.0)])
    torch.testing.assert_close(out, torch.full((2, 2), 42.0))
    with pytest.raises(ValueError, match="constants"):
        layers.RNN(MinimalRNNCell(2))(x, constants=[torch.ones(2, 2)])


def test_time_major_and_input_length_alias():
    x = torch.tensor(_x((6, 3, 5)))
    tm = layers.LSTM(4, return_sequences=True, time_major=True)
    out = tm(x)
    assert out.shape == (6, 3, 4)
    bm = layers.LSTM(4, return_sequences=True, input_length=6)
    bm.build((3, 6, 5))
    bm.set_weights(tm.get_weights())
    torch.testing.assert_close(bm(x.transpose(0, 1)).transpose(0, 1), out)
    assert tm.get_config()["time_major"] is True and "time_major" not in bm.get_config()
    assert layers.LSTM.from_config(tm.get_config()).time_major
    assert tm.compute_output_shape((6, None, 5)) == (6, None, 4)
    model = lamina.Sequential([layers.LSTM(3, input_dim=5, input_length=6)])
    assert model.output_shape == (None, 3)
    assert model(x.transpose(0, 1)).shape == (3, 3)


def test_symbolic_shapes_and_masks_of_states():
    inp = lamina.Input((None, 5))
    outs = layers.RNN([layers.LSTMCell(4), layers.GRUCell(3)], return_state=True)(inp)
    assert outs[0].shape == (None, 3)
    ids = lamina.Input((6,), dtype="int32")
    emb = layers.Embedding(10, 5, mask_zero=True)(ids)
    seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(emb)
    assert seq.shape == (None, 6, 4) and seq._keras_mask is not None
    assert getattr(h, "_keras_mask", None) is None
    model = lamina.Model(ids, [seq, h, c])
    out = model(np.array([[1, 2, 0, 0, 0, 0]], "int32"))
    torch.testing.assert_close(out[0][0, 5], out[1][0])


@pytest.mark.oracle
def test_config_round_trips(oracle):
    layer = layers.RNN([layers.LSTMCell(4), layers.SimpleRNNCell(2)], return_sequences=True, go_backwards=True)
    config = layer.get_config()
    ref = oracle.layers.RNN([oracle.layers.LSTMCell(4), oracle.layers.SimpleRNNCell(2)], return_sequences=True,
                            go_backwards=True)
    assert set(config) == set(ref.get_config())
    assert config["cell"]["class_name"] == "StackedRNNCells"
    restored = layers.RNN.from_config(config)
    assert restored.get_config() == config
    from_keras = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(from_keras.cell, layers.StackedRNNCells)
    assert [type(c).__name__ for c in from_keras.cell.cells] == ["LSTMCell", "SimpleRNNCell"]
    x = _x()
    ref_out = ref(x)
    from_keras.build(x.shape)
    from_keras.set_weights(ref.get_weights())
    _assert_outputs(from_keras(x), ref_out)
    single = layers.deserialize(oracle.layers.serialize(oracle.layers.RNN(oracle.layers.GRUCell(3))))
    assert isinstance(single.cell, layers.GRUCell)


def test_invalid_cells_and_inputs():
    with pytest.raises(ValueError, match="call"):
        layers.RNN(object())

    class NoState(layers.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(NoState())
    with pytest.raises(ValueError, match="state_size"):
        layers.StackedRNNCells([layers.LSTMCell(2), NoState()])
    with pytest.raises(ValueError, match="my_rnn"):
        layers.RNN(layers.SimpleRNNCell(2), name="my_rnn")(np.zeros((2, 3), "float32"))
