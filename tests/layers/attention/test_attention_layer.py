"""Tests for lamina.layers.attention.attention.Attention (Luong-style attention)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _close(ours, ref):
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-5, atol=1e-5)


def _pair(oracle, inputs, **config):
    k = oracle.layers.Attention(**config)
    ours = layers.Attention(**config)
    shapes = [x.shape for x in inputs]
    k.build(shapes)
    ours.build(shapes)
    weights = [np.asarray(1.7 + i * 0.3, "float32") for i in range(len(k.weights))]
    k.set_weights(weights)
    ours.set_weights(weights)
    return k, ours


@pytest.mark.oracle
@pytest.mark.parametrize("score_mode", ["dot", "concat"])
@pytest.mark.parametrize("use_scale", [False, True])
@pytest.mark.parametrize("with_key", [False, True])
def test_outputs_and_scores_match_oracle(oracle, score_mode, use_scale, with_key):
    inputs = _data((2, 3, 4), (2, 5, 4), (2, 5, 4))[: 3 if with_key else 2]
    k, ours = _pair(oracle, inputs, score_mode=score_mode, use_scale=use_scale)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in k.weights]
    out, scores = ours(inputs, return_attention_scores=True)
    k_out, k_scores = k(inputs, return_attention_scores=True)
    _close(out, k_out)
    _close(scores, k_scores)


@pytest.mark.oracle
@pytest.mark.parametrize("causal", [False, True])
def test_masks_match_oracle(oracle, causal):
    inputs = _data((2, 4, 3), (2, 4, 3))
    k, ours = _pair(oracle, inputs, score_mode="concat", dropout=0.4)
    # The second value row is fully masked: Keras then attends uniformly (no zeroing).
    mask = [np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool), np.array([[1, 0, 1, 1], [0, 0, 0, 0]], bool)]
    expected = k(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True)
    got = ours(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True, training=False)
    _close(got[0], expected[0])
    _close(got[1], expected[1])


@pytest.mark.oracle
def test_embedding_masks_propagate_in_functional_model(oracle):
    def build(lib):
        q_ids, v_ids = lib.Input((3,), dtype="int32"), lib.Input((4,), dtype="int32")
        emb = lib.layers.Embedding(8, 5, mask_zero=True, embeddings_initializer="zeros", name="emb")
        out, scores = lib.layers.Attention(use_scale=True, name="att")([emb(q_ids), emb(v_ids)], return_attention_scores=True)
        # LSTM consumes the propagated query mask.
        seq = lib.layers.LSTM(2, kernel_initializer="zeros", recurrent_initializer="zeros", name="lstm")(out)
        return lib.Model([q_ids, v_ids], [out, scores, seq]), out, scores

    ref, k_out, k_scores = build(oracle)
    model, out, scores = build(lamina)
    assert out._keras_mask is not None and out._keras_mask.shape == k_out._keras_mask.shape
    assert getattr(scores, "_keras_mask", None) is None and getattr(k_scores, "_keras_mask", None) is None
    weights = _data(*[tuple(w.shape) for w in ref.weights], seed=2)
    ref.set_weights(weights)
    model.set_weights(weights)
    ids = [np.array([[1, 2, 0], [3, 0, 0]]), np.array([[1, 2, 3, 0], [4, 0, 0, 0]])]
    for got, expected in zip(model(ids), ref(ids)):
        _close(got, expected)


@pytest.mark.oracle
def test_config_round_trips(oracle):
    layer = layers.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=4, name="a")
    config = layer.get_config()
    ref = oracle.layers.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=4, name="a")
    assert list(config) == list(ref.get_config())
    assert layers.Attention.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(restored, layers.Attention) and restored.get_config() == config


def test_symbolic_shapes():
    q, v, key = lamina.Input((None, 4)), lamina.Input((6, 4)), lamina.Input((6, 4))
    out, scores = layers.Attention()([q, v, key], return_attention_scores=True)
    assert out.shape == (None, None, 4)
    assert scores.shape == (None, None, 6)
    model = lamina.Model([q, v, key], out)
    assert tuple(model([np.ones((2, 3, 4)), np.ones((2, 6, 4)), np.ones((2, 6, 4))]).shape) == (2, 3, 4)


def test_dropout_training_vs_inference():
    q, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    layer = layers.Attention(dropout=0.5, seed=1)
    _, inference = layer([q, v], return_attention_scores=True)
    torch.testing.assert_close(inference.sum(-1), torch.ones(2, 3))
    _, trained = layer([q, v], return_attention_scores=True, training=True)
    assert ((trained == 0) | torch.isclose(trained, 2 * inference)).all()
    assert (trained == 0).any()


def test_round_trip_save_load(tmp_path):
    q, v = lamina.Input((3, 4)), lamina.Input((5, 4))
    model = lamina.Model([q, v], layers.Attention(use_scale=True, score_mode="concat")([q, v]))
    path = tmp_path / "att.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = _data((2, 3, 4), (2, 5, 4))
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.get_config() == model.get_config()


def test_invalid_arguments_and_inputs():
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="dropout"):
        layers.Attention(dropout=2)
    layer = layers.Attention(name="att")
    x = np.ones((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="'att' must be called on a list"):
        layer(x)
    with pytest.raises(ValueError, match="'att' accepts inputs list of length 2 or 3"):
        layer([x, x, x, x])
    with pytest.raises(ValueError, match="same last dimension"):
        layers.Attention()([x, np.ones((2, 3, 5), "float32")])
    with pytest.raises(ValueError, match="mask must be a list"):
        layer([x, x], mask=np.ones((2, 3), bool))
