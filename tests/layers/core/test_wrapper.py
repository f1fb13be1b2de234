"""Tests for lamina.layers.core.wrapper.Wrapper and the wrappers built on it."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class Doubled(layers.Wrapper):
    def call(self, inputs):
        return 2 * self.layer(inputs)


def test_holds_builds_and_owns_the_inner_layer():
    inner = layers.Dense(3)
    wrapper = Doubled(inner)
    assert wrapper.layer is inner and not inner.built
    wrapper.build((None, 4))
    assert inner.built and inner.get_build_config() == {"input_shape": (None, 4)}
    assert [w.name for w in wrapper.weights] == ["kernel", "bias"]
    assert [id(w) for w in wrapper.trainable_weights] == [id(w) for w in inner.weights]
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(wrapper(x).detach().numpy(), 2 * inner(x).detach().numpy())
    wrapper.trainable = False
    assert wrapper.trainable_weights == [] and not inner.trainable


def test_symbolic_call_and_model():
    inputs = lamina.Input((4,))
    outputs = Doubled(layers.Dense(3))(inputs)
    assert outputs.shape == (None, 3)
    model = lamina.Model(inputs, outputs)
    assert len(model.trainable_weights) == 2


@pytest.mark.oracle
def test_config_matches_oracle_and_round_trips(oracle):
    k = oracle.layers.Wrapper(oracle.layers.Dense(2, name="d"), name="w")
    ours = layers.Wrapper(layers.Dense(2, name="d"), name="w")
    config, theirs = ours.get_config(), k.get_config()
    # Dense's own config differences (quantization_config...) are Dense's tests' business.
    assert {**config, "layer": None} == {**theirs, "layer": None}
    for key in ("module", "class_name", "registered_name"):
        assert config["layer"][key] == theirs["layer"][key]
    assert config["layer"]["config"]["units"] == theirs["layer"]["config"]["units"] == 2
    again = layers.Wrapper.from_config(config)
    assert isinstance(again.layer, layers.Dense) and again.get_config() == config
    restored = layers.deserialize(oracle.layers.serialize(k))
    assert type(restored) is layers.Wrapper and restored.get_config() == config


@pytest.mark.oracle
def test_build_records_inner_build_config_like_oracle(oracle):
    k = oracle.layers.Wrapper(oracle.layers.Dense(2, name="d"), name="w")
    k.build((None, 3))
    ours = layers.Wrapper(layers.Dense(2, name="d"), name="w")
    ours.build((None, 3))
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in k.weights]
    want = oracle.layers.serialize(k)["config"]["layer"]["build_config"]
    assert lamina.layers.serialize(ours)["config"]["layer"]["build_config"] == want == {"input_shape": (None, 3)}


def test_subclass_config_round_trip_with_custom_objects():
    layer = Doubled(layers.Dense(2))
    layer.build((None, 3))
    config = layers.serialize(layer)
    restored = layers.deserialize(config, custom_objects={"Doubled": Doubled})
    assert isinstance(restored, Doubled) and isinstance(restored.layer, layers.Dense)
    assert restored.layer.built


def test_is_abstract_and_validates_the_layer():
    with pytest.raises(NotImplementedError, match="'w'.*call"):
        layers.Wrapper(layers.Dense(2), name="w")(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="supported layer type"):
        layers.Wrapper(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="supported layer type"):
        Doubled("dense")


def test_existing_wrappers_are_wrappers():
    lstm = layers.LSTM(2)
    wrappers = [
        layers.TimeDistributed(layers.Dense(2)),
        layers.Bidirectional(lstm),
        layers.SpectralNormalization(layers.Dense(2)),
    ]
    assert all(isinstance(w, layers.Wrapper) for w in wrappers)
    bidirectional = wrappers[1]
    # Bidirectional keeps the original layer as `layer` but trains and saves only its copies.
    assert bidirectional.layer is lstm
    assert all(m is not lstm for m in bidirectional.modules())
    assert bidirectional.get_config()["layer"]["config"]["name"] == "forward_" + lstm.name


def test_bidirectional_does_not_track_a_built_original():
    lstm = layers.LSTM(2)
    lstm(np.ones((1, 3, 4), "float32"))
    layer = layers.Bidirectional(lstm)
    layer(np.ones((1, 3, 4), "float32"))
    assert len(layer.weights) == 6
    assert {id(w) for w in layer.weights}.isdisjoint({id(w) for w in lstm.weights})
