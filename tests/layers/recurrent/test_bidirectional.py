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


def _pair(oracle, make, shape, seed=0, **kwargs):
    """The same Bidirectional layer in Keras and Lamina, with the same random weights."""
    ref = oracle.layers.Bidirectional(make(oracle.layers), **kwargs)
    ref.build(shape)
    ours = layers.Bidirectional(make(layers), **kwargs)
    ours.build(shape)
    rng = np.random.default_rng(seed)
    weights = [0.5 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    return ref, ours


def _assert_outputs(ours, ref):
    ours, ref = _as_list(ours), _as_list(ref)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "merge_mode, return_sequences",
    [("concat", True), ("concat", False), ("sum", False), ("mul", True), ("ave", False), (None, True)],
)
def test_bidirectional_merge_modes_match_oracle(oracle, rng, merge_mode, return_sequences):
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    # unroll=True spares the oracle a JAX compilation; it computes the same numbers.
    ref, ours = _pair(
        oracle, lambda L: L.LSTM(4, return_sequences=return_sequences, unroll=True), x.shape,
        merge_mode=merge_mode,
    )
    _assert_outputs(ours(x), ref(x))
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    assert ours.forward_layer.name == ref.forward_layer.name == "forward_lstm"
    assert ours.backward_layer.name == ref.backward_layer.name == "backward_lstm"


@pytest.mark.oracle
@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.GRU(3, return_state=True, unroll=True),
        lambda L: L.SimpleRNN(3, return_state=True, return_sequences=True, unroll=True),
    ],
)
@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_bidirectional_return_state_matches_oracle(oracle, rng, make, merge_mode):
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    ref, ours = _pair(oracle, make, x.shape, merge_mode=merge_mode)
    out, expected = ours(x), ref(x)
    _assert_outputs(out, expected)
    assert len(out) == (2 if merge_mode is None else 1) + 2


@pytest.mark.oracle
def test_bidirectional_initial_state_is_split_in_halves(oracle, rng):
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    states = [rng.standard_normal((2, 5)).astype("float32") for _ in range(4)]
    ref, ours = _pair(oracle, lambda L: L.LSTM(5, return_state=True, unroll=True), x.shape)
    _assert_outputs(ours(x, initial_state=states), ref(x, initial_state=states))
    forward_only = ours.forward_layer(x, initial_state=states[:2])
    np.testing.assert_allclose(_np(ours(x, initial_state=states)[1]), _np(forward_only[1]), rtol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_bidirectional_with_embedding_mask_matches_oracle(oracle, return_sequences, merge_mode):
    ids = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]])
    ref_emb = oracle.layers.Embedding(10, 3, mask_zero=True)
    emb = layers.Embedding(10, 3, mask_zero=True)
    ref_emb.build((None, 5))
    emb.build((None, 5))
    emb.set_weights(ref_emb.get_weights())
    ref, ours = _pair(
        oracle, lambda L: L.GRU(3, return_sequences=return_sequences), (2, 5, 3), merge_mode=merge_mode
    )
    expected, out = ref(ref_emb(ids)), ours(emb(ids))
    _assert_outputs(out, expected)
    if return_sequences:
        for a, b in zip(_as_list(out), _as_list(expected)):
            np.testing.assert_array_equal(_np(a._keras_mask), np.asarray(b._keras_mask))
            # Bidirectional forces zeros at masked steps in both halves.
            assert not _np(a)[1, 1:].any()


@pytest.mark.oracle
def test_bidirectional_custom_backward_layer_matches_oracle(oracle, rng):
    x = rng.standard_normal((2, 5, 3)).astype("float32")

    def build(L):
        return L.Bidirectional(
            L.SimpleRNN(2, return_sequences=True, unroll=True),
            backward_layer=L.LSTM(2, return_sequences=True, go_backwards=True, unroll=True, name="back"),
            merge_mode="sum",
        )

    ref, ours = build(oracle.layers), build(layers)
    ref.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(ref.get_weights())
    _assert_outputs(ours(x), ref(x))
    assert ours.backward_layer.name == "back"
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]


@pytest.mark.oracle
def test_bidirectional_config_round_trip(oracle, rng):
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    ref, ours = _pair(
        oracle, lambda L: L.LSTM(3, return_sequences=True, dropout=0.1, unroll=True), x.shape,
        merge_mode="ave",
    )
    config, theirs = ours.get_config(), ref.get_config()
    assert set(theirs) <= set(config)
    assert config["merge_mode"] == "ave"
    assert config["layer"]["config"]["name"] == "forward_lstm"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    rebuilt = layers.Bidirectional.from_config(config)
    assert rebuilt.forward_layer.name == "forward_lstm" and rebuilt.backward_layer.go_backwards
    from_keras = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(from_keras, layers.Bidirectional) and from_keras.merge_mode == "ave"
    from_keras.build(x.shape)
    from_keras.set_weights(ref.get_weights())
    _assert_outputs(from_keras(x), ref(x))


def test_bidirectional_symbolic_shapes():
    x = lamina.Input((None, 6))
    y = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(x)
    assert y.shape == (None, None, 8)
    outs = layers.Bidirectional(layers.GRU(3, return_state=True), merge_mode=None)(x)
    assert [o.shape for o in outs] == [(None, 3)] * 4
    outs = layers.Bidirectional(layers.LSTM(2, return_state=True), merge_mode="sum")(x)
    assert [o.shape for o in outs] == [(None, 2)] * 5
    model = lamina.Sequential(
        [lamina.Input((5, 3)), layers.Bidirectional(layers.SimpleRNN(2)), layers.Dense(1)]
    )
    assert model.output_shape == (None, 1)
    assert tuple(model(np.zeros((4, 5, 3), "float32")).shape) == (4, 1)


def test_bidirectional_errors():
    with pytest.raises(ValueError, match="Layer` instance"):
        layers.Bidirectional("lstm")
    with pytest.raises(ValueError, match="backward_layer"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=3)
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(
            layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=True, return_sequences=True)
        )
    with pytest.raises(AttributeError, match="stateful"):
        layers.Bidirectional(layers.LSTM(2)).reset_states()


def test_bidirectional_weights_argument_and_fresh_weights():
    inner = layers.SimpleRNN(2)
    inner.build((None, 3, 4))
    weights = [np.full(w.shape, 0.1 * (i + 1), "float32") for i, w in enumerate(inner.weights * 2)]
    layer = layers.Bidirectional(inner, weights=weights)
    layer(np.zeros((1, 3, 4), "float32"))
    for got, want in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    assert all(a is not b for a, b in zip(layer.forward_layer.weights, inner.weights))


def test_bidirectional_stateful_carries_both_halves():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    layer = layers.Bidirectional(layers.GRU(3, stateful=True))
    layer(x[:, :3])
    assert layer.stateful and len(layer.states) == 2
    before = [s.clone() for s in layer.states]
    second = layer(x[:, 3:])
    fresh = layers.Bidirectional(layers.GRU(3))
    fresh.build(x.shape)
    fresh.set_weights(layer.get_weights())
    expected = fresh(x[:, 3:], initial_state=before)
    np.testing.assert_allclose(_np(second), _np(expected), rtol=1e-5, atol=1e-6)
    layer.reset_states()
    assert all(not s.any() for s in layer.states)


def test_bidirectional_gradients_reach_both_halves():
    layer = layers.Bidirectional(layers.LSTM(2, return_sequences=True))
    out = layer(torch.randn(2, 4, 3))
    out.sum().backward()
    assert all(w.grad is not None for w in layer.trainable_weights)
    assert len(layer.trainable_weights) == 6


def test_bidirectional_weights_file_layout(tmp_path):
    model = lamina.Sequential([lamina.Input((3, 4)), layers.Bidirectional(layers.LSTM(2))])
    path = tmp_path / "bi.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        for half in ("forward_layer", "backward_layer"):
            assert f"layers/bidirectional/{half}/cell/vars/2" in f


@pytest.mark.oracle
def test_bidirectional_keras_files_both_ways(oracle, tmp_path):
    def build(K):
        x = K.Input((5, 3))
        y = K.layers.Bidirectional(K.layers.LSTM(4, return_sequences=True, unroll=True))(x)
        y = K.layers.Bidirectional(
            K.layers.GRU(2, unroll=True),
            backward_layer=K.layers.GRU(2, go_backwards=True, unroll=True),
            merge_mode="mul",
        )(y)
        return K.Model(x, y)

    x = np.random.default_rng(4).standard_normal((2, 5, 3)).astype("float32")
    ref = build(oracle)
    ref.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(_np(loaded(x)), _np(ref(x)), rtol=1e-5, atol=1e-6)
    ours = build(lamina)
    ours.save(tmp_path / "l.keras")
    theirs = oracle.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(_np(theirs(x)), _np(ours(x)), rtol=1e-5, atol=1e-6)
    ours.save_weights(tmp_path / "l.weights.h5")
    ref.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(_np(ref(x)), _np(ours(x)), rtol=1e-5, atol=1e-6)
