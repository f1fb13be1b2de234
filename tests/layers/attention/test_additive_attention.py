"""Tests for lamina.layers.attention.additive_attention.AdditiveAttention (Bahdanau-style)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


def _close(ours, ref):
    ours = ours.detach().numpy() if isinstance(ours, torch.Tensor) else ours
    np.testing.assert_allclose(ours, np.asarray(ref), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("use_scale", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_outputs_match_oracle(oracle, use_scale, causal):
    inputs = _data((2, 3, 4), (2, 5, 4), (2, 5, 4))
    k = oracle.layers.AdditiveAttention(use_scale=use_scale)
    ours = layers.AdditiveAttention(use_scale=use_scale)
    k.build([x.shape for x in inputs])
    ours.build([x.shape for x in inputs])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in k.weights]
    weights = _data(*[tuple(w.shape) for w in k.weights], seed=1)
    k.set_weights(weights)
    ours.set_weights(weights)
    mask = [np.array([[1, 0, 1], [1, 1, 1]], bool), np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], bool)]
    got = ours(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True)
    expected = k(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True)
    _close(got[0], expected[0])
    _close(got[1], expected[1])
    _close(ours(inputs[:2]), k(inputs[:2]))


@pytest.mark.oracle
def test_config_round_trips(oracle):
    layer = layers.AdditiveAttention(use_scale=False, dropout=0.1, name="add")
    config = layer.get_config()
    ref = oracle.layers.AdditiveAttention(use_scale=False, dropout=0.1, name="add")
    assert config.keys() == ref.get_config().keys()
    assert "score_mode" not in config
    assert layers.AdditiveAttention.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(restored, layers.AdditiveAttention) and restored.get_config() == config


def test_symbolic_shapes_masks_and_round_trip(tmp_path):
    ids = lamina.Input((None,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)(ids)
    out = layers.AdditiveAttention()([emb, emb])
    assert out.shape == (None, None, 4)
    assert out._keras_mask is not None
    model = lamina.Model(ids, out)
    path = tmp_path / "additive.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = np.array([[1, 2, 0], [3, 0, 0]])
    torch.testing.assert_close(loaded(x), model(x))
    assert (model(x)[1, 1:] == 0).all()


def test_scale_needs_defined_dim():
    with pytest.raises(ValueError, match="last dimension"):
        layers.AdditiveAttention(name="a")([lamina.Input((3, None)), lamina.Input((3, None))])
