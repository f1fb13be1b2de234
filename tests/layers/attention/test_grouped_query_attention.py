"""Tests for lamina.layers.attention.grouped_query_attention.GroupQueryAttention."""

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


def _pair(oracle, shapes, **config):
    config = {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "kernel_initializer": "zeros", **config}
    k = oracle.layers.GroupQueryAttention(name="gqa", **config)
    k.build(*shapes)
    ours = layers.GroupQueryAttention(name="gqa", **config)
    ours.build(*shapes)
    weights = [w * 0.5 for w in _data(*[tuple(w.shape) for w in k.weights], seed=1)]
    k.set_weights(weights)
    ours.set_weights(weights)
    return k, ours


@pytest.mark.oracle
def test_weights_and_names_match_oracle(oracle):
    k, ours = _pair(oracle, [(None, 4, 6), (None, 5, 6)], use_gate=True)
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in k.weights]
    assert type(ours).__name__ == type(k).__name__ == "GroupedQueryAttention"
    assert layers.GroupedQueryAttention is layers.GroupQueryAttention


@pytest.mark.oracle
@pytest.mark.parametrize(
    "config, call",
    [
        ({}, {}),
        ({}, {"return_attention_scores": True}),
        ({"num_key_value_heads": 1}, {"use_causal_mask": True}),
        ({"num_key_value_heads": 4, "use_bias": False}, {"use_causal_mask": True, "return_attention_scores": True}),
        ({"sliding_window": 2, "use_gate": True}, {"use_causal_mask": True}),
        ({"dropout": 0.3}, {"mask": True}),
        ({}, {"mask": True}),
        ({}, {"mask": True, "return_attention_scores": True}),
    ],
)
def test_outputs_match_oracle(oracle, config, call):
    shapes = [(2, 4, 6), (2, 5, 6)]
    q, v = _data(*shapes)
    k, ours = _pair(oracle, shapes, **config)
    call = dict(call)
    if call.pop("mask", False):
        mask = np.random.default_rng(5).random((2, 4, 5)) > 0.4
        mask[1, 2] = False
        call["attention_mask"] = mask
    expected = k(q, v, key=v, **call)
    got = ours(q, v, key=v, training=False, **call)
    if call.get("return_attention_scores"):
        _close(got[1], expected[1])
        got, expected = got[0], expected[0]
    _close(got, expected)


@pytest.mark.oracle
def test_explicit_masks_match_oracle(oracle):
    shapes = [(2, 4, 6), (2, 5, 6)]
    q, v = _data(*shapes)
    k, ours = _pair(oracle, shapes)
    masks = dict(
        query_mask=np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool),
        value_mask=np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool),
        key_mask=np.array([[0, 1, 1, 1, 1], [1, 1, 1, 1, 0]], bool),
    )
    # Unlike MultiHeadAttention, Keras's GroupQueryAttention honours an explicit `query_mask`.
    _close(ours(q, v, key=v, **masks), k(q, v, key=v, **masks))
    _close(ours(q, v, use_causal_mask=True, **masks), k(q, v, use_causal_mask=True, **masks))


@pytest.mark.oracle
def test_config_round_trips(oracle):
    kwargs = dict(head_dim=4, num_query_heads=6, num_key_value_heads=3, dropout=0.1, use_bias=False,
                  sliding_window=2, use_gate=True, bias_regularizer="l1", seed=3, name="g")
    layer = layers.GroupQueryAttention(**kwargs)
    config = layer.get_config()
    ref = oracle.layers.GroupQueryAttention(**kwargs)
    assert list(config) == list(ref.get_config())
    assert layers.GroupQueryAttention.from_config(config).get_config() == config
    serialized = oracle.layers.serialize(ref)
    restored = layers.deserialize(serialized)
    assert isinstance(restored, layers.GroupedQueryAttention) and restored.get_config() == config
    assert layers.serialize(layer)["class_name"] == serialized["class_name"] == "GroupQueryAttention"


def test_symbolic_shapes_and_masks():
    ids = lamina.Input((None,), dtype="int32")
    x = layers.Embedding(10, 8, mask_zero=True)(ids)
    out, scores = layers.GroupQueryAttention(2, 4, 2)(x, x, return_attention_scores=True)
    assert out.shape == (None, None, 8) and scores.shape == (None, 4, None, None)
    assert out._keras_mask is not None and getattr(scores, "_keras_mask", None) is None
    model = lamina.Model(ids, out)
    assert tuple(model(np.array([[1, 2, 0]])).shape) == (1, 3, 8)


def test_fused_and_explicit_paths_agree():
    x = torch.randn(2, 6, 8)
    mask = torch.rand(2, 6, 6) > 0.3
    fused = layers.GroupQueryAttention(4, 4, 2)
    explicit = layers.GroupQueryAttention(4, 4, 2, flash_attention=False)
    fused(x, x)
    explicit(x, x)
    explicit.set_weights(fused.get_weights())
    for kwargs in ({}, {"attention_mask": mask}, {"use_causal_mask": True}):
        torch.testing.assert_close(fused(x, x, **kwargs), explicit(x, x, **kwargs), rtol=1e-5, atol=1e-5)


def test_invalid_arguments_and_inputs():
    with pytest.raises(ValueError, match="divisible"):
        layers.GroupQueryAttention(4, 6, 4)
    with pytest.raises(ValueError, match="head_dim"):
        layers.GroupQueryAttention(0, 4, 2)
    with pytest.raises(ValueError, match="rank 3"):
        layers.GroupQueryAttention(4, 4, 2, name="g")(np.ones((1, 2, 3, 4)), np.ones((1, 2, 3, 4)))


def _interop_model(lib):
    x = lib.Input((5, 6), name="x")
    out = lib.layers.GroupQueryAttention(3, 4, 2, use_gate=True, kernel_initializer="zeros", name="gqa")(x, x, use_causal_mask=True)
    model = lib.Model(x, out, name="m")
    model.set_weights(_data(*[tuple(w.shape) for w in model.weights], seed=2))
    return model


@pytest.mark.oracle
def test_saved_files_interoperate(oracle, tmp_path):
    x = _data((2, 5, 6))[0]
    ref = _interop_model(oracle)
    ref.save(tmp_path / "keras.keras")
    _close(lamina.models.load_model(tmp_path / "keras.keras")(x), ref(x))
    model = _interop_model(lamina)
    model.save(tmp_path / "lamina.keras")
    _close(oracle.models.load_model(tmp_path / "lamina.keras")(x), model(x))
    model.save_weights(tmp_path / "lamina.weights.h5")
    ref.load_weights(tmp_path / "lamina.weights.h5")
    _close(ref(x), model(x))
    loaded = lamina.models.load_model(tmp_path / "lamina.keras")
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.get_config() == model.get_config()
