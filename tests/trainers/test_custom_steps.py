"""Overriding the steps, writing the loop by hand, and what the train step guarantees: the training
flag, constraints after every update, and ``model.losses`` in the total loss."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

rng = np.random.default_rng(0)
X = rng.normal(size=(16, 4)).astype("float32")
Y = rng.normal(size=(16, 1)).astype("float32")


def _initial_weights():
    r = np.random.default_rng(1)
    return [r.normal(size=s).astype("float32") * 0.5 for s in [(4, 5), (5,), (5, 1), (1,)]]


class _Net(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(5, activation="relu")
        self.out = layers.Dense(1)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def _built(cls):
    model = cls()
    model(X[:1])
    model.set_weights(_initial_weights())
    return model


def test_custom_train_step_matches_builtin_fit():
    class CustomStep(_Net):
        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
            self.zero_grad()
            loss.backward()
            variables = self.trainable_weights
            # `v.grad`: in Lamina a variable is the torch parameter (`v.value` is a view of it).
            self.optimizer.apply([v.grad for v in variables], variables)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    reference = _built(_Net)
    reference.compile(optimizer="adam", loss="mse", metrics=["mae"])
    expected = reference.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    model = _built(CustomStep)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    assert list(history) == list(expected) == ["loss", "mae"]
    for key in expected:
        # The custom step weighs the loss mean by 1 per batch, not by the batch size; all
        # batches have 4 samples here, so the values agree.
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-6)
    for a, e in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-6)


def test_low_level_steps_with_own_metrics():
    class LowLevel(_Net):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.loss_tracker = lamina.metrics.Mean(name="my_loss")
            self.mae_metric = lamina.metrics.MeanAbsoluteError(name="my_mae")
            self.loss_fn = lamina.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
            self.zero_grad()
            loss.backward()
            self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"my_loss": self.loss_tracker.result(), "my_mae": self.mae_metric.result()}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.loss_tracker.update_state(self.loss_fn(y, y_pred))
            self.mae_metric.update_state(y, y_pred)
            return {"my_loss": self.loss_tracker.result(), "my_mae": self.mae_metric.result()}

        def predict_step(self, data):
            return self(data, training=False) * 0 + 7.0

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    model = _built(LowLevel)
    model.compile(optimizer="sgd")  # no loss: the step computes it
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0, validation_data=(X, Y)).history
    assert list(history) == ["my_loss", "my_mae", "val_my_loss", "val_my_mae"]
    assert history["my_loss"][-1] < history["my_loss"][0]
    evaluated = model.evaluate(X, Y, batch_size=8, verbose=0)
    assert evaluated == [history["val_my_loss"][-1], history["val_my_mae"][-1]]
    np.testing.assert_array_equal(model.predict(X, batch_size=5, verbose=0), np.full((16, 1), 7.0))


def test_compute_loss_override_without_training_argument():
    class OldStyle(_Net):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return torch.mean(torch.abs(y_pred - y)) * 2.0

    model = _built(OldStyle)
    model.compile(optimizer="sgd")
    logs = model.test_on_batch(X, Y, return_dict=True)
    expected = 2.0 * np.mean(np.abs(model.predict(X, verbose=0) - Y))
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-6)


def test_hand_written_loop_matches_fit(oracle):
    """A plain torch-style loop: forward, loss, backward, ``optimizer.apply(grads, variables)``."""
    reference = _built(_Net)
    reference.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse")
    reference.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)

    model = _built(_Net)
    optimizer = lamina.optimizers.Adam(0.01)
    loss_fn = lamina.losses.MeanSquaredError()
    for epoch in range(2):
        for start in range(0, len(X), 4):
            x, y = torch.from_numpy(X[start:start + 4]), torch.from_numpy(Y[start:start + 4])
            loss = loss_fn(y, model(x, training=True))
            for v in model.trainable_weights:
                v.grad = None
            loss.backward()
            optimizer.apply([v.grad for v in model.trainable_weights], model.trainable_weights)
    for a, e in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-6)

    keras_model = oracle.Sequential([oracle.Input((4,)), oracle.layers.Dense(5, activation="relu"),
                                     oracle.layers.Dense(1)])
    keras_model.set_weights(_initial_weights())
    keras_model.compile(optimizer=oracle.optimizers.Adam(0.01), loss="mse")
    keras_model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, e in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-6)


class _FlagRecorder(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flags = []

    def call(self, inputs, training=None):
        self.flags.append(training)
        return inputs


def test_dropout_is_active_in_fit_only():
    recorder = _FlagRecorder()
    model = lamina.Sequential([
        lamina.Input((4,)), recorder, layers.Dropout(0.5, seed=3),
        layers.Dense(1, kernel_initializer="ones", use_bias=False),
    ])
    # A zero learning rate keeps the weights: the loss differences come from dropout alone.
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    recorder.flags.clear()
    fit_loss = model.fit(X, Y, batch_size=16, epochs=1, verbose=0).history["loss"][0]
    assert recorder.flags == [True]
    recorder.flags.clear()
    eval_loss = model.evaluate(X, Y, verbose=0)
    predictions = model.predict(X, verbose=0)
    model.predict_on_batch(X)
    model.test_on_batch(X, Y)
    assert recorder.flags == [False, False, False, False]
    deterministic = X.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(predictions, deterministic, rtol=1e-6)
    np.testing.assert_allclose(eval_loss, np.mean((deterministic - Y) ** 2), rtol=1e-5)
    assert abs(fit_loss - eval_loss) > 1e-3
    recorder.flags.clear()
    model.train_on_batch(X, Y)
    assert recorder.flags == [True]


def test_constraints_hold_after_every_update():
    seen = []

    class Check(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(self.model.layers[0].kernel.detach().min()))

    model = lamina.Sequential([
        lamina.Input((4,)),
        layers.Dense(3, kernel_constraint=lamina.constraints.NonNeg(), kernel_initializer="ones"),
        layers.Dense(1, kernel_initializer="ones"),
    ])
    model.compile(optimizer=lamina.optimizers.SGD(0.02), loss="mse")
    model.fit(X, 3 * np.abs(Y) + 5, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[Check()])
    assert len(seen) == 8 and min(seen) >= 0.0
    assert (model.layers[0].kernel.detach().numpy() == 0).any()  # the constraint was active


class _Penalty(layers.Layer):
    def call(self, inputs):
        self.add_loss(0.25 * torch.sum(inputs**2) / inputs.shape[0])
        return inputs


def test_total_loss_includes_model_losses():
    model = lamina.Sequential([lamina.Input((4,)), _Penalty(), layers.Dense(1, kernel_regularizer="l2")])
    model.compile(optimizer="sgd", loss="mse")
    logs = model.test_on_batch(X, Y, return_dict=True)
    kernel = model.layers[1].kernel.detach().numpy()
    mse = np.mean((model.predict(X, verbose=0) - Y) ** 2)
    expected = mse + 0.25 * np.sum(X**2) / len(X) + 0.01 * np.sum(kernel**2)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)

    # With no compiled loss, `model.losses` alone is minimized.
    only_added = lamina.Sequential([lamina.Input((4,)), layers.Dense(2), _Penalty()])
    only_added.compile(optimizer=lamina.optimizers.SGD(0.1))
    history = only_added.fit(X, None, batch_size=8, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]

    no_loss = lamina.Sequential([lamina.Input((4,)), layers.Dense(1)])
    no_loss.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        no_loss.fit(X, Y, verbose=0)


def test_train_on_batch_reports_that_batch_only():
    model = _built(_Net)
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    first = model.train_on_batch(X[:8], Y[:8], return_dict=True)
    second = model.train_on_batch(X[8:], Y[8:], return_dict=True)
    assert second == model.test_on_batch(X[8:], Y[8:], return_dict=True)
    assert first != second
    assert model.test_on_batch(X, Y) == model.evaluate(X, Y, batch_size=16, verbose=0)


def test_compile_config_round_trip(tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss=lamina.losses.Huber(delta=0.5),
                  metrics=[lamina.metrics.MeanAbsoluteError(name="abs_err"), "mse"])
    model.fit(X, Y, verbose=0)
    config = model.get_compile_config()
    assert config["optimizer"]["class_name"] == "Adam" and config["loss"]["class_name"] == "Huber"
    assert config["metrics"][1] == "mse" and config["jit_compile"] == "auto"
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = lamina.models.load_model(path)
    assert restored.compiled
    expected = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert list(expected) == ["abs_err", "loss", "mse"]
    assert restored.evaluate(X, Y, verbose=0, return_dict=True) == expected
    for a, b in zip(restored.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
