"""``AbstractRNNCell`` (Keras 2): user cells defining ``state_size``, ``output_size`` and
``call(inputs, states)`` run inside ``RNN``."""

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import backend as K


class MinimalRNNCell(keras.layers.AbstractRNNCell):
    # Keras 2's own docstring example: attributes set before `super().__init__`, no
    # `output_size`, `call` returning the output as the single new state.
    def __init__(self, units, **kwargs):
        self.units = units
        super().__init__(**kwargs)

    @property
    def state_size(self):
        return self.units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="uniform", name="recurrent_kernel"
        )
        self.built = True

    def call(self, inputs, states):
        output = K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent_kernel)
        return output, output


class TwoStateCell(keras.layers.AbstractRNNCell):
    @property
    def state_size(self):
        return [2, 3]

    @property
    def output_size(self):
        return 5

    def call(self, inputs, states):
        a, b = states
        return torch.cat([a + 1, b + 2], -1), [a + 1, b + 2]


def test_docstring_cell_in_rnn_symbolic_eager_and_fit():
    inp = keras.Input((None, 5))
    out = keras.layers.RNN(MinimalRNNCell(4))(inp)
    assert out.shape == (None, 4)
    model = keras.Model(inp, out)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3, 5), "float32"), np.ones((4, 4), "float32"), verbose=0)
    assert model.predict(np.ones((2, 3, 5), "float32"), verbose=0).shape == (2, 4)


@pytest.mark.oracle
def test_matches_oracle_rnn_with_same_cell(oracle):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 5)).astype("float32")
    kernel, recurrent = rng.normal(size=(5, 4)).astype("float32"), rng.normal(size=(4, 4)).astype("float32") * 0.3

    class OracleCell(oracle.layers.Layer):
        state_size = 4

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(5, 4), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(4, 4), name="recurrent_kernel")

        def call(self, inputs, states):
            output = oracle.ops.matmul(inputs, self.kernel) + oracle.ops.matmul(states[0], self.recurrent_kernel)
            return output, [output]

    theirs = oracle.layers.RNN(OracleCell(), return_sequences=True)
    theirs(x)
    theirs.set_weights([kernel, recurrent])
    ours = keras.layers.RNN(MinimalRNNCell(4), return_sequences=True)
    ours(x)
    ours.set_weights([kernel, recurrent])
    np.testing.assert_allclose(K.convert_to_numpy(ours(x)), np.asarray(theirs(x)), rtol=1e-4, atol=1e-5)


def test_several_states_and_initial_state():
    cell = TwoStateCell()
    zeros = cell.get_initial_state(batch_size=3, dtype="float32")
    assert [tuple(z.shape) for z in zeros] == [(3, 2), (3, 3)]
    layer = keras.layers.RNN(cell, return_state=True)
    output, a, b = layer(np.zeros((3, 4, 1), "float32"))
    np.testing.assert_array_equal(K.convert_to_numpy(a), np.full((3, 2), 4.0))
    np.testing.assert_array_equal(K.convert_to_numpy(b), np.full((3, 3), 8.0))
    assert output.shape == (3, 5)


def test_initial_state_from_inputs_and_errors():
    cell = MinimalRNNCell(3)
    state = cell.get_initial_state(inputs=torch.ones(2, 5, dtype=torch.float64))
    assert state.shape == (2, 3) and state.dtype == torch.float64
    with pytest.raises(ValueError, match="batch_size"):
        cell.get_initial_state()
    with pytest.raises(NotImplementedError, match="output_size"):
        cell.output_size

    class NoCall(keras.layers.AbstractRNNCell):
        state_size = 1

    with pytest.raises(NotImplementedError, match="call"):
        NoCall().call(torch.ones(1, 1), [torch.ones(1, 1)])
