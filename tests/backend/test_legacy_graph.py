"""Keras 2 graph-era ``K.*`` functions: placeholders, ``K.function``, ``K.gradients``, the
learning phase, ``in_train_phase``, name scopes, sparse checks, uids, folds and random
variables (documented Keras 2 behaviour; numeric references are in test_legacy_k_fixtures.py)."""

import warnings

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import backend as K
from lamina.backend.legacy import training_phase


@pytest.fixture(autouse=True)
def _no_learning_phase():
    yield
    training_phase.reset_learning_phase()


def _dropout_model():
    inp = keras.Input((16,))
    hidden = keras.layers.Dense(16, kernel_initializer="ones", name="hidden")(inp)
    dropped = keras.layers.Dropout(0.5)(hidden)
    return keras.Model(inp, keras.layers.Dense(2)(dropped)), inp, hidden, dropped


# --------------------------------------------------------------------------- placeholder / function


def test_placeholder_is_symbolic_with_shape_and_dtype():
    x = K.placeholder(shape=(2, 4, 5))
    assert K.is_keras_tensor(x)
    assert K.int_shape(x) == (2, 4, 5)
    assert K.dtype(x) == "float32"
    y = K.placeholder(ndim=3, dtype="int32")
    assert K.int_shape(y) == (None, None, None) and K.dtype(y) == "int32"
    assert K.is_sparse(K.placeholder((2, 2), sparse=True))
    assert not K.is_sparse(K.placeholder((2, 2)))


def test_placeholder_errors():
    with pytest.raises(ValueError, match="`shape` or `ndim`"):
        K.placeholder()
    with pytest.raises(ValueError, match="both sparse and ragged"):
        K.placeholder((2,), sparse=True, ragged=True)
    with pytest.raises(ValueError, match="Ragged"):
        K.placeholder((2,), ragged=True)


def test_function_on_placeholder_returns_numpy_list():
    x = K.placeholder(shape=(None, 3))
    double = K.function([x], [keras.layers.Lambda(lambda t: 2 * t)(x)])
    out = double([np.ones((2, 3), "float32")])
    assert isinstance(out, list) and len(out) == 1
    assert isinstance(out[0], np.ndarray)
    np.testing.assert_array_equal(out[0], np.full((2, 3), 2.0, "float32"))


def test_function_reads_intermediate_layers_of_a_model():
    model, inp, hidden, _ = _dropout_model()
    data = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")
    get = K.function([model.input], [model.get_layer("hidden").output, model.output])
    hidden_value, output_value = get([data])
    np.testing.assert_allclose(hidden_value, np.repeat(data.sum(1, keepdims=True), 16, axis=1), rtol=1e-5)
    np.testing.assert_allclose(output_value, K.convert_to_numpy(model(data)), rtol=1e-5)
    # A single (non-list) output comes back as one array; inputs may start mid-graph.
    tail = K.function(hidden, model.output)
    np.testing.assert_allclose(tail(hidden_value), output_value, rtol=1e-5)


def test_function_rejects_graph_mode_arguments():
    x = K.placeholder(shape=(None, 3))
    with pytest.raises(ValueError, match="updates"):
        K.function([x], [x], updates=[(x, x)])
    with pytest.raises(ValueError, match="Session keyword"):
        K.function([x], [x], options=1)


# --------------------------------------------------------------------------- gradients


def test_gradients_of_eager_loss():
    v = K.variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    w = K.variable(np.ones(3))
    loss = K.sum(K.square(v))
    grads = K.gradients(loss, [v, w])
    np.testing.assert_allclose(K.get_value(grads[0]), 2 * np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert grads[1] is None  # the loss does not depend on w


def test_gradients_of_input_tensor_and_non_scalar_loss_and_second_order():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = K.gradients(x**3, x)  # non-scalar losses are summed, as tf.gradients does
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.0, 4.0, 9.0]))
    (gg,) = K.gradients(K.sum(g), [x])  # gradients are differentiable (gradient penalties)
    np.testing.assert_allclose(gg.detach().numpy(), 6 * np.array([1.0, 2.0, 3.0]))
    assert K.gradients(torch.ones(()), [x]) == [None]


def test_gradients_while_recording_is_off_says_why():
    # A Lambda calling K.gradients inside predict/validation (mnist_swwae's `getwhere`).
    v = K.variable(np.ones(3))
    with torch.no_grad():
        loss = K.sum(K.square(v))
        with pytest.raises(RuntimeError, match="gradient recording is off.*predict"):
            K.gradients(loss, [v])
    assert K.gradients(torch.ones(()), [v]) == [None]  # still None when merely not connected


def test_gradients_of_eager_loss_refuses_symbolic_variables():
    # Symbolic losses are differentiated by a graph node (test_legacy_symbolic_gradients.py).
    x = K.placeholder(shape=(None, 3))
    with pytest.raises(ValueError, match="needs a symbolic `loss`"):
        K.gradients(torch.ones(()), [x])


# --------------------------------------------------------------------------- learning phase


def test_learning_phase_defaults_to_test_and_scope_restores():
    assert K.learning_phase() == 0
    with pytest.warns(UserWarning, match="deprecated"):
        with K.learning_phase_scope(1):
            assert K.learning_phase() == 1
            with K.learning_phase_scope(0):
                assert K.learning_phase() == 0
            assert K.learning_phase() == 1
    assert K.learning_phase() == 0
    assert training_phase.global_learning_phase() is None


def test_set_learning_phase_validates_and_warns():
    with pytest.raises(ValueError, match="0 or 1"), pytest.warns(UserWarning):
        K.set_learning_phase(2)
    with pytest.raises(ValueError, match="0 or 1"), pytest.warns(UserWarning):
        with K.learning_phase_scope("train"):
            pass
    with pytest.warns(UserWarning, match="deprecated"):
        K.set_learning_phase(1)
    assert K.learning_phase() == 1


def test_learning_phase_is_the_default_training_flag_of_calls():
    model, inp, _, dropped = _dropout_model()
    data = np.ones((4, 16), "float32")
    get = K.function([inp], [dropped])
    assert not (get([data])[0] == 0).any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        K.set_learning_phase(1)
    assert (get([data])[0] == 0).any()  # dropout now active
    assert (K.convert_to_numpy(model.layers[2](torch.ones(64, 16))) == 0).any()
    # An explicit training argument still wins, and predict() runs in inference mode.
    np.testing.assert_array_equal(K.convert_to_numpy(model.layers[2](data, training=False)), data)
    np.testing.assert_allclose(model.predict(data, verbose=0), model.predict(data, verbose=0))


def test_clear_session_unsets_the_learning_phase():
    with pytest.warns(UserWarning):
        K.set_learning_phase(1)
    K.clear_session()
    assert training_phase.global_learning_phase() is None and K.learning_phase() == 0


def test_in_train_phase_and_in_test_phase():
    assert K.in_train_phase(1, 2) == 2  # learning phase 0 by default
    assert K.in_train_phase(lambda: "x", lambda: "alt", training=True) == "x"
    assert K.in_train_phase("x", "alt", training=0) == "alt"
    assert K.in_test_phase("x", "alt", training=0) == "x"
    assert K.in_test_phase("x", "alt", training=1) == "alt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with K.learning_phase_scope(1):
            assert K.in_train_phase(1, 2) == 1
    chosen = K.in_train_phase(torch.ones(3), torch.zeros(3), training=torch.tensor(True))
    np.testing.assert_array_equal(chosen.numpy(), np.ones(3))


def test_in_train_phase_follows_the_training_flag_of_the_layer_call():
    class Noisy(keras.layers.Layer):
        def call(self, x, training=None):
            return K.in_train_phase(x * 0, x)

    layer = Noisy()
    data = np.ones((1, 2), "float32")
    np.testing.assert_array_equal(K.convert_to_numpy(layer(data, training=True)), 0 * data)
    np.testing.assert_array_equal(K.convert_to_numpy(layer(data)), data)


# --------------------------------------------------------------------------- small helpers


def test_is_keras_tensor():
    assert K.is_keras_tensor(keras.Input((3,)))
    assert K.is_keras_tensor(keras.layers.Dense(2)(keras.Input((3,))))
    assert not K.is_keras_tensor(K.variable(np.ones(2)))
    assert not K.is_keras_tensor(torch.ones(2))
    # Keras 3 still has `keras.backend.is_keras_tensor` and answers False for non-tensors (Keras 2
    # raised); Keras 3's behaviour decides for names it kept.
    assert not K.is_keras_tensor(np.ones(2))


def test_sparse_and_dense():
    sparse = torch.eye(3).to_sparse()
    assert K.is_sparse(sparse) and not K.is_sparse(torch.eye(3))
    dense = K.to_dense(sparse)
    assert not K.is_sparse(dense)
    np.testing.assert_array_equal(dense.numpy(), np.eye(3))
    plain = torch.ones(2)
    assert K.to_dense(plain) is plain
    # Keras 2's docstring: a sparse placeholder made dense, then fed through K.function.
    b = K.placeholder((None, 3), sparse=True)
    c = K.to_dense(b)
    assert K.is_sparse(b) and not K.is_sparse(c) and K.is_keras_tensor(c)
    fed = torch.eye(3).to_sparse()
    np.testing.assert_array_equal(K.function([b], [c])([fed])[0], np.eye(3))


def test_name_scope_yields_nested_prefix():
    with K.name_scope("outer") as outer:
        with K.name_scope("inner") as inner:
            assert inner == "outer/inner/"
        assert outer == "outer/"
    with pytest.raises(TypeError, match="string"):
        with K.name_scope(3):
            pass


def test_reset_uids_restarts_default_names():
    keras.layers.Dense(1)
    assert keras.layers.Dense(1).name == "dense_1"
    K.reset_uids()
    assert keras.layers.Dense(1).name == "dense"


def test_manual_variable_initialization_keeps_values():
    K.manual_variable_initialization(True)
    try:
        np.testing.assert_array_equal(K.get_value(K.variable(np.ones(2))), np.ones(2))
    finally:
        K.manual_variable_initialization(False)


def test_random_variables_are_seeded_trainable_variables():
    a = K.random_normal_variable((200, 50), 1.0, 2.0, seed=3)
    b = K.random_normal_variable((200, 50), 1.0, 2.0, seed=3)
    assert isinstance(a, keras.Variable) and a.trainable
    np.testing.assert_array_equal(K.get_value(a), K.get_value(b))
    assert abs(K.get_value(a).mean() - 1.0) < 0.05 and abs(K.get_value(a).std() - 2.0) < 0.05
    u = K.random_uniform_variable((100, 100), -1.0, 3.0, dtype="float64", name="u")
    value = K.get_value(u)
    assert value.dtype == np.float64 and value.min() >= -1.0 and value.max() < 3.0
    np.random.seed(7)
    first = K.get_value(K.random_uniform_variable((3,), 0.0, 1.0))
    np.random.seed(7)
    np.testing.assert_array_equal(first, K.get_value(K.random_uniform_variable((3,), 0.0, 1.0)))


def test_moving_average_update_needs_a_variable():
    with pytest.raises(TypeError, match="variable"):
        K.moving_average_update(torch.zeros(2), torch.ones(2), 0.9)


def test_map_fn_and_folds():
    elems = np.arange(1.0, 5.0, dtype="float32")
    np.testing.assert_array_equal(K.map_fn(lambda t: t * t, elems).numpy(), elems**2)
    assert K.map_fn(lambda t: t, elems, dtype="int32").dtype == torch.int32
    pairs = K.map_fn(lambda t: (t[0] + t[1], t[0] * t[1]), (elems, elems))
    np.testing.assert_array_equal(pairs[1].numpy(), elems**2)
    # A non-commutative fn shows the order: left to right gives 1234, right to left 4321.
    assert float(K.foldl(lambda acc, x: acc * 10 + x, elems)) == 1234.0
    assert float(K.foldr(lambda acc, x: acc * 10 + x, elems)) == 4321.0
    assert float(K.foldl(lambda acc, x: acc + x, elems, initializer=torch.tensor(100.0))) == 110.0
    with pytest.raises(ValueError, match="initializer"):
        K.foldl(lambda a, x: a + x, np.zeros((0,)))


def test_rnn_with_constants_and_nested_outputs():
    def step(x, states):
        h = states[0] + x * states[1]  # states[1] is the constant
        return (h, -h), [h]

    inputs = np.ones((2, 3, 4), "float32")
    last, outputs, states = K.rnn(step, inputs, [torch.zeros(2, 4)], constants=[torch.full((2, 4), 2.0)])
    np.testing.assert_array_equal(last[0].numpy(), np.full((2, 4), 6.0))
    assert outputs[1].shape == (2, 3, 4)
    np.testing.assert_array_equal(outputs[1][:, 0].numpy(), np.full((2, 4), -2.0))
    np.testing.assert_array_equal(states[0].numpy(), np.full((2, 4), 6.0))
    with pytest.raises(ValueError, match="at least 3D"):
        K.rnn(step, np.ones((2, 3)), [torch.zeros(2, 4)])


def test_rnn_is_differentiable():
    w = torch.tensor(0.5, requires_grad=True)

    def step(x, states):
        h = states[0] * w + x
        return h, [h]

    last, _, _ = K.rnn(step, np.ones((1, 3, 1), "float32"), [torch.zeros(1, 1)])
    (grad,) = K.gradients(K.sum(last), [w])
    assert float(grad.detach()) == pytest.approx(1.0 + 2 * 0.5)  # d/dw (w^2 + w + 1)


def test_function_takes_the_learning_phase_as_an_input():
    # Keras 2's FAQ: `K.function([model.layers[0].input, K.learning_phase()], [layer.output])`.
    inputs = keras.Input((4,))
    x = keras.layers.Dropout(0.5)(inputs)
    outputs = keras.layers.Dense(2, kernel_initializer="ones", use_bias=False)(x)
    model = keras.Model(inputs, outputs)
    assert model.layers[0].input is inputs  # the input layer's input is its tensor (Keras 2)
    f = K.function([model.layers[0].input, K.learning_phase()], [model.layers[-1].output])
    data = np.ones((500, 4), "float32")
    np.testing.assert_array_equal(f([data, 0])[0], np.full((500, 2), 4.0))
    training = f([data, 1])[0]
    assert set(np.unique(training)) <= {0.0, 2.0, 4.0, 6.0, 8.0} and training.std() > 0
    assert K.learning_phase() == 0 and repr(K.learning_phase()) == "0"
    with pytest.raises(ValueError, match="takes 2 inputs"):
        f([data])
    with pytest.raises(ValueError, match="only once"):
        K.function([inputs, K.learning_phase(), K.learning_phase()], [outputs])
