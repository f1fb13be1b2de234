"""Tests for lamina.layers.preprocessing.pipeline.Pipeline."""

import numpy as np
import pytest

import lamina
from lamina import layers


@pytest.mark.oracle
def test_matches_oracle_and_keeps_masks(oracle):
    x = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], dtype="int32")
    k = oracle.layers.Pipeline(
        [oracle.layers.Embedding(5, 3, mask_zero=True), oracle.layers.LSTM(2)]
    )
    ours = layers.Pipeline([layers.Embedding(5, 3, mask_zero=True), layers.LSTM(2)])
    k(x)  # Keras's Pipeline.build does not build its layers; a call does.
    ours.build((None, 4))
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in k.weights]
    ours.set_weights(k.get_weights())
    # The Embedding's mask reaches the LSTM: padded steps are skipped.
    np.testing.assert_allclose(ours(x).detach().numpy(), np.asarray(k(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_config_matches_oracle_and_round_trips(oracle):
    k = oracle.layers.Pipeline([oracle.layers.Rescaling(0.5, name="r")], name="p")
    ours = layers.Pipeline([layers.Rescaling(0.5, name="r")], name="p")
    config = ours.get_config()
    assert set(config) == set(k.get_config()) == {"layers", "name"}
    assert config["layers"] == k.get_config()["layers"]
    again = layers.Pipeline.from_config(config)
    assert again.get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(k))
    assert isinstance(restored, layers.Pipeline) and restored.get_config() == config


@pytest.mark.oracle
def test_training_defaults_to_true_like_oracle(oracle):
    x = np.ones((4, 50), "float32")
    k = oracle.layers.Pipeline([oracle.layers.Dropout(0.5, seed=1)])
    ours = layers.Pipeline([layers.Dropout(0.5, seed=1)])
    # Called directly the pipeline runs its layers in training mode (augmentation on).
    assert np.any(np.asarray(k(x)) == 0) and np.any(ours(x).numpy() == 0)
    np.testing.assert_array_equal(np.asarray(k(x, training=False)), x)
    np.testing.assert_array_equal(ours(x, training=False).numpy(), x)


def test_in_a_model_trains_saves_and_predicts_in_inference(tmp_path):
    inputs = lamina.Input((6,))
    pipeline = layers.Pipeline([layers.Dense(4), layers.Dropout(0.9), layers.Dense(1)])
    outputs = pipeline(inputs)
    assert outputs.shape == (None, 1)
    model = lamina.Model(inputs, outputs)
    assert len(model.trainable_weights) == 4
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    model.fit(x, np.ones((16, 1), "float32"), epochs=1, verbose=0)
    # predict runs with training=False: Dropout is off, so results are reproducible.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    path = str(tmp_path / "pipeline.keras")
    model.save(path)
    restored = lamina.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_saved_layout_matches_keras(tmp_path):
    import h5py

    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Pipeline([layers.Dense(3), layers.Dense(2)])(inputs))
    path = str(tmp_path / "p.weights.h5")
    model.save_weights(path)
    names = []
    with h5py.File(path) as f:
        f.visit(names.append)
    assert "layers/pipeline/layers/dense/vars/0" in names
    assert "layers/pipeline/layers/dense_1/vars/1" in names


def test_string_pipeline():
    pipeline = layers.Pipeline([layers.StringLookup(vocabulary=["a", "b"]), layers.Embedding(3, 2)])
    out = pipeline(np.array([["a", "c", "b"]]))
    assert tuple(out.shape) == (1, 3, 2)


def test_empty_pipeline_is_identity():
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(layers.Pipeline([])(x).numpy(), x)


@pytest.mark.parametrize("bad", [layers.Dense(2), [layers.Dense(2), "relu"], None])
def test_invalid_layers(bad):
    with pytest.raises(ValueError, match="Pipeline"):
        layers.Pipeline(bad)
    with pytest.raises(ValueError, match="layers"):
        layers.Pipeline.from_config({"layers": "dense", "name": "p"})


def test_only_name_is_accepted():
    with pytest.raises(TypeError):
        layers.Pipeline([layers.Dense(2)], trainable=False)
