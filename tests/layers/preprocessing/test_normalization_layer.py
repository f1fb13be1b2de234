"""Tests for lamina.layers.Normalization."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


RNG = np.random.default_rng(0)
X = (RNG.standard_normal((40, 3)) * [1.0, 4.0, 0.5] + [2.0, -1.0, 10.0]).astype("float32")
X3 = RNG.standard_normal((6, 4, 5)).astype("float32") * 3 + 1


@pytest.mark.oracle
@pytest.mark.parametrize("axis, data", [(-1, X), (None, X), (1, X3), ((1, 2), X3), (-1, X3)])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_adapt_matches_oracle(oracle, axis, data, invert):
    k = oracle.layers.Normalization(axis=axis, invert=invert)
    k.adapt(data)
    ours = layers.Normalization(axis=axis, invert=invert)
    ours.adapt(data)
    assert [(w.name, tuple(w.shape), w.dtype_name) for w in ours.weights] == [
        (w.name, tuple(w.shape), w.dtype) for w in k.weights
    ]
    for a, b in zip(ours.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        assert a.dtype == b.dtype
    np.testing.assert_allclose(ours(data).numpy(), np.asarray(k(data)), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("mean, variance, axis", [(3.0, 2.0, -1), ([1.0, 2.0, 3.0], [1.0, 4.0, 9.0], -1), (0.5, 4.0, None)])
def test_normalization_given_statistics_match_oracle(oracle, mean, variance, axis):
    k = oracle.layers.Normalization(axis=axis, mean=mean, variance=variance, name="n")
    ours = layers.Normalization(axis=axis, mean=mean, variance=variance, name="n")
    np.testing.assert_allclose(ours(X).numpy(), np.asarray(k(X)), rtol=1e-6, atol=1e-6)
    assert ours.weights == [] and k.weights == []
    assert ours.get_config() == k.get_config()
    ints = np.arange(6, dtype="int32").reshape(2, 3)
    np.testing.assert_allclose(ours(ints).numpy(), np.asarray(k(ints)), rtol=1e-6)


@pytest.mark.oracle
def test_normalization_config_and_deserialize(oracle):
    k = oracle.layers.Normalization(axis=(1, 2), invert=True, name="norm")
    ours = layers.Normalization(axis=(1, 2), invert=True, name="norm")
    assert ours.get_config() == k.get_config()
    for layer in (layers.Normalization.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.Normalization)
        assert tuple(layer.axis) == (1, 2) and layer.invert and layer.name == "norm"


def test_normalization_adapt_input_kinds_agree():
    expected_mean, expected_var = X.mean(axis=0), X.var(axis=0)

    def loader():
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.zeros(40))
        return torch.utils.data.DataLoader(dataset, batch_size=7)

    kinds = {
        "numpy": dict(data=X),
        "torch": dict(data=torch.from_numpy(X)),
        "list_of_numbers": dict(data=X.tolist()),
        "list_of_batches": dict(data=[X[:5], X[5:23], X[23:]]),
        "generator": dict(data=(X[i : i + 8] for i in range(0, 40, 8))),
        "xy_batches": dict(data=[(X[:20], None), (X[20:], None)]),
        "dataloader": dict(data=loader()),
        "batch_size": dict(data=X, batch_size=6),
    }
    for name, kwargs in kinds.items():
        layer = layers.Normalization()
        layer.adapt(**kwargs)
        mean, var, count = layer.get_weights()
        np.testing.assert_allclose(mean, expected_mean, rtol=1e-5, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(var, expected_var, rtol=1e-5, atol=1e-5, err_msg=name)
        assert count == 0
    layer = layers.Normalization()
    layer.adapt(X, batch_size=10, steps=2)
    np.testing.assert_allclose(layer.get_weights()[0], X[:20].mean(axis=0), rtol=1e-5)


def test_normalization_readapt_set_weights_and_finalize():
    layer = layers.Normalization()
    layer.adapt(X)
    layer.adapt(X * 2)
    np.testing.assert_allclose(layer.get_weights()[0], 2 * X.mean(axis=0), rtol=1e-5)
    layer.set_weights([np.zeros(3, "float32"), np.full(3, 4.0, "float32"), np.array(0, "int32")])
    layer.finalize_state()
    np.testing.assert_allclose(layer(X).numpy(), X / 2.0, rtol=1e-6)


def test_normalization_unadapted_is_identity_and_constant_feature():
    np.testing.assert_allclose(layers.Normalization()(X).numpy(), X)
    layer = layers.Normalization()
    data = np.stack([np.full(5, 3.0), np.arange(5.0)], axis=1).astype("float32")
    layer.adapt(data)
    out = layer(data).numpy()
    assert np.all(np.isfinite(out)) and np.all(out[:, 0] == 0)


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=1.0)
    with pytest.raises(ValueError, match="rank of `mean`"):
        layers.Normalization(mean=[[1.0]], variance=[[1.0]])
    with pytest.raises(ValueError, match="axis"):
        layers.Normalization(axis="last")
    with pytest.raises(ValueError, match="range"):
        layers.Normalization(axis=3).adapt(X)
    with pytest.raises(ValueError, match="known size"):
        layers.Normalization()(lamina.Input((None,)))
    layer = layers.Normalization()
    layer.adapt(X)
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.zeros((4, 5), "float32"))
    with pytest.raises(ValueError, match="normalization.*\\(2, 5\\)"):
        layer(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match="no statistics to adapt"):
        layers.Normalization(mean=1.0, variance=1.0).adapt(X)
    with pytest.raises(ValueError, match="no data"):
        layers.Normalization().adapt(iter([]))
    with pytest.raises(TypeError, match="adapt"):
        layers.Normalization().adapt("abc")
    with pytest.raises(ValueError, match="broadcast"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 2.0])(X)


def test_normalization_symbolic_mask_and_fit():
    y = layers.Normalization(axis=-1)(lamina.Input((5, 3)))
    assert y.shape == (None, 5, 3)
    norm = layers.Normalization()
    norm.adapt(X)
    model = lamina.Sequential([lamina.Input((3,)), norm, layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    target = (X @ np.array([[0.5], [-0.25], [1.0]], "float32")).astype("float32")
    before = norm.get_weights()
    history = model.fit(X, target, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    for a, b in zip(before, norm.get_weights()):
        np.testing.assert_array_equal(a, b)  # statistics are not trained
    assert norm.trainable_weights == [] and len(norm.non_trainable_weights) == 3
    x = np.ones((2, 3, 3), "float32")
    x[0, 1] = 0
    out = layers.Normalization(mean=0.0, variance=1.0)(layers.Masking()(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True], [True, True, True]])


def test_normalization_adapted_model_save_load(tmp_path):
    norm = layers.Normalization(axis=-1)
    norm.adapt(X)
    model = lamina.Sequential([lamina.Input((3,)), norm, layers.Dense(2)])
    model.save(tmp_path / "n.keras")
    loaded = lamina.models.load_model(tmp_path / "n.keras")
    np.testing.assert_allclose(loaded(X).detach().numpy(), model(X).detach().numpy(), rtol=1e-6)
    for a, b in zip(loaded.layers[0].get_weights(), norm.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
def test_normalization_keras_interop(oracle, tmp_path):
    k = oracle.layers.Normalization()
    k.adapt(X)
    ref = oracle.Sequential([oracle.Input((3,)), k, oracle.layers.Dense(2)])
    ref.save(tmp_path / "k.keras")
    model = lamina.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(model(X).detach().numpy(), np.asarray(ref(X)), rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "l.keras")
    back = oracle.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(np.asarray(back(X)), np.asarray(ref(X)), rtol=1e-5, atol=1e-5)
