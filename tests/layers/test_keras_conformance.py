"""Conformance with Keras on facts its own tests check: when a layer counts as built, seed
generators as layer state, tuples in configs, and which data ``fit`` accepts."""

import inspect
import json
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops

# Minimal constructor arguments, tried in order, for a layer class of either library.
_TRIALS = [(), (2,), (2, 2), ((2,),), ("ab,bc->ac",), (0.5,), (4, 3), ("relu",)]


def _construct(cls):
    for args in _TRIALS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return cls(*args)
        except Exception:
            continue
    return None


@pytest.mark.oracle
def test_built_after_construction_matches_keras_for_every_layer_class(oracle):
    compared, differ = 0, []
    for name in sorted(dir(oracle.layers)):
        keras_cls = getattr(oracle.layers, name)
        if not (inspect.isclass(keras_cls) and issubclass(keras_cls, oracle.layers.Layer)):
            continue
        lamina_cls = getattr(layers, name, None)
        if lamina_cls is None:
            continue
        keras_layer, lamina_layer = _construct(keras_cls), _construct(lamina_cls)
        if keras_layer is None or lamina_layer is None:
            continue
        compared += 1
        if bool(keras_layer.built) != bool(lamina_layer.built):
            differ.append((name, keras_layer.built, lamina_layer.built))
    assert compared > 120
    assert differ == []


def test_stateless_layer_with_its_own_build_is_not_built_at_construction():
    class Custom(layers.MaxPooling2D):
        def build(self, input_shape):
            self.built = True

    assert layers.MaxPooling2D().built
    assert not Custom().built
    assert layers.GlobalAveragePooling3D().get_build_config() is None


# --- seed generators --------------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Dropout", {"rate": 0.5}),
        ("Dropout", {"rate": 0.0}),
        ("SpatialDropout2D", {"rate": 0.5}),
        ("GaussianNoise", {"stddev": 0.1}),
        ("GaussianNoise", {"stddev": 0.0}),
        ("GaussianDropout", {"rate": 0.3}),
        ("AlphaDropout", {"rate": 0.3}),
        ("SimpleRNN", {"units": 3, "dropout": 0.5, "recurrent_dropout": 0.5}),
        ("LSTM", {"units": 3}),
        ("GRU", {"units": 3, "dropout": 0.2}),
        ("Attention", {"dropout": 0.1}),
        ("Attention", {}),
        ("MultiHeadAttention", {"num_heads": 2, "key_dim": 2, "dropout": 0.1}),
        ("RandomFlip", {}),
        ("RandomZoom", {"height_factor": 0.2}),
        ("RandomContrast", {"factor": 0.2}),
    ],
)
def test_seed_generator_counts_and_state_match_keras(oracle, name, kwargs):
    def generators(layer, keras_side):
        out, seen = [], set()
        subs = layer._flatten_layers(True, True) if keras_side else layer._flatten_layers(include_self=True)
        for sub in subs:
            found = sub._seed_generators if keras_side else sub.__dict__.get("_seed_generators", ())
            for g in found:
                if id(g) not in seen:
                    seen.add(id(g))
                    out.append(g)
        return out

    keras_layer = getattr(oracle.layers, name)(**kwargs)
    lamina_layer = getattr(layers, name)(**kwargs)
    assert len(generators(lamina_layer, False)) == len(generators(keras_layer, True))
    for g in generators(lamina_layer, False):
        # Keras's state: a non-trainable (2,) uint32 variable, listed in `variables`.
        assert tuple(g.state.shape) == (2,) and g.state.dtype == torch.uint32
        assert any(v is g.state for v in lamina_layer.non_trainable_variables)
        assert not any(v is g.state for v in lamina_layer.weights)


def test_seeded_dropout_is_reproducible_and_advances_its_state():
    x = torch.ones(4, 16)
    a, b = layers.Dropout(0.5, seed=7), layers.Dropout(0.5, seed=7)
    first = a(x, training=True)
    torch.testing.assert_close(first, b(x, training=True))
    assert a.seed_generator.state.numpy().tolist() == [7, 1]
    assert not torch.equal(a(x, training=True), first)
    # Rewinding the state replays the stream.
    a.seed_generator.state.assign(np.array([7, 0], "uint32"))
    torch.testing.assert_close(a(x, training=True), first)
    torch.testing.assert_close(a(x, training=False), x)


@pytest.mark.oracle
def test_weights_files_hold_no_seed_state_both_ways(oracle, tmp_path):
    keras_model = oracle.Sequential([oracle.Input((4,)), oracle.layers.Dense(3), oracle.layers.Dropout(0.5)])
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dropout(0.5)])
    assert len(model.non_trainable_variables) == len(keras_model.non_trainable_variables) == 1
    keras_model.save_weights(tmp_path / "k.weights.h5")
    model.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(model.get_weights()[0], keras_model.get_weights()[0])
    model.save_weights(tmp_path / "l.weights.h5")
    keras_model.load_weights(tmp_path / "l.weights.h5")
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(keras_model(x)), rtol=1e-5)


# --- tuples in configs --------------------------------------------------------------------------
@pytest.mark.oracle
def test_serialization_keeps_tuples_like_keras(oracle):
    lamina_layer = lamina.saving.deserialize_keras_object(
        lamina.saving.serialize_keras_object(layers.RandomZoom(height_factor=(-0.5, -0.5)))
    )
    keras_layer = oracle.saving.deserialize_keras_object(
        oracle.saving.serialize_keras_object(oracle.layers.RandomZoom(height_factor=(-0.5, -0.5)))
    )
    assert lamina_layer.height_factor == keras_layer.height_factor == (-0.5, -0.5)
    for value in [(1, 2), {"a": (1, [2, (3,)])}, [(1, 2)]]:
        assert lamina.saving.serialize_keras_object(value) == oracle.saving.serialize_keras_object(value)
    # A config read from JSON (tuples written as lists) in Keras's legacy tuple form.
    legacy = {"class_name": "__tuple__", "config": {"value": [2, 2]}}
    assert lamina.saving.deserialize_keras_object(legacy) == (2, 2)


@pytest.mark.oracle
def test_op_node_configs_match_keras_json(oracle):
    x = lamina.Input((8, 8, 3))
    model = lamina.Model(x, lamina.ops.max_pool(x, (2, 2)))
    kx = oracle.Input((8, 8, 3))
    keras_model = oracle.Model(kx, oracle.ops.max_pool(kx, (2, 2)))
    ours = json.loads(json.dumps(model.get_config()["layers"][1]["config"]))
    theirs = json.loads(json.dumps(keras_model.get_config()["layers"][1]["config"]))
    assert ours["pool_size"] == theirs["pool_size"] == [2, 2]
    assert isinstance(model.get_config()["layers"][1]["config"]["pool_size"], tuple)


# --- fit accepts what Keras accepts -------------------------------------------------------------
class _Wrap(lamina.Model):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def call(self, x, training=False):
        return self.layer(x, training=training)


class _SumLoss(lamina.losses.Loss):
    def __call__(self, y_true, y_pred, sample_weight=None):
        return ops.sum(y_pred)


def test_fit_trains_a_subclassed_model_on_unbatched_audio_as_keras_does():
    layer = layers.MelSpectrogram(num_mel_bins=80, sampling_rate=8000, sequence_stride=128, fft_length=2048)
    x = np.random.default_rng(0).random(16000).astype("float32")
    y = np.asarray(layer(x))
    assert y.shape == (80, 126)
    model = _Wrap(layer)
    model.compile(optimizer="sgd", loss=_SumLoss())

    def batches():
        while True:
            yield x, y

    history = model.fit(batches(), steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_fit_still_refuses_mismatched_batches_for_graph_models():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="cardinality"):
        model.fit(iter([(np.ones((8, 4), "float32"), np.ones((3, 1), "float32"))]), verbose=0)


# --- smaller deviations the replay found ----------------------------------------------------------
@pytest.mark.oracle
def test_unit_normalization_under_mixed_float16_matches_keras(oracle):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    ours = layers.UnitNormalization(dtype="mixed_float16")(x)
    theirs = oracle.layers.UnitNormalization(dtype="mixed_float16")(x)
    assert ours.dtype == torch.float16
    np.testing.assert_allclose(np.asarray(ours, "float32"), np.asarray(theirs, "float32"), rtol=2e-3)


def test_symbolic_call_with_inputs_passed_by_keyword_only():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    out = layer(query=lamina.KerasTensor((None, 4, 3)), value=lamina.KerasTensor((None, 5, 3)))
    assert tuple(out.shape) == (None, 4, 3)
