"""Keras 1 argument names that Keras 2 still accepted with a warning, as its-era scripts use them:
``Model(input=..., output=...)``, ``fit(nb_epoch=...)``, the generator loops' queue names."""

import numpy as np
import pytest

import lamina


def _graph():
    inputs = lamina.Input((3,))
    return inputs, lamina.layers.Dense(2)(inputs)


def test_model_input_output_keywords_build_a_functional_model():
    inputs, outputs = _graph()
    with pytest.warns(UserWarning, match="`input` argument has been renamed `inputs`"):
        model = lamina.Model(input=inputs, output=outputs)
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert tuple(model(np.ones((4, 3), "float32")).shape) == (4, 2)


def test_subclass_with_custom_train_step_accepts_input_output_keywords():
    class Custom(lamina.Model):
        def train_step(self, data):
            self.steps_run = getattr(self, "steps_run", 0) + 1
            return super().train_step(data)

    inputs, outputs = _graph()
    with pytest.warns(UserWarning, match="renamed `outputs`"):
        model = Custom(input=inputs, output=outputs)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), batch_size=2, verbose=0)
    assert model.steps_run == 2


def test_functional_without_outputs_says_so():
    inputs, _ = _graph()
    with pytest.raises(TypeError, match="needs both `inputs` and `outputs`"):
        lamina.Model(inputs=inputs)


def _compiled():
    inputs, outputs = _graph()
    model = lamina.Model(inputs, outputs)
    model.compile("sgd", "mse")
    return model


def test_fit_nb_epoch_is_epochs():
    model = _compiled()
    with pytest.warns(UserWarning, match="`nb_epoch` argument in `fit` has been renamed `epochs`"):
        history = model.fit(np.ones((4, 3)), np.ones((4, 2)), nb_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 3
    with pytest.raises(TypeError, match="both `nb_epoch`.*and `epochs`"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), nb_epoch=3, epochs=2, verbose=0)


def test_generator_loops_accept_keras1_names():
    model = _compiled()

    def batches():
        while True:
            yield np.ones((2, 3)), np.ones((2, 2))

    with pytest.warns(UserWarning, match="renamed"):
        history = model.fit_generator(batches(), steps_per_epoch=2, nb_epoch=2, max_q_size=4, nb_worker=1, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.warns(UserWarning, match="`pickle_safe` argument in `predict_generator`"):
        out = model.predict_generator((np.ones((2, 3)) for _ in range(2)), steps=2, pickle_safe=False)
    assert out.shape == (4, 2)
