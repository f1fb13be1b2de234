"""Call-path patterns found by running real Keras programs (keras-io examples, Keras 2 scripts)."""

import numpy as np
import pytest

import lamina as keras
from lamina import layers


def _endpoint_class(lib):
    class Endpoint(lib.layers.Layer):
        # The inputs are named `logits`, and callers pass every argument by keyword.
        def call(self, logits, targets=None, sample_weight=None):
            out = lib.ops.softmax(logits)
            return out if targets is None else out * targets

    return Endpoint


@pytest.mark.oracle
def test_inputs_passed_by_keyword_bind_to_calls_first_parameter(oracle):
    logits = np.random.rand(3, 2).astype("float32")
    targets = np.random.rand(3, 2).astype("float32")
    expected = np.asarray(_endpoint_class(oracle)()(logits=logits, targets=targets))
    layer = _endpoint_class(keras)()
    np.testing.assert_allclose(np.asarray(layer(logits=logits, targets=targets)), expected, rtol=1e-6)
    symbolic = layer(logits=keras.Input((2,)), targets=keras.Input((2,)))
    assert symbolic.shape == (None, 2)


def test_keyword_inputs_missing_names_the_parameter():
    layer = _endpoint_class(keras)()
    with pytest.raises(TypeError, match="called without inputs.*`logits`"):
        layer(targets=np.ones((1, 2), "float32"))
    # `inputs=` keeps working for layers whose `call` names it so.
    assert tuple(layers.Dense(2)(inputs=np.ones((1, 3), "float32")).shape) == (1, 2)


def _weighted_class(lib):
    class Weighted(lib.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="random_normal")

        def call(self, x):
            return lib.ops.matmul(x, self.w)

    return Weighted


@pytest.mark.oracle
def test_calling_build_directly_leaves_the_layer_built(oracle):
    # `layer.build(shape)` then `set_weights` then a call: the call must not build again.
    x = np.ones((1, 3), "float32")
    theirs = _weighted_class(oracle)()
    theirs.build((None, 3))
    ours = _weighted_class(keras)()
    ours.build((None, 3))
    assert ours.built and theirs.built
    for layer in (ours, theirs):
        layer.set_weights([np.arange(6, dtype="float32").reshape(3, 2)])
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)))
    assert len(ours.weights) == 1
    assert ours.get_build_config() == {"input_shape": (None, 3)}
    # Inside a model, a directly built layer is used as it is.
    model = keras.Sequential([keras.Input((3,)), ours])
    np.testing.assert_allclose(model.predict(x, verbose=0), [[6.0, 9.0]])


def _holder_class(lib):
    class Holder(lib.layers.Layer):
        # Keras 3 guide pattern: sublayers returned as objects from `get_config`.
        def __init__(self, first_layer, **kwargs):
            super().__init__(**kwargs)
            self.first_layer = first_layer

        def get_config(self):
            return {**super().get_config(), "first_layer": self.first_layer}

        def call(self, x):
            return self.first_layer(x)

    return Holder


@pytest.mark.oracle
def test_layer_objects_in_a_custom_get_config_are_serialized(oracle, tmp_path):
    def config_of(lib):
        inputs = lib.Input((4,))
        model = lib.Model(inputs, _holder_class(lib)(lib.layers.Dense(2, name="inner"), name="holder")(inputs))
        return model, model.get_config()["layers"][1]["config"]["first_layer"]

    model, ours = config_of(keras)
    _, theirs = config_of(oracle)
    assert (ours["class_name"], ours["module"], ours["config"]["units"]) == (theirs["class_name"], theirs["module"], 2)
    model.save(str(tmp_path / "m.keras"))  # the config is JSON
