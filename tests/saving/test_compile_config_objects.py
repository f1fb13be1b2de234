"""Custom losses and metrics in a saved compile config: ``load_model(custom_objects=...)`` gives a
model that evaluates at once, and files with custom loss functions move between Keras and Lamina.

Custom objects are visible only while the file loads: the compile config's losses and metrics
must be resolved then, not on the first batch."""

import numpy as np
import pytest

import lamina
from lamina import layers

rng = np.random.default_rng(5)
X = rng.random((16, 4), dtype=np.float32)
Y = rng.random((16, 1), dtype=np.float32)


class HalfAbsoluteLoss(lamina.losses.Loss):
    def call(self, y_true, y_pred):
        return lamina.ops.mean(lamina.ops.abs(y_true - y_pred), axis=-1) * 0.5


class CubedErrorMetric(lamina.metrics.MeanMetricWrapper):
    def __init__(self, name="cubed_error", dtype=None):
        super().__init__(fn=cubed_error, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def squared_error_sum(y_true, y_pred):
    return lamina.ops.sum(lamina.ops.square(y_true - y_pred), axis=-1)


def cubed_error(y_true, y_pred):
    return lamina.ops.mean(lamina.ops.abs(y_true - y_pred) ** 3, axis=-1)


CASES = {
    "loss class": (HalfAbsoluteLoss(), ["mae"], {"HalfAbsoluteLoss": HalfAbsoluteLoss}),
    "metric class": ("mse", [CubedErrorMetric()], {"CubedErrorMetric": CubedErrorMetric,
                                                   "cubed_error": cubed_error}),
    "loss function": (squared_error_sum, ["mae"], {"squared_error_sum": squared_error_sum}),
    "metric function": ("mse", [cubed_error, "mae"], {"cubed_error": cubed_error}),
    "per-output dict": ({"out": squared_error_sum}, {"out": [cubed_error]},
                        {"squared_error_sum": squared_error_sum, "cubed_error": cubed_error}),
    "built-in function": (lamina.losses.mean_squared_error, [lamina.metrics.mean_absolute_error], {}),
}


def _trained(loss, metrics):
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(1, name="out")(inputs))
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    model.fit(X, Y, epochs=2, verbose=0)
    return model


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_loaded_model_evaluates_with_its_custom_losses_and_metrics(tmp_path, case):
    loss, metrics, custom_objects = CASES[case]
    model = _trained(loss, metrics)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = lamina.models.load_model(path, custom_objects=custom_objects)
    expected = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert restored.evaluate(X, Y, verbose=0, return_dict=True) == pytest.approx(expected, rel=1e-6)
    # And it trains on with them.
    restored.fit(X, Y, verbose=0)


@pytest.mark.parametrize("loss", [squared_error_sum, HalfAbsoluteLoss(), lambda t, p: (t - p) ** 2])
def test_a_loss_that_does_not_resolve_loads_for_inference_with_a_warning(tmp_path, loss):
    # Not in `custom_objects` (or a lambda, which files do not hold): the model loads and
    # predicts; training it fails, naming what is missing.
    model = _trained(loss, None)
    model.save(tmp_path / "model.keras")
    with pytest.warns(UserWarning, match="could not be resolved"):
        restored = lamina.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(restored.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown|lambda"):
        restored.fit(X, Y, verbose=0)


def test_a_function_loss_is_written_as_keras_writes_it():
    model = _trained(squared_error_sum, [cubed_error, "mae"])
    config = model.get_compile_config()
    function = {"module": "builtins", "class_name": "function", "registered_name": "function"}
    assert config["loss"] == {**function, "config": "squared_error_sum"}
    assert config["metrics"] == [{**function, "config": "cubed_error"}, "mae"]


def test_an_older_file_naming_a_custom_function_still_loads():
    # Files written before functions were saved as Keras does named them.
    model = _trained(squared_error_sum, None)
    config = model.get_compile_config()
    config["loss"] = "squared_error_sum"
    assert model.get_compile_config()["loss"] != "squared_error_sum"  # a copy was edited
    inputs = lamina.Input((4,))
    restored = lamina.Model(inputs, layers.Dense(1, name="out")(inputs))
    with lamina.saving.CustomObjectScope({"squared_error_sum": squared_error_sum}):
        restored.compile_from_config(config)
    restored.set_weights(model.get_weights())
    assert restored.evaluate(X, Y, verbose=0) == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-6)


def _keras_function(oracle):
    def squared_error_sum(y_true, y_pred):
        return oracle.ops.sum(oracle.ops.square(y_true - y_pred), axis=-1)

    return squared_error_sum


@pytest.mark.oracle
def test_legacy_h5_files_with_function_losses_load_in_keras(oracle, tmp_path):
    model = _trained(lamina.losses.mean_squared_error, [lamina.metrics.mean_absolute_error])
    model.save(tmp_path / "model.h5")
    in_keras = oracle.models.load_model(tmp_path / "model.h5")
    np.testing.assert_allclose(in_keras.evaluate(X, Y, verbose=0), model.evaluate(X, Y, verbose=0), rtol=1e-5)


@pytest.mark.oracle
def test_custom_function_losses_move_between_keras_and_lamina(oracle, tmp_path):
    keras_fn = _keras_function(oracle)
    lamina_model = _trained(squared_error_sum, ["mae"])
    lamina_model.save(tmp_path / "lamina.keras")
    in_keras = oracle.models.load_model(
        tmp_path / "lamina.keras", custom_objects={"squared_error_sum": keras_fn}
    )
    expected = lamina_model.evaluate(X, Y, verbose=0)
    np.testing.assert_allclose(in_keras.evaluate(X, Y, verbose=0), expected, rtol=1e-5)
    in_keras.save(tmp_path / "keras.keras")
    back = lamina.models.load_model(
        tmp_path / "keras.keras", custom_objects={"squared_error_sum": squared_error_sum}
    )
    np.testing.assert_allclose(back.evaluate(X, Y, verbose=0), expected, rtol=1e-5)
