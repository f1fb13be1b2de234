"""``lamina.random``: reproducible seeds, ``SeedGenerator`` state and tracking, and distributions that
match Keras's (moments and ranges; the streams themselves differ: torch vs JAX generators)."""

import numpy as np
import pytest
import torch

import lamina

_N = 20000


def _np(x):
    return np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype="float64")


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("normal", {"mean": 2.0, "stddev": 3.0}),
        ("uniform", {"minval": -1.0, "maxval": 4.0}),
        ("truncated_normal", {"mean": 1.0, "stddev": 2.0}),
        ("randint", {"minval": 3, "maxval": 9}),
        ("gamma", {"alpha": 2.5}),
        ("beta", {"alpha": 2.0, "beta": 5.0}),
        ("binomial", {"counts": 10, "probabilities": 0.3}),
    ],
)
def test_distributions_match_keras(oracle, name, kwargs):
    ours = _np(getattr(lamina.random, name)((_N,), seed=7, **kwargs))
    theirs = _np(getattr(oracle.random, name)((_N,), seed=7, **kwargs))
    spread = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 0.05 * spread + 1e-3
    assert abs(ours.std() - theirs.std()) < 0.05 * spread + 1e-3
    if name in ("randint", "binomial"):
        values = np.arange(12)
        freq = lambda a: np.array([(a == v).mean() for v in values])  # noqa: E731
        np.testing.assert_allclose(freq(ours), freq(theirs), atol=0.015)
    else:
        quantiles = [0.1, 0.5, 0.9]
        np.testing.assert_allclose(
            np.quantile(ours, quantiles), np.quantile(theirs, quantiles), atol=0.08 * spread
        )
    support = {
        "uniform": (-1.0, 4.0), "truncated_normal": (-3.0, 5.0), "randint": (3, 8), "gamma": (0, np.inf),
        "beta": (0.0, 1.0), "binomial": (0, 10), "normal": (-np.inf, np.inf),
    }[name]
    assert support[0] <= ours.min() and ours.max() <= support[1]
    if name == "randint":
        assert set(np.unique(ours)) == set(np.unique(theirs)) == set(range(3, 9))
    dtype = getattr(oracle.random, name)((2,), seed=1, **kwargs).dtype
    assert lamina.backend.standardize_dtype(
        getattr(lamina.random, name)((2,), seed=1, **kwargs).dtype
    ) == oracle.backend.standardize_dtype(dtype)


@pytest.mark.oracle
def test_categorical_dropout_shuffle_match_keras(oracle):
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], "float32"))
    ours = _np(lamina.random.categorical(logits, 6000, seed=3))
    theirs = _np(oracle.random.categorical(logits, 6000, seed=3))
    assert ours.shape == theirs.shape == (2, 6000)
    for row in range(2):
        ours_freq = np.bincount(ours[row].astype(int), minlength=3) / 6000
        theirs_freq = np.bincount(theirs[row].astype(int), minlength=3) / 6000
        np.testing.assert_allclose(ours_freq, theirs_freq, atol=0.03)
    x = np.ones((200, 50), "float32")
    ours = _np(lamina.random.dropout(x, 0.3, seed=1))
    theirs = _np(oracle.random.dropout(x, 0.3, seed=1))
    assert set(np.unique(ours)) == set(np.unique(theirs))
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.02
    ours = _np(lamina.random.dropout(x, 0.5, noise_shape=(None, 1), seed=1))
    assert all(len(set(row)) == 1 for row in ours)
    np.testing.assert_array_equal(_np(lamina.random.dropout(x, 0.0)), x)
    np.testing.assert_array_equal(_np(lamina.random.dropout(x, 1.0)), 0 * x)
    y = np.arange(12).reshape(6, 2)
    shuffled = _np(lamina.random.shuffle(y, seed=4))
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, y))  # rows move whole
    cols = _np(lamina.random.shuffle(y, axis=1, seed=4))
    assert sorted(map(tuple, cols.T)) == sorted(map(tuple, y.T))


def test_integer_seed_is_stateless_and_seed_generator_advances():
    a = lamina.random.normal((4,), seed=5)
    torch.testing.assert_close(a, lamina.random.normal((4,), seed=5))
    assert not torch.equal(a, lamina.random.normal((4,), seed=6))
    gen = lamina.random.SeedGenerator(42)
    first, second = lamina.random.uniform((4,), seed=gen), lamina.random.uniform((4,), seed=gen)
    assert not torch.equal(first, second)
    assert gen.state.numpy().tolist() == [42, 2]
    again = lamina.random.SeedGenerator(42)
    torch.testing.assert_close(first, lamina.random.uniform((4,), seed=again))
    assert not torch.equal(lamina.random.normal((4,)), lamina.random.normal((4,)))
    lamina.utils.set_random_seed(3)
    unseeded = lamina.random.normal((4,))
    lamina.utils.set_random_seed(3)
    torch.testing.assert_close(unseeded, lamina.random.normal((4,)))


@pytest.mark.oracle
def test_seed_generator_state_variable_matches_keras(oracle):
    ours, theirs = lamina.random.SeedGenerator(1337), oracle.random.SeedGenerator(1337)
    assert ours.get_config() == theirs.get_config() == {"seed": 1337, "name": "seed_generator"}
    assert ours.state.path == theirs.state.path == "seed_generator/seed_generator_state"
    assert ours.state.dtype_name == theirs.state.dtype == "uint32"
    assert tuple(ours.state.shape) == theirs.state.shape == (2,)
    assert ours.state.trainable is theirs.state.trainable is False
    for ordered in (True, False, True):
        np.testing.assert_array_equal(_np(ours.next(ordered)), np.asarray(theirs.next(ordered)))
    np.testing.assert_array_equal(ours.state.numpy(), np.asarray(theirs.state.value))
    clone = lamina.random.SeedGenerator.from_config(ours.get_config())
    assert clone.state.numpy().tolist() == [1337, 0]


def test_seed_generator_errors():
    with pytest.raises(ValueError, match="must be an integer"):
        lamina.random.SeedGenerator(1.5)
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        lamina.random.SeedGenerator(1, device="cpu")
    with pytest.raises(ValueError, match="SeedGenerator"):
        lamina.random.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="floating point"):
        lamina.random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer `dtype`"):
        lamina.random.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="2-D"):
        lamina.random.categorical(np.zeros(3), 2)


def _noisy_layer(keras):
    class Noisy(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x, training=False):
            if training:
                x = keras.random.dropout(x, rate=0.5, seed=self.seed_generator)
            return x * self.w

    return Noisy


@pytest.mark.oracle
def test_layer_tracks_its_seed_generator_like_keras(oracle, tmp_path):
    layers = {}
    for name, lib in (("ours", lamina), ("theirs", oracle)):
        inputs = lib.Input((4,))
        layer = _noisy_layer(lib)(name="noisy")
        model = lib.Model(inputs, layer(inputs))
        layers[name] = (layer, model)
    (ours, ours_model), (theirs, theirs_model) = layers["ours"], layers["theirs"]
    assert len(ours.weights) == len(theirs.weights) == 1
    assert len(ours.variables) == len(theirs.variables) == 2
    assert len(ours.non_trainable_variables) == len(theirs.non_trainable_variables) == 1
    assert ours.non_trainable_variables[0] is ours.seed_generator.state
    assert ours.non_trainable_weights == [] and ours_model.count_params() == 4
    assert [g is ours.seed_generator for g in ours._seed_generators] == [True]
    # Symbolic calls do not consume randomness; eager training calls do.
    x = np.ones((2, 4), "float32")
    assert ours.seed_generator.state.numpy().tolist() == [1337, 0]
    ours(x, training=True)
    assert ours.seed_generator.state.numpy().tolist() == [1337, 1]
    # Weight files hold the weights only, in both libraries, so each reads the other's.
    theirs.w.assign(np.arange(4, dtype="float32"))
    theirs_model.save_weights(tmp_path / "keras.weights.h5")
    ours_model.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_array_equal(ours.w.numpy(), np.arange(4))
    ours.w.assign(torch.full((4,), 5.0))
    ours_model.save_weights(tmp_path / "lamina.weights.h5")
    theirs_model.load_weights(tmp_path / "lamina.weights.h5")
    np.testing.assert_array_equal(np.asarray(theirs.w.value), np.full(4, 5.0))


def test_seed_generator_in_a_trained_model():
    inputs = lamina.Input((4,))
    layer = _noisy_layer(lamina)()
    model = lamina.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4), "float32"), np.ones((8, 4), "float32"), batch_size=4, epochs=1, verbose=0)
    assert layer.seed_generator.state.numpy().tolist() == [1337, 2]
    assert len(model.trainable_weights) == 1


def test_symbolic_call_with_randomness_neither_fails_nor_draws():
    layer = _noisy_layer(lamina)()
    out = layer(lamina.Input((4,)), training=True)
    assert out.shape == (None, 4)
    assert layer.seed_generator.state.numpy().tolist() == [1337, 0]
    out = lamina.layers.Lambda(lambda t: t + lamina.random.normal(lamina.ops.shape(t), seed=1))(
        lamina.Input((3,))
    )
    assert out.shape == (None, 3)


def test_initializers_accept_a_seed_generator():
    gen = lamina.random.SeedGenerator(3)
    init = lamina.initializers.RandomNormal(seed=gen)
    first, second = init((4,)), init((4,))
    assert not torch.equal(torch.as_tensor(first), torch.as_tensor(second))
    assert gen.state.numpy().tolist() == [3, 2]
    assert init.get_config()["seed"]["config"] == {"seed": 3, "name": gen.name}


def test_compiled_draws_from_a_seed_generator_compile_once_and_differ_per_call():
    # A seed drawn anew on each call would be a new constant of the graph: one recompilation per
    # call. Compiled code draws from torch's default stream instead.
    lamina.random.normal((1,), seed=0)  # the device chosen, as after any eager call
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    gen = lamina.random.SeedGenerator(1337)
    fn = torch.compile(lambda x: x + lamina.random.normal((64,), seed=gen))
    outs = [fn(torch.zeros(64)) for _ in range(10)]
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert len({tuple(o.tolist()) for o in outs}) == 10
    assert abs(float(torch.stack(outs).mean())) < 0.2 and 0.8 < float(torch.stack(outs).std()) < 1.2


def test_compiled_draws_with_an_integer_seed_are_the_eager_ones():
    torch._dynamo.reset()
    fn = torch.compile(lambda x: x + lamina.random.uniform((16,), seed=7))
    expected = lamina.random.uniform((16,), seed=7)
    for _ in range(3):
        torch.testing.assert_close(fn(torch.zeros(16)), expected, rtol=0, atol=0)


def test_a_sampling_layer_in_compiled_predict_keeps_one_graph():
    # The Keras VAE example's sampling layer draws at inference too.
    class Sampling(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = lamina.random.SeedGenerator(1337)

        def call(self, x):
            return x + lamina.random.normal(lamina.ops.shape(x), seed=self.seed_generator)

    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    model = lamina.Sequential([lamina.Input((4,)), Sampling()])
    model.compile(jit_compile=True)
    model.predict(np.zeros((8, 4), "float32"), batch_size=4, verbose=0)  # builds
    step = model.__dict__["_predict_function"].step
    step.path = "compiled"  # however fast: the compiled graph is what is checked
    outs = [model.predict(np.zeros((8, 4), "float32"), batch_size=4, verbose=0) for _ in range(4)]
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert not step.failed and len({o.tobytes() for o in outs}) == 4
