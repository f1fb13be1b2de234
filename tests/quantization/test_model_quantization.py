"""``model.quantize`` and saving of quantized / LoRA models, both ways with Keras 3 (JAX)."""

import numpy as np
import pytest

import lamina
from quant_oracle import copy_random_weights, model_pair, quantize


def _mlp(lib, **dense_kwargs):
    return lib.Sequential(
        [lib.Input((8,)), lib.layers.Dense(16, activation="relu", **dense_kwargs), lib.layers.Dense(4)]
    )


def _same_weights(oracle, seed=0, **dense_kwargs):
    rng = np.random.default_rng(seed)
    k, l = model_pair(oracle, lambda lib: _mlp(lib, **dense_kwargs), rng)
    return k, l, rng.standard_normal((5, 8)).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int8", "float8"])
def test_model_quantize_and_weights_files_both_ways(oracle, tmp_path, mode):
    k, l, x = _same_weights(oracle)
    quantize(k, l, mode)
    np.testing.assert_allclose(l.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    # Keras -> Lamina.
    k.save_weights(tmp_path / "k.weights.h5")
    l2 = _mlp(lamina)
    l2.quantize(mode)
    l2.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(l2.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    # Lamina -> Keras.
    l.save_weights(tmp_path / "l.weights.h5")
    k2 = _mlp(oracle)
    k2.quantize(mode)
    k2.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(k2.predict(x, verbose=0), l.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_quantized_keras_archive_loads_in_lamina(oracle, tmp_path):
    k, l, x = _same_weights(oracle)
    k.quantize("int8")
    k.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].dtype_policy.name == "int8_from_float32"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    l.quantize("int8")
    l.save(tmp_path / "l.keras")
    back = oracle.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), l.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_lora_model_saves_merged_kernel_like_keras(oracle, tmp_path):
    k, l, x = _same_weights(oracle, lora_rank=2)
    copy_random_weights(np.random.default_rng(3), k, l)
    assert len(l.trainable_weights) == len(k.trainable_weights)
    np.testing.assert_allclose(l.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    l.save_weights(tmp_path / "l.weights.h5")
    plain = _mlp(oracle)
    plain.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(plain.predict(x, verbose=0), l.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    k.save_weights(tmp_path / "k.weights.h5")
    l2 = _mlp(lamina, lora_rank=2)
    l2.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(l2.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert not np.any(l2.layers[0].lora_kernel_b.detach().numpy())


def test_quantize_filters_and_errors():
    model = _mlp(lamina)
    model.quantize("int8", filters=[model.layers[1].name])
    assert model.layers[0].quantization_mode is None
    assert model.layers[1].quantization_mode == "int8"
    with pytest.raises(ValueError, match="filters"):
        model.quantize("int8", filters=3)
    assert model.get_quantization_layer_structure("int8") is None


def test_float8_training_updates_scales():
    model = _mlp(lamina)
    model.quantize("float8")
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 8)).astype("float32"), rng.standard_normal((32, 4)).astype("float32")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    dense = model.layers[0]
    history = dense.inputs_amax_history.detach().numpy()
    # Keras's update rolls the history left, then writes the newest maximum at the front.
    np.testing.assert_allclose(history[0], np.abs(x[16:]).max(), rtol=1e-6)
    np.testing.assert_allclose(history[-1], np.abs(x[:16]).max(), rtol=1e-6)
    assert not np.any(history[1:-1])
    # The scale follows the history seen before the step: max / 448 after the first batch.
    np.testing.assert_allclose(dense.inputs_scale.item(), np.abs(x[:16]).max() / 448.0, rtol=1e-6)
    assert dense.outputs_grad_amax_history[0].item() > 0


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int8", "float8", "int4"])
def test_quantized_variables_keep_their_model_paths(oracle, mode):
    k, l, _ = _same_weights(oracle)
    k.quantize(mode)
    l.quantize(mode)
    assert [v.path for v in l.weights] == [v.path for v in k.weights]
    assert all(v.path.startswith(f"{l.name}/") for v in l.weights)
