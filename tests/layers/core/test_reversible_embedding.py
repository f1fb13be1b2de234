"""Tests for lamina.layers.core.reversible_embedding.ReversibleEmbedding."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

IDS = np.array([[1, 0, 4, 2], [0, 0, 3, 1]], dtype="int32")


def _pair(oracle, **config):
    """The same layer in Keras and Lamina, built, holding the same random weights."""
    k = oracle.layers.ReversibleEmbedding(embeddings_initializer="zeros", name="rev", **config)
    k.build((None, 4))
    ours = layers.ReversibleEmbedding(name="rev", **config)
    ours.build((None, 4))
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") for w in k.weights]
    k.set_weights(weights)
    ours.set_weights(weights)
    return k, ours


@pytest.mark.oracle
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"tie_weights": False},
        {"logit_soft_cap": 2.0},
        {"tie_weights": False, "logit_soft_cap": 0.5, "mask_zero": True},
    ],
)
def test_forward_and_reverse_match_oracle(oracle, config):
    k, ours = _pair(oracle, input_dim=5, output_dim=3, **config)
    assert [w.path for w in ours.weights] == [w.path for w in k.weights]
    np.testing.assert_allclose(ours(IDS).detach().numpy(), np.asarray(k(IDS)), rtol=1e-6)
    hidden = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    expected = np.asarray(k(hidden, reverse=True))
    got = ours(hidden, reverse=True)
    assert got.shape == (2, 4, 5)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_reverse_dtype_matches_oracle(oracle):
    k, ours = _pair(oracle, input_dim=6, output_dim=4, reverse_dtype="float16")
    hidden = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    expected = np.asarray(k(hidden, reverse=True))
    got = ours(hidden, reverse=True)
    assert got.dtype == torch.float16 and str(expected.dtype) == "float16"
    np.testing.assert_allclose(got.float().detach().numpy(), expected.astype("float32"), rtol=2e-3, atol=2e-3)


@pytest.mark.oracle
def test_config_matches_oracle_and_round_trips(oracle):
    kwargs = dict(tie_weights=False, reverse_dtype="bfloat16", logit_soft_cap=30.0, mask_zero=True)
    k = oracle.layers.ReversibleEmbedding(10, 4, name="rev", **kwargs)
    ours = layers.ReversibleEmbedding(10, 4, name="rev", **kwargs)
    config = ours.get_config()
    assert config == k.get_config()
    assert layers.ReversibleEmbedding.from_config(config).get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(k))
    assert isinstance(restored, layers.ReversibleEmbedding) and restored.get_config() == config


def test_masks_forward_only():
    layer = layers.ReversibleEmbedding(5, 3, mask_zero=True)
    out = layer(IDS)
    np.testing.assert_array_equal(out._keras_mask.numpy(), IDS != 0)
    assert getattr(layer(out, reverse=True), "_keras_mask", None) is None


def test_symbolic_shapes_dtypes_and_masks():
    layer = layers.ReversibleEmbedding(9, 4, mask_zero=True)
    ids = lamina.Input((None,), dtype="int32")
    hidden = layer(ids)
    assert hidden.shape == (None, None, 4) and hidden.dtype == "float32"
    assert hidden._keras_mask is not None and hidden._keras_mask.shape == (None, None)
    logits = layer(hidden, reverse=True)
    assert logits.shape == (None, None, 9)
    assert getattr(logits, "_keras_mask", None) is None
    half = layers.ReversibleEmbedding(9, 4, reverse_dtype="float16")
    assert half(lamina.Input((4,)), reverse=True).dtype == "float16"
    assert layer.compute_output_shape((2, 3, 4), reverse=True) == (2, 3, 9)
    assert layer.compute_output_shape((2, 3)) == (2, 3, 4)


def test_tied_language_model_trains():
    # Tied weights: gradients from the embedding lookup and the output projection both reach
    # the one table.
    embed = layers.ReversibleEmbedding(12, 8)
    ids = lamina.Input((5,), dtype="int32")
    logits = embed(layers.Dense(8, activation="tanh")(embed(ids)), reverse=True)
    model = lamina.Model(ids, logits)
    model.compile("adam", lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).integers(0, 12, size=(32, 5))
    before = embed.embeddings.detach().clone()
    model.fit(x, x, epochs=2, batch_size=8, verbose=0)
    assert not torch.equal(before, embed.embeddings.detach())
    assert len(embed.weights) == 1


def test_untied_weights_and_initial_weights():
    table = np.arange(6, dtype="float32").reshape(3, 2)
    reverse = np.ones((2, 3), "float32")
    layer = layers.ReversibleEmbedding(3, 2, tie_weights=False, weights=[table, reverse])
    assert [w.name for w in layer.weights] == ["embeddings", "reverse_embeddings"]
    out = layer(np.ones((1, 2), "float32"), reverse=True)
    np.testing.assert_allclose(out.detach().numpy(), [[2.0, 2.0, 2.0]])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"tie_weights": "yes"}, "tie_weights"),
        ({"logit_soft_cap": 0}, "logit_soft_cap"),
        ({"logit_soft_cap": "big"}, "logit_soft_cap"),
        ({"reverse_dtype": "float7"}, "reverse_dtype"),
        ({"input_dim": 0}, "input_dim"),
    ],
)
def test_invalid_arguments(kwargs, match):
    config = {"input_dim": 4, "output_dim": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        layers.ReversibleEmbedding(**config)


def test_reverse_with_wrong_last_axis_names_the_layer():
    layer = layers.ReversibleEmbedding(4, 3, name="rev_emb")
    with pytest.raises(ValueError, match="rev_emb.*output_dim=3"):
        layer(np.ones((2, 5), "float32"), reverse=True)
    with pytest.raises(ValueError, match="rev_emb.*output_dim=3"):
        layer(lamina.Input((5,)), reverse=True)
