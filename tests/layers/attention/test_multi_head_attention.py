"""Tests for lamina.layers.attention.multi_head_attention.MultiHeadAttention."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


def _pair(oracle, shapes, **config):
    """The same MHA in Keras and Lamina, built from ``shapes`` and holding the same weights."""
    config.setdefault("num_heads", 2)
    config.setdefault("key_dim", 3)
    # Constant initializers keep the Keras build cheap (no JAX random kernels to compile).
    config.setdefault("kernel_initializer", "zeros")
    k = oracle.layers.MultiHeadAttention(name="mha", **config)
    k.build(*shapes)
    ours = layers.MultiHeadAttention(name="mha", **config)
    ours.build(*shapes)
    # Bias too: a random bias makes a wrong head or axis order visible.
    weights = [w * 0.5 for w in _data(*[tuple(w.shape) for w in k.weights], seed=1)]
    k.set_weights(weights)
    ours.set_weights(weights)
    return k, ours


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _close(ours, ref):
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_weights_match_oracle(oracle):
    k, ours = _pair(oracle, [(None, 4, 6), (None, 5, 7), (None, 5, 8)], value_dim=5, output_shape=(2, 3))
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in k.weights]
    assert [l.name for l in (ours.query_dense, ours.key_dense, ours.value_dense, ours.output_dense)] == [
        "query",
        "key",
        "value",
        "attention_output",
    ]
    k2, ours2 = _pair(oracle, [(None, 4, 6), (None, 5, 6)], use_gate=True, use_bias=False)
    assert [(w.path.split("/", 1)[-1], tuple(w.shape)) for w in ours2.weights] == [
        (w.path.split("/", 1)[-1], tuple(w.shape)) for w in k2.weights
    ]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "config, call",
    [
        ({}, {}),
        ({}, {"scores": True}),
        ({}, {"use_causal_mask": True}),
        ({}, {"use_causal_mask": True, "scores": True}),
        # Keras's fused JAX path fails when value_dim != key_dim: compare the explicit path.
        ({"value_dim": 4, "output_shape": 5}, {"key": True, "scores": True}),
        ({"output_shape": (2, 3), "use_bias": False}, {"key": True, "scores": True}),
        ({"sliding_window": 2}, {"use_causal_mask": True}),
        ({"use_gate": True}, {"scores": True}),
        ({"dropout": 0.3, "seed": 1}, {}),
        ({"flash_attention": False}, {"use_causal_mask": True}),
    ],
)
def test_outputs_match_oracle(oracle, config, call):
    shapes = [(2, 4, 6), (2, 5, 7), (2, 5, 8)]
    q, v, key = _data(*shapes)
    k, ours = _pair(oracle, shapes if call.get("key") else shapes[:2], **config)
    kwargs = {"use_causal_mask": call.get("use_causal_mask", False)}
    if call.get("key"):
        kwargs["key"] = key
    if call.get("scores"):
        kwargs["return_attention_scores"] = True
    expected = k(q, v, **kwargs)
    got = ours(q, v, **kwargs)
    if call.get("scores"):
        assert len(got) == 2
        _close(got[1], expected[1])
        got, expected = got[0], expected[0]
    _close(got, expected)


@pytest.mark.oracle
@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_attention_mask_and_fully_masked_rows_match_oracle(oracle, scores, dropout):
    """Keras's fused path gives a fully masked query row the mean of the values, its explicit
    path (scores returned, or dropout configured) gives it zeros: both are reproduced."""
    shapes = [(2, 4, 6), (2, 5, 6)]
    q, v = _data(*shapes)
    k, ours = _pair(oracle, shapes, dropout=dropout)
    mask = np.random.default_rng(3).random((2, 4, 5)) > 0.4
    mask[0, 1] = False
    mask[1, 3] = False
    expected = k(q, v, attention_mask=mask, return_attention_scores=scores)
    got = ours(q, v, attention_mask=mask, return_attention_scores=scores, training=False)
    if scores:
        _close(got[1], expected[1])
        got, expected = got[0], expected[0]
    _close(got, expected)
    # Both masks with a causal mask too, and a 2D mask broadcast over the batch.
    _close(ours(q, v, attention_mask=mask[0, :, :], use_causal_mask=True), k(q, v, attention_mask=mask[0], use_causal_mask=True))


@pytest.mark.oracle
def test_value_and_key_masks_match_oracle(oracle):
    shapes = [(2, 4, 6), (2, 5, 6)]
    q, v = _data(*shapes)
    k, ours = _pair(oracle, shapes)
    vm = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    km = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 0]], bool)
    _close(ours(q, v, value_mask=vm), k(q, v, value_mask=vm))
    _close(ours(q, v, key=v, value_mask=vm, key_mask=km), k(q, v, key=v, value_mask=vm, key_mask=km))
    # As in Keras, an explicit `query_mask` is ignored: the query mask comes from the tensor.
    _close(ours(q, v, query_mask=np.zeros((2, 4), bool)), k(q, v))


@pytest.mark.oracle
@pytest.mark.parametrize(
    "q_dims, v_dims, mask_dims, axes",
    [
        ((3, 4), (3, 2), (3, 4, 3, 2), (1, 2)),
        ((5, 3, 4), (5, 3, 2), (3, 4, 3, 2), (2, 3)),
        ((3, 4), (3, 2), (3, 2, 4, 2), (2,)),
        ((3, 4), (3, 2), None, -2),
    ],
)
def test_attention_axes_match_oracle(oracle, q_dims, v_dims, mask_dims, axes):
    shapes = [(2,) + q_dims + (6,), (2,) + v_dims + (6,)]
    q, v = _data(*shapes)
    k, ours = _pair(oracle, shapes, attention_axes=axes)
    kwargs = {}
    if mask_dims is not None:
        kwargs["attention_mask"] = np.random.default_rng(4).random((2,) + mask_dims) > 0.3
    expected = k(q, v, return_attention_scores=True, **kwargs)
    got = ours(q, v, return_attention_scores=True, **kwargs)
    _close(got[1], expected[1])
    _close(got[0], expected[0])
    _close(ours(q, v, **kwargs), k(q, v, **kwargs))
    assert ours.attention_axes == k.attention_axes


@pytest.mark.oracle
def test_embedding_masks_in_functional_model_match_oracle(oracle):
    def build(lib):
        ids_q = lib.Input((4,), dtype="int32")
        ids_v = lib.Input((5,), dtype="int32")
        emb = lib.layers.Embedding(10, 6, mask_zero=True, embeddings_initializer="zeros", name="emb")
        out, scores = lib.layers.MultiHeadAttention(2, 3, kernel_initializer="zeros", name="mha")(emb(ids_q), emb(ids_v), return_attention_scores=True)
        pooled = lib.layers.GlobalAveragePooling1D(name="pool")(out)
        return lib.Model([ids_q, ids_v], [out, scores, pooled]), out, scores

    ref, k_out, k_scores = build(oracle)
    model, out, scores = build(lamina)
    weights = _data(*[tuple(w.shape) for w in ref.weights], seed=2)
    model.set_weights(weights)
    ref.set_weights(weights)
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 4)
    assert getattr(scores, "_keras_mask", None) is None and getattr(k_scores, "_keras_mask", None) is None
    assert scores.shape == (None, 2, 4, 5)
    iq = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    iv = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 0]])
    for got, expected in zip(model([iq, iv]), ref([iq, iv])):
        _close(got, expected)


@pytest.mark.oracle
def test_config_round_trips(oracle):
    layer = layers.MultiHeadAttention(
        4, 8, value_dim=6, dropout=0.1, use_bias=False, output_shape=(3, 2), attention_axes=(1, 2),
        kernel_initializer="he_normal", kernel_regularizer="l2", sliding_window=3, seed=2, name="m",
    )
    config = layer.get_config()
    assert layers.MultiHeadAttention.from_config(config).get_config() == config
    ref = oracle.layers.MultiHeadAttention(
        4, 8, value_dim=6, dropout=0.1, use_bias=False, output_shape=(3, 2), attention_axes=(1, 2),
        kernel_initializer="he_normal", kernel_regularizer="l2", sliding_window=3, seed=2, name="m",
    )
    assert list(config) == list(ref.get_config())
    restored = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(restored, layers.MultiHeadAttention)
    assert restored.get_config() == config
    # Keras normalizes `attention_axes` when building; so does Lamina.
    built = layers.MultiHeadAttention(2, 3)
    built.build((None, 4, 6), (None, 5, 6))
    assert built.get_config()["attention_axes"] == (1,)


def test_symbolic_shapes_and_functional_model():
    q = lamina.Input((None, 6))
    v = lamina.Input((7, 5))
    layer = layers.MultiHeadAttention(2, 3, output_shape=4)
    out, scores = layer(q, v, return_attention_scores=True)
    assert out.shape == (None, None, 4)
    assert scores.shape == (None, 2, None, 7)
    assert layer(query=q, value=v, key=v).shape == (None, None, 4)
    model = lamina.Model([q, v], [out, scores])
    a, b = model([np.ones((2, 3, 6), "float32"), np.ones((2, 7, 5), "float32")])
    assert tuple(a.shape) == (2, 3, 4) and tuple(b.shape) == (2, 2, 3, 7)
    assert layer.get_build_config() == {"shapes_dict": {"query_shape": (None, None, 6), "value_shape": (None, 7, 5)}}


def test_self_attention_keyword_call_and_torch_inputs():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(2, 5, 8)
    out = layer(query=x, value=x)
    assert out.shape == (2, 5, 8)
    torch.testing.assert_close(layer(x, x, x), out)
    out.sum().backward()
    assert layer.query_dense.kernel.grad is not None


def test_fused_and_explicit_paths_agree():
    x = torch.randn(3, 6, 8)
    mask = torch.rand(3, 6, 6) > 0.3
    layer = layers.MultiHeadAttention(2, 4, value_dim=3)
    explicit = layers.MultiHeadAttention(2, 4, value_dim=3, flash_attention=False)
    layer(x, x)
    explicit(x, x)
    explicit.set_weights(layer.get_weights())
    for kwargs in ({}, {"attention_mask": mask}, {"use_causal_mask": True}, {"attention_mask": mask, "use_causal_mask": True}):
        torch.testing.assert_close(layer(x, x, **kwargs), explicit(x, x, **kwargs), rtol=1e-5, atol=1e-5)


def test_dropout_training_and_inference():
    x = torch.randn(2, 5, 8)
    layer = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=3)
    inference = layer(x, x)
    torch.testing.assert_close(layer(x, x, training=False), inference)
    assert not torch.allclose(layer(x, x, training=True), inference)
    assert layer.get_config()["seed"] == 3


def test_invalid_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match="key_dim"):
        layers.MultiHeadAttention(2, "4")
    with pytest.raises(ValueError, match="value_dim"):
        layers.MultiHeadAttention(2, 4, value_dim=-1)
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 4, attention_axes="1")
    with pytest.raises(ValueError, match="sliding_window"):
        layers.MultiHeadAttention(2, 4, sliding_window=0)
    with pytest.raises(ValueError, match="output_shape"):
        layers.MultiHeadAttention(2, 4, output_shape="x")
    with pytest.raises(ValueError, match="Dropout is not supported"):
        layers.MultiHeadAttention(2, 4, dropout=0.1, flash_attention=True)


def test_call_errors_name_the_layer():
    layer = layers.MultiHeadAttention(2, 4, name="att")
    layer(np.ones((1, 3, 8), "float32"), np.ones((1, 4, 8), "float32"))
    with pytest.raises(ValueError, match=r"'att'.*expected shape=\(1, 4, 8\), found shape=\(1, 4, 5\)"):
        layer(np.ones((1, 3, 8), "float32"), np.ones((1, 4, 5), "float32"))
    with pytest.raises(ValueError, match="'att'.*`value`"):
        layer(np.ones((1, 3, 8), "float32"))
    with pytest.raises(ValueError, match="'other'.*value` and `key`"):
        layers.MultiHeadAttention(2, 4, name="other")(np.ones((1, 3, 8)), np.ones((1, 4, 8)), np.ones((1, 5, 8)))
    flash = layers.MultiHeadAttention(2, 4, flash_attention=True)
    with pytest.raises(ValueError, match="flash attention"):
        flash(np.ones((1, 3, 8), "float32"), np.ones((1, 3, 8), "float32"), return_attention_scores=True)


def test_round_trip_save_load(tmp_path):
    q, v = lamina.Input((4, 6)), lamina.Input((5, 6))
    out = layers.MultiHeadAttention(2, 3, use_gate=True, name="mha")(q, v, use_causal_mask=True)
    model = lamina.Model([q, v], out)
    path = tmp_path / "mha.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = _data((2, 4, 6), (2, 5, 6))
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.get_config() == model.get_config()


def _interop_model(lib):
    q, v = lib.Input((4, 6), name="q"), lib.Input((5, 7), name="v")
    mha = lib.layers.MultiHeadAttention(
        2, 3, value_dim=4, use_gate=True, dropout=0.1, kernel_initializer="zeros", name="mha"
    )
    out = lib.layers.Dense(3, kernel_initializer="zeros", name="head")(mha(q, v, use_causal_mask=True))
    model = lib.Model([q, v], out, name="m")
    model.set_weights(_data(*[tuple(w.shape) for w in model.weights], seed=2))
    return model


@pytest.mark.oracle
def test_keras_saved_model_loads_in_lamina(oracle, tmp_path):
    ref = _interop_model(oracle)
    path = tmp_path / "keras.keras"
    ref.save(path)
    model = lamina.models.load_model(path)
    x = _data((2, 4, 6), (2, 5, 7))
    _close(model(x), ref(x))
    wpath = tmp_path / "keras.weights.h5"
    ref.save_weights(wpath)
    fresh = _interop_model(lamina)
    fresh.load_weights(wpath)
    _close(fresh(x), ref(x))


@pytest.mark.oracle
def test_lamina_saved_model_loads_in_keras(oracle, tmp_path):
    model = _interop_model(lamina)
    path = tmp_path / "lamina.keras"
    model.save(path)
    ref = oracle.models.load_model(path)
    x = _data((2, 4, 6), (2, 5, 7))
    _close(model(x), ref(x))
    wpath = tmp_path / "lamina.weights.h5"
    model.save_weights(wpath)
    other = _interop_model(oracle)
    other.load_weights(wpath)
    _close(model(x), other(x))
