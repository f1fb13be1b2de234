"""Keras 2 layer module paths used the way Keras 2 programs use them (the names themselves are
checked in tests/test_keras2_surface.py)."""

import numpy as np
import pytest

import lamina
from lamina import backend as K


def test_keras2_style_program_with_old_import_paths():
    from lamina.layers.advanced_activations import LeakyReLU
    from lamina.layers.core import Dense, Dropout, Flatten, Reshape, SpatialDropout1D
    from lamina.layers.embeddings import Embedding
    from lamina.layers.merge import concatenate
    from lamina.layers.noise import GaussianNoise
    from lamina.layers.normalization import BatchNormalization
    from lamina.layers.recurrent import LSTM
    from lamina.layers.wrappers import Bidirectional, TimeDistributed

    tokens = lamina.Input((6,), dtype="int32")
    embedded = SpatialDropout1D(0.1)(Embedding(20, 4)(tokens))
    seq = Bidirectional(LSTM(3, return_sequences=True))(embedded)
    seq = TimeDistributed(Dense(2))(seq)
    flat = Flatten()(GaussianNoise(0.1)(seq))
    other = Reshape((12,))(Dropout(0.2)(seq))
    out = Dense(1, activation="sigmoid")(LeakyReLU()(BatchNormalization()(concatenate([flat, other]))))
    model = lamina.Model(tokens, out)
    model.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(0).integers(0, 20, (8, 6))
    model.fit(x, np.ones((8, 1)), epochs=1, verbose=0)
    restored = lamina.models.model_from_json(model.to_json())
    restored.set_weights(model.get_weights())
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_merge_subclass_with_keras2_signature():
    from lamina.layers.merge import _Merge

    class RandomWeightedAverage(_Merge):
        def _merge_function(self, inputs):
            weights = K.random_uniform((4, 1))
            return weights * inputs[0] + (1 - weights) * inputs[1]

    class Halfway(RandomWeightedAverage):
        def _merge_function(self, inputs):
            return 0.5 * super()._merge_function([inputs[0], inputs[0]]) + 0.5 * inputs[1]

    a, b = lamina.Input((3,)), lamina.Input((3,))
    averaged = RandomWeightedAverage()([a, b])
    assert averaged.shape == (None, 3)
    zeros, ones = np.zeros((4, 3), "float32"), np.ones((4, 3), "float32")
    out = K.convert_to_numpy(RandomWeightedAverage()([zeros, ones]))
    assert ((out >= 0) & (out <= 1)).all()
    np.testing.assert_allclose(out, np.repeat(out[:, :1], 3, axis=1))  # one weight per sample
    np.testing.assert_allclose(K.convert_to_numpy(Halfway()([zeros, ones])), 0.5 * ones)
    with pytest.raises(ValueError, match="list of inputs"):
        RandomWeightedAverage()(zeros)


def test_merge_subclass_may_take_masks_too():
    from lamina.layers.merge import _Merge

    class MaskedSum(_Merge):
        def _merge_function(self, inputs, masks):
            return inputs[0] + inputs[1]

    out = MaskedSum()([np.ones((2, 2), "float32"), np.ones((2, 2), "float32")])
    np.testing.assert_array_equal(K.convert_to_numpy(out), np.full((2, 2), 2.0))


def test_keras2_vis_utils_path():
    # `from keras.utils.vis_utils import plot_model` in Keras 2 scripts.
    from lamina.utils import model_visualization
    from lamina.utils.vis_utils import model_to_dot, plot_model

    assert plot_model is model_visualization.plot_model and model_to_dot is model_visualization.model_to_dot
