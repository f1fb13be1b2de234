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
