"""Subclassed models built with the functional constructor (Keras's custom train_step recipe),
and model inputs one rank off (Keras adds or drops a trailing axis of size 1)."""

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import layers


@keras.saving.register_keras_serializable(package="functional_subclass")
class CountingModel(keras.Model):
    """Overrides the steps and counts how often each ran."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counts = {"train": 0, "test": 0, "predict": 0}

    def train_step(self, data):
        self.counts["train"] += 1
        return super().train_step(data)

    def test_step(self, data):
        self.counts["test"] += 1
        return super().test_step(data)

    def predict_step(self, data):
        self.counts["predict"] += 1
        return super().predict_step(data)


def _data():
    rng = np.random.default_rng(0)
    return rng.random((32, 4)).astype("float32"), rng.random((32, 1)).astype("float32")


def test_subclass_with_inputs_outputs_is_functional_and_uses_its_steps(tmp_path):
    inputs = keras.Input((4,))
    outputs = layers.Dense(1)(layers.Dense(8, activation="relu")(inputs))
    model = CountingModel(inputs, outputs)
    assert isinstance(model, CountingModel) and isinstance(model, keras.Functional)
    assert len(model.layers) == 3 and model.output_shape == (None, 1)
    model.compile("adam", "mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.evaluate(x, y, batch_size=16, verbose=0)
    model.predict(x, batch_size=32, verbose=0)
    assert model.counts == {"train": 8, "test": 2, "predict": 1}
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is CountingModel
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_custom_train_step_with_keyword_construction():
    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
            self.optimizer.zero_grad() if hasattr(self.optimizer, "zero_grad") else None
            for v in self.trainable_weights:
                v.grad = None
            loss.backward()
            self.optimizer.apply([v.value.grad for v in self.trainable_weights], self.trainable_weights)
            return {"custom_loss": loss.detach()}

    inputs = keras.Input(shape=(4,))
    model = CustomModel(inputs=inputs, outputs=layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    history = model.fit(x, y, epochs=3, verbose=0)
    losses = history.history["custom_loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]


def test_overridden_call_is_used():
    class Doubling(keras.Model):
        def call(self, inputs, training=None):
            return 2 * super().call(inputs, training=training)

    inputs = keras.Input((3,))
    model = Doubling(inputs, layers.Dense(2, kernel_initializer="ones")(inputs))
    np.testing.assert_allclose(np.asarray(model(np.ones((1, 3), "float32"))), [[6.0, 6.0]])


def test_sequential_and_plain_subclasses_are_not_made_functional():
    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    assert not isinstance(keras.Sequential([layers.Dense(2)]), keras.Functional)
    assert not isinstance(Plain(), keras.Functional)
    with pytest.raises(TypeError, match="positional arguments"):
        keras.Model.__init__(Plain(), 1, 2, 3)


@pytest.mark.parametrize("fit_shape", [(16, 28, 28), (16, 28, 28, 1)])
def test_input_rank_adjusted_like_keras(fit_shape):
    inputs = keras.Input((28, 28, 1))
    outputs = layers.Dense(2)(layers.Flatten()(layers.Conv2D(2, 3)(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "mse")
    x = np.random.default_rng(0).random(fit_shape).astype("float32")
    model.fit(x, np.zeros((16, 2)), epochs=1, verbose=0)
    assert model.predict(x, verbose=0).shape == (16, 2)
    assert tuple(model(x).shape) == (16, 2)


def test_trailing_unit_axis_dropped_and_added():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    assert tuple(model(np.ones((2, 3, 1), "float32")).shape) == (2, 1)
    column = keras.Input((1,))
    model = keras.Model(column, layers.Dense(2)(column))
    assert model.predict(np.arange(5, dtype="float32"), verbose=0).shape == (5, 2)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 1\)"):
        model.predict(np.ones((5, 2, 2), "float32"), verbose=0)


def test_bool_and_int_arrays_cast_to_input_dtype():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    model.compile("adam", "mse")
    one_hot = np.eye(4, dtype=bool)[[0, 1, 2, 3, 0, 1]]
    model.fit(one_hot, np.ones((6, 1)), epochs=1, verbose=0)
    for data in (one_hot, one_hot.astype("int64"), torch.tensor(one_hot)):
        assert model.predict(data, verbose=0).dtype == np.float32
        assert model(data).dtype == torch.float32
