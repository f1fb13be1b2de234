"""LoRA on Conv1D / Conv2D / Conv3D against Keras 3 (JAX)."""

import numpy as np
import pytest
import torch

import lamina
from quant_oracle import (archives_both_ways, assert_predicts, assert_same_call, assert_same_saved_variables,
                          copy_random_weights, enable_lora, model_pair)

_TOLERANCE = dict(rtol=1e-4, atol=1e-4)
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
    enable_lora(k, l, 2, lora_alpha=3.0)
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    assert [tuple(w.shape) for w in l.weights] == [tuple(w.shape) for w in k.weights]
    assert [w.path for w in l.trainable_weights] == [w.path for w in k.trainable_weights]
    copy_random_weights(rng, k, l)
    np.testing.assert_allclose(l.kernel.detach().numpy(), np.asarray(k.kernel), rtol=1e-5, atol=1e-5)
    assert_same_call(l, k, rng.standard_normal((2,) + input_shape[1:]).astype("float32"), **_TOLERANCE)
    assert_same_saved_variables(l, k, rtol=1e-5, atol=1e-6)


def _model(lib, **kwargs):
    return lib.Sequential(
        [lib.Input((8, 8, 3)), lib.layers.Conv2D(4, 3, activation="relu", **kwargs), lib.layers.Flatten(),
         lib.layers.Dense(2)]
    )


@pytest.mark.oracle
def test_lora_model_files_both_ways(oracle, tmp_path):
    rng = np.random.default_rng(1)
    k, l = model_pair(oracle, lambda lib: _model(lib, lora_rank=2), rng)
    x = rng.standard_normal((3, 8, 8, 3)).astype("float32")
    expected = k.predict(x, verbose=0)
    assert_predicts(l, x, expected, _TOLERANCE)
    from_keras, _ = archives_both_ways(oracle, tmp_path, k, l, x, expected, _TOLERANCE)
    assert from_keras.layers[0].lora_enabled
    # A LoRA layer saves the merged kernel: a plain model loads it.
    l.save_weights(tmp_path / "l.weights.h5")
    plain = _model(oracle)
    plain.load_weights(tmp_path / "l.weights.h5")
    assert_predicts(plain, x, expected, _TOLERANCE)
    k.save_weights(tmp_path / "k.weights.h5")
    l2 = _model(lamina, lora_rank=2)
    l2.load_weights(tmp_path / "k.weights.h5")
    assert_predicts(l2, x, expected, _TOLERANCE)
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
