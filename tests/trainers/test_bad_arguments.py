"""Bad arguments to compile / fit / evaluate / predict fail at once, naming the argument."""

import numpy as np
import pytest

import lamina
from lamina import layers


@pytest.fixture
def model():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


X = np.ones((8, 4), "float32")
Y = np.ones((8, 3), "float32")


@pytest.mark.parametrize("loop, kwargs, argument", [
    ("fit", dict(batch_size=0), "batch_size"),
    ("fit", dict(batch_size=-2), "batch_size"),
    ("fit", dict(batch_size=2.0), "batch_size"),
    ("fit", dict(epochs=-1), "epochs"),
    ("fit", dict(epochs=2.5), "epochs"),
    ("fit", dict(initial_epoch=-1), "initial_epoch"),
    ("fit", dict(steps_per_epoch=0), "steps_per_epoch"),
    ("fit", dict(validation_data=(X, Y), validation_steps=0), "validation_steps"),
    ("fit", dict(validation_data=(X, Y), validation_batch_size=0), "validation_batch_size"),
    ("fit", dict(validation_freq=0), "validation_freq"),
    ("evaluate", dict(batch_size=0), "batch_size"),
    ("evaluate", dict(steps=0), "steps"),
    ("predict", dict(batch_size=0), "batch_size"),
    ("predict", dict(steps=-1), "steps"),
])
def test_counts_must_be_positive_integers(model, loop, kwargs, argument):
    data = (X,) if loop == "predict" else (X, Y)
    before = model.get_weights()
    with pytest.raises(ValueError, match=rf"`{loop}\(\)` expects `{argument}`.*Received: {argument}="):
        getattr(model, loop)(*data, verbose=0, **kwargs)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_numpy_integers_and_zero_epochs_are_accepted(model):
    history = model.fit(X, Y, batch_size=np.int64(4), epochs=0, verbose=0)
    assert history.epoch == []
    model.fit(X, Y, batch_size=4, validation_data=(X, Y), validation_freq=[1], verbose=0)


@pytest.mark.parametrize("loop", ["fit", "evaluate"])
def test_zero_samples_are_refused(model, loop):
    with pytest.raises(ValueError, match=rf"`{loop}\(\)` received no data: `x`.*0 samples"):
        getattr(model, loop)(X[:0], Y[:0], verbose=0)


def test_empty_validation_data_is_refused(model):
    with pytest.raises(ValueError, match=r"`fit\(\)` received no data: `validation_data`"):
        model.fit(X, Y, validation_data=(X[:0], Y[:0]), verbose=0)


@pytest.mark.parametrize("kwargs, argument, valid", [
    (dict(loss="no_such_loss"), "loss", "mean_squared_error"),
    (dict(loss={"dense": "no_such_loss"}), "loss", "mean_squared_error"),
    (dict(loss="mse", metrics=["mae", "no_such_metric"]), "metrics", "mean_absolute_error"),
    (dict(loss="mse", weighted_metrics=["no_such_metric"]), "weighted_metrics", "mean_absolute_error"),
])
def test_unknown_loss_and_metric_names_fail_at_compile(kwargs, argument, valid):
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=rf"Invalid `{argument}` in `compile\(\)`.*no_such_.*Valid .* names:.*{valid}"):
        model.compile(**kwargs)


def test_unknown_optimizer_name_fails_at_compile():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"Unknown optimizer: 'no_such_optimizer'.*adam.*sgd"):
        model.compile(optimizer="no_such_optimizer", loss="mse")


def test_names_resolved_by_shape_are_still_accepted():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    model.compile(loss="crossentropy", metrics=["accuracy", "acc", "mse"], weighted_metrics=["accuracy"])
    model.fit(X, np.eye(3, dtype="float32")[np.arange(8) % 3], verbose=0)


def test_fractional_step_counts_round_up_as_in_keras_2(model):
    # Keras 2's documentation writes `steps_per_epoch=len(x_train) / 32`.
    history = model.fit(X, Y, batch_size=2, steps_per_epoch=len(X) / 3, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    assert model.predict(X, batch_size=2, steps=2.5, verbose=0).shape == (6, 3)
