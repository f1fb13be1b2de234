"""LoRA on Conv1D / Conv2D / Conv3D against Keras 3 (JAX)."""

import numpy as np
import pytest
import torch

import lamina

CASES = [
    ("Conv1D", (None, 7, 3), {}),
    ("Conv2D", (None, 6, 6, 4), {"groups": 2}),
    ("Conv2D", (None, 3, 6, 6), {"data_format": "channels_first", "use_bias": False}),
    ("Conv3D", (None, 4, 4, 4, 2), {"strides": 2}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name, input_shape, kwargs", CASES)
def test_lora_matches_keras(oracle, name, input_shape, kwargs):
    rng = np.random.default_rng(0)
    k = getattr(oracle.layers, name)(4, 3, padding="same", activation="relu", **kwargs)
    l = getattr(lamina.layers, name)(4, 3, padding="same", activation="relu", **kwargs)
    k.build(input_shape)
    l.build(input_shape)
    k.enable_lora(2, lora_alpha=3.0)
    l.enable_lora(2, lora_alpha=3.0)
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert [tuple(w.shape) for w in l.weights] == [tuple(w.shape) for w in k.weights]
    assert [w.path for w in l.trainable_weights] == [w.path for w in k.trainable_weights]
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), rtol=1e-5, atol=1e-5)
    x = rng.standard_normal((2,) + input_shape[1:]).astype("float32")
    np.testing.assert_allclose(l(x).detach().numpy(), np.asarray(k(x)), rtol=1e-4, atol=1e-4)
    saved_k, saved_l = {}, {}
    k.save_own_variables(saved_k)
    l.save_own_variables(saved_l)
    assert list(saved_l) == list(saved_k)
    for key in saved_k:
        np.testing.assert_allclose(np.asarray(saved_l[key]), np.asarray(saved_k[key]), rtol=1e-5, atol=1e-6)


def _model(lib, **kwargs):
    return lib.Sequential(
        [lib.Input((8, 8, 3)), lib.layers.Conv2D(4, 3, activation="relu", **kwargs), lib.layers.Flatten(),
         lib.layers.Dense(2)]
    )


@pytest.mark.oracle
def test_lora_model_files_both_ways(oracle, tmp_path):
    k, l = _model(oracle, lora_rank=2), _model(lamina, lora_rank=2)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)
    x = rng.standard_normal((3, 8, 8, 3)).astype("float32")
    expected = k.predict(x, verbose=0)
    np.testing.assert_allclose(l.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    k.save(tmp_path / "k.keras")
    l.save(tmp_path / "l.keras")
    from_keras = lamina.models.load_model(tmp_path / "k.keras")
    assert from_keras.layers[0].lora_enabled
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        oracle.models.load_model(tmp_path / "l.keras").predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4
    )
    # A LoRA layer saves the merged kernel: a plain model loads it.
    l.save_weights(tmp_path / "l.weights.h5")
    plain = _model(oracle)
    plain.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(plain.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    k.save_weights(tmp_path / "k.weights.h5")
    l2 = _model(lamina, lora_rank=2)
    l2.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(l2.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    assert not np.any(l2.layers[0].lora_kernel_b.detach().numpy())


def test_lora_trains_only_the_factors_and_errors():
    layer = lamina.layers.Conv1D(3, 2, lora_rank=2, kernel_regularizer="l2")
    layer.build((None, 5, 4))
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    assert len(layer.losses) == 2  # The frozen kernel's penalty no longer counts, as in Keras.
    layer(torch.ones(1, 5, 4)).sum().backward()
    assert layer._kernel.grad is None and layer.lora_kernel_a.grad is not None
    config = layer.get_config()
    assert config["lora_rank"] == 2 and config["lora_alpha"] == 2
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="isn't yet built"):
        lamina.layers.Conv2D(2, 2).enable_lora(2)
    constrained = lamina.layers.Conv2D(2, 2, kernel_constraint="non_neg")
    constrained.build((None, 4, 4, 1))
    with pytest.raises(ValueError, match="constraint"):
        constrained.enable_lora(2)
    with pytest.raises(ValueError, match="lora_rank"):
        lamina.layers.Conv3D(2, 2, lora_rank=-1)
