"""Keras 1's functional ``merge(inputs, mode=...)`` as Keras 2.0-2.1 kept it, reached as
``keras.layers.merge`` (which stays the Keras 2 module ``keras.layers.merge`` too)."""

import numpy as np
import pytest

import lamina
from lamina import layers

MODES = {
    "sum": lambda o: o.layers.Add(),
    "mul": lambda o: o.layers.Multiply(),
    "ave": lambda o: o.layers.Average(),
    "max": lambda o: o.layers.Maximum(),
    "concat": lambda o: o.layers.Concatenate(axis=1),
    "dot": lambda o: o.layers.Dot(axes=-1),
    "cos": lambda o: o.layers.Dot(axes=-1, normalize=True),
}


@pytest.mark.oracle
@pytest.mark.parametrize("mode", sorted(MODES))
def test_merge_mode_matches_the_keras_layer(oracle, mode):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(3, 5)).astype("float32"), rng.normal(size=(3, 5)).astype("float32")
    a, b = lamina.Input((5,)), lamina.Input((5,))
    with pytest.warns(UserWarning, match="The `merge` function is deprecated"):
        out = layers.merge([a, b], mode=mode, concat_axis=1)
    ours = np.asarray(lamina.Model([a, b], out).predict([x1, x2], verbose=0))
    expected = np.asarray(MODES[mode](oracle)([x1, x2]))
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


def test_merge_with_a_function_mode_trains_in_a_keras1_script():
    a, b = lamina.Input((4,)), lamina.Input((4,))
    with pytest.warns(UserWarning):
        h = layers.merge([layers.Dense(3)(a), layers.Dense(3)(b)], mode=lambda xs: xs[0] - xs[1], output_shape=(3,))
        model = lamina.Model(input=[a, b], output=layers.Dense(1)(h))
    model.compile("sgd", "mse")
    history = model.fit([np.ones((4, 4)), np.zeros((4, 4))], np.ones((4, 1)), nb_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_merge_module_is_still_the_keras2_module():
    from lamina.layers.merge import Add, add

    assert layers.merge.Add is Add is layers.Add and add is layers.add


def test_merge_refuses_what_keras1_refused():
    a, b = lamina.Input((4,)), lamina.Input((4,))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="mode must be one of"):
        layers.merge([a, b], mode="min")
    with pytest.warns(UserWarning), pytest.raises(TypeError, match="at least 2 tensors"):
        layers.merge([a], mode="sum")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="exactly 2 tensors"):
        layers.merge([a, b, a], mode="dot")
