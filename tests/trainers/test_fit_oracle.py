"""``compile``/``fit``/``evaluate``/``predict`` against Keras 3 (JAX): same weights, same logs.

Each test builds one model in both libraries with the same initial weights, trains it with
``shuffle=False`` on fixed data and compares the final weights and the ``History`` dict (keys in the
same order, epoch values equal to float32 rounding).
"""

import numpy as np
import pytest

import lamina

pytestmark = pytest.mark.oracle

OPTIMIZERS = [
    "sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw", "ftrl", "lion",
    "adafactor",
]


def _data(n=20, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, classes, size=(n,)).astype("int64")
    return x, y


def _mlp(lib, features=4, classes=3):
    return lib.Sequential([
        lib.Input((features,)),
        lib.layers.Dense(6, activation="relu"),
        lib.layers.Dense(classes, activation="softmax"),
    ])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_by_name(twin, assert_close, assert_same_weights, optimizer):
    x, y = _data()
    km, lm = twin.models(_mlp)
    twin.compile(km, lm, optimizer=optimizer, loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    kh, lh = twin.call("fit", km, lm, x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    assert_close(lh.history, kh.history)
    assert lh.epoch == kh.epoch == [0, 1]
    assert_same_weights(km, lm)


def test_regularizers_constraints_and_validation_data(twin, assert_close, assert_same_weights):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 4)).astype("float32")
    y = rng.normal(size=(20, 2)).astype("float32")
    xv = rng.normal(size=(10, 4)).astype("float32")
    yv = rng.normal(size=(10, 2)).astype("float32")

    def build(lib):
        return lib.Sequential([
            lib.Input((4,)),
            lib.layers.Dense(
                5, activation="tanh",
                kernel_regularizer=lib.regularizers.L2(0.05),
                # Not L1 on the bias: the constraint pins entries at 0, where the subgradient of
                # |b| is 1 in JAX and 0 in torch.
                bias_regularizer=lib.regularizers.L2(0.02),
                activity_regularizer=lib.regularizers.L1L2(0.01, 0.01),
                kernel_constraint=lib.constraints.MaxNorm(0.6),
                bias_constraint=lib.constraints.NonNeg(),
            ),
            lib.layers.Dense(2, kernel_regularizer="l1", kernel_constraint=lib.constraints.UnitNorm()),
        ])

    km, lm = twin.models(build)
    twin.compile(km, lm, optimizer="adam", loss="mse", metrics=["mae"])
    # 20 samples in batches of 6: the last batch is partial, so the epoch means must weigh
    # every batch by its size.
    kh, lh = twin.call("fit", km, lm, x, y, batch_size=6, epochs=3, shuffle=False, verbose=0,
                       validation_data=(xv, yv), validation_batch_size=4)
    assert list(lh.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
    # The constraints hold after the last update.
    kernel = lm.layers[0].kernel.detach().numpy()
    assert np.all(np.sqrt((kernel**2).sum(axis=0)) <= 0.6 + 1e-6)
    assert np.all(lm.layers[0].bias.detach().numpy() >= 0)
    # The regularization terms are part of the reported and evaluated loss.
    expected, actual = twin.call("evaluate", km, lm, xv, yv, verbose=0, return_dict=True)
    assert_close(actual, expected)


def _two_outputs(lib):
    inputs = lib.Input((4,), name="features")
    hidden = lib.layers.Dense(6, activation="relu", name="hidden")(inputs)
    out1 = lib.layers.Dense(2, name="out1")(hidden)
    out2 = lib.layers.Dense(1, activation="sigmoid", name="out2")(hidden)
    return lib.Model(inputs, [out1, out2])


def _two_output_data(n=20, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y1 = rng.normal(size=(n, 2)).astype("float32")
    y2 = (rng.random((n, 1)) > 0.5).astype("float32")
    return x, y1, y2


def test_multi_output_lists_validation_split_and_batch_methods(twin, assert_close, assert_same_weights):
    x, y1, y2 = _two_output_data()
    km, lm = twin.models(_two_outputs)
    twin.compile(km, lm, optimizer="sgd", loss=["mse", "binary_crossentropy"], loss_weights=[1.0, 0.5],
                 metrics=[["mae"], ["accuracy", "mse"]])
    kh, lh = twin.call("fit", km, lm, x, [y1, y2], batch_size=5, epochs=2, shuffle=False, verbose=0,
                       validation_split=0.25)
    assert list(lh.history) == [
        "loss", "out1_loss", "out1_mae", "out2_accuracy", "out2_loss", "out2_mse",
        "val_loss", "val_out1_loss", "val_out1_mae", "val_out2_accuracy", "val_out2_loss",
        "val_out2_mse",
    ]
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
    assert lm.metrics_names == km.metrics_names == ["loss", "compile_metrics", "out1_loss", "out2_loss"]

    for kwargs in ({}, {"return_dict": True}):
        expected, actual = twin.call("evaluate", km, lm, x, [y1, y2], batch_size=5, verbose=0, **kwargs)
        assert_close(actual, expected, what=f"evaluate({kwargs})")
    for batch_size in (5, 10, 32):
        expected, actual = twin.call("predict", km, lm, x, batch_size=batch_size, verbose=0)
        assert isinstance(actual, list) and len(actual) == 2
        assert_close(actual, expected, what=f"predict(batch_size={batch_size})")
    expected, actual = twin.call("predict_on_batch", km, lm, x[:5])
    assert_close(actual, expected)
    expected, actual = twin.call("test_on_batch", km, lm, x[:10], [y1[:10], y2[:10]])
    assert_close(actual, expected)
    expected, actual = twin.call("train_on_batch", km, lm, x[:10], [y1[:10], y2[:10]], return_dict=True)
    assert_close(actual, expected)
    expected, actual = twin.call("train_on_batch", km, lm, x[10:], [y1[10:], y2[10:]])
    assert_close(actual, expected)
    assert_same_weights(km, lm)


def test_multi_output_dicts_sample_weight_and_weighted_metrics(twin, assert_close, assert_same_weights):
    x, y1, y2 = _two_output_data(seed=3)
    sw = np.linspace(0.2, 2.0, len(x)).astype("float32")
    km, lm = twin.models(_two_outputs)
    twin.compile(
        km, lm, optimizer="adam",
        loss={"out1": "mae", "out2": "binary_crossentropy"},
        loss_weights={"out1": 0.3, "out2": 2.0},
        metrics={"out2": ["accuracy"]},
        weighted_metrics={"out1": ["mse"], "out2": ["accuracy"]},
    )
    # Keras fails on a dict of targets with sample weights for a model with list outputs
    # (`KeyError: 0` in its CompileLoss), so the targets are a list here.
    kh, lh = twin.call("fit", km, lm, x[:15], [y1[:15], y2[:15]], sample_weight=sw[:15],
                       batch_size=5, epochs=2, shuffle=False, verbose=0,
                       validation_data=(x[15:], [y1[15:], y2[15:]], sw[15:]))
    assert "out2_weighted_accuracy" in lh.history and "out1_mse" in lh.history
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
    expected, actual = twin.call("evaluate", km, lm, x, [y1, y2], sample_weight=sw, verbose=0)
    assert_close(actual, expected)
    # Targets by output name, without weights.
    expected, actual = twin.call("evaluate", km, lm, x, {"out1": y1, "out2": y2}, verbose=0,
                                 return_dict=True)
    assert_close(actual, expected)


def test_class_weight(twin, assert_close, assert_same_weights):
    x, y = _data(seed=4)
    km, lm = twin.models(_mlp)
    twin.compile(km, lm, optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"], weighted_metrics=["accuracy"])
    kh, lh = twin.call("fit", km, lm, x, y, class_weight={0: 0.5, 1: 3.0}, batch_size=5, epochs=2,
                       shuffle=False, verbose=0)
    assert list(lh.history) == ["accuracy", "loss", "weighted_accuracy"]
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
    expected, actual = twin.call("train_on_batch", km, lm, x, y, class_weight={2: 4.0})
    assert_close(actual, expected)


@pytest.mark.parametrize(
    "case, expected_class",
    [
        ("binary", "BinaryAccuracy"),
        ("categorical", "CategoricalAccuracy"),
        ("sparse", "SparseCategoricalAccuracy"),
        ("sparse_column", "SparseCategoricalAccuracy"),
    ],
)
def test_accuracy_resolves_like_keras(twin, assert_close, case, expected_class):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(20, 4)).astype("float32")
    units, activation = (1, "sigmoid") if case == "binary" else (3, "softmax")
    labels = rng.integers(0, units if units > 1 else 2, size=(20,))
    y = {
        "binary": labels.reshape(-1, 1).astype("float32"),
        "categorical": np.eye(3, dtype="float32")[labels],
        "sparse": labels,
        "sparse_column": labels.reshape(-1, 1),
    }[case]

    def build(lib):
        return lib.Sequential([lib.Input((4,)), lib.layers.Dense(units, activation=activation)])

    km, lm = twin.models(build)
    # "crossentropy" is resolved from the shapes too.
    twin.compile(km, lm, optimizer="sgd", loss="crossentropy", metrics=["accuracy", "acc"])
    kh, lh = twin.call("fit", km, lm, x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert list(lh.history) == ["acc", "accuracy", "loss"]
    assert_close(lh.history, kh.history)
    resolved = [type(m).__name__ for m in lm.metrics[1].metrics]
    assert resolved == [expected_class, expected_class]
    assert [type(m).__name__ for m in km.metrics[1].metrics] == resolved


def abs_error(y_true, y_pred):
    return abs(y_true - y_pred)


def test_multi_input_dict_and_evaluate_order(twin, per_lib, assert_close, assert_same_weights):
    rng = np.random.default_rng(6)
    xa = rng.normal(size=(20, 3)).astype("float32")
    xb = rng.normal(size=(20, 2)).astype("float32")
    y = rng.normal(size=(20, 1)).astype("float32")

    def build(lib):
        a = lib.Input((3,), name="a")
        b = lib.Input((2,), name="b")
        merged = lib.layers.Concatenate()([a, b])
        return lib.Model({"a": a, "b": b}, lib.layers.Dense(1)(merged))

    km, lm = twin.models(build)
    named = per_lib(lambda lib: lib.metrics.MeanSquaredError(name="my_mse"))
    twin.compile(km, lm, optimizer="sgd", loss="mse", metrics=["mae", abs_error, named])
    kh, lh = twin.call("fit", km, lm, {"a": xa, "b": xb}, y, batch_size=10, epochs=2, shuffle=False,
                       verbose=0)
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
    expected, actual = twin.call("evaluate", km, lm, {"a": xa, "b": xb}, y, verbose=0)
    assert isinstance(actual, list) and len(actual) == 4
    assert list(lh.history) == ["abs_error", "loss", "mae", "my_mse"]
    assert_close(actual, expected)


def test_single_metric_evaluate_returns_scalar(twin, assert_close):
    x, y = _data(n=10)
    km, lm = twin.models(_mlp)
    twin.compile(km, lm, optimizer="sgd", loss="sparse_categorical_crossentropy")
    expected, actual = twin.call("evaluate", km, lm, x, y, verbose=0)
    assert isinstance(actual, float)
    assert_close(actual, expected)
    expected, actual = twin.call("train_on_batch", km, lm, x, y)
    assert isinstance(actual, float)
    assert_close(actual, expected)


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_steps_per_epoch_continues_through_the_data(twin, assert_close, assert_same_weights):
    x, y = _data()
    km, lm = twin.models(_mlp)
    twin.compile(km, lm, optimizer="sgd", loss="sparse_categorical_crossentropy")
    kh, lh = twin.call("fit", km, lm, x, y, batch_size=5, steps_per_epoch=3, epochs=3, shuffle=False,
                       verbose=0)
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)


def test_compile_argument_errors():
    model = _mlp(lamina)
    with pytest.raises(ValueError, match="`metrics` argument to be a list, tuple, or dict"):
        model.compile(loss="mse", metrics="accuracy")
    with pytest.raises(ValueError, match="`loss_weights`"):
        model.compile(loss="mse", loss_weights="heavy")
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.zeros((2, 5)), np.zeros(2), verbose=0)
    two = _two_outputs(lamina)
    two.compile(loss=["mse"], optimizer="sgd")
    x, y1, y2 = _two_output_data(n=4)
    with pytest.raises(ValueError, match="`loss` has 1 entries"):
        two.fit(x, [y1, y2], verbose=0)
    two.compile(loss={"out1": "mse", "nope": "mse"}, optimizer="sgd")
    with pytest.raises(ValueError, match="nope"):
        two.fit(x, [y1, y2], verbose=0)
    two.compile(loss="mse", metrics=["mae"], optimizer="sgd")
    with pytest.raises(ValueError, match="Invalid `metrics`"):
        two.fit(x, [y1, y2], verbose=0)


def test_dict_outputs(twin, assert_close, assert_same_weights):
    x, y1, y2 = _two_output_data(seed=7)

    def build(lib):
        inputs = lib.Input((4,))
        hidden = lib.layers.Dense(6, activation="relu")(inputs)
        return lib.Model(inputs, {
            "b_out": lib.layers.Dense(2, name="dense_b")(hidden),
            "a_out": lib.layers.Dense(1, activation="sigmoid", name="dense_a")(hidden),
        })

    km, lm = twin.models(build)
    twin.compile(km, lm, optimizer="sgd", loss={"b_out": "mse", "a_out": "binary_crossentropy"},
                 loss_weights={"b_out": 1.0, "a_out": 0.5}, metrics={"a_out": ["accuracy"], "b_out": ["mae"]})
    y = {"b_out": y1, "a_out": y2}
    kh, lh = twin.call("fit", km, lm, x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    assert list(lh.history) == ["a_out_accuracy", "a_out_loss", "b_out_loss", "b_out_mae", "loss"]
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
    # The per-output losses come in the order of the loss dict, as in Keras.
    expected, actual = twin.call("evaluate", km, lm, x, y, verbose=0)
    assert_close(actual, expected)
    expected, actual = twin.call("predict", km, lm, x, verbose=0)
    assert sorted(actual) == sorted(expected)
    assert_close({k: actual[k] for k in sorted(actual)}, {k: expected[k] for k in sorted(expected)})


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # out2 has no loss, as in Keras
@pytest.mark.parametrize("targets", ["short_list", "none_entry"])
def test_outputs_without_loss(twin, assert_close, assert_same_weights, targets):
    x, y1, _ = _two_output_data(seed=8)
    km, lm = twin.models(_two_outputs)
    twin.compile(km, lm, optimizer="sgd", loss=["mse", None], metrics=[["mae"], None])
    y = [y1] if targets == "short_list" else [y1, None]
    kh, lh = twin.call("fit", km, lm, x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    assert list(lh.history) == ["loss", "out1_mae"]
    assert_close(lh.history, kh.history)
    assert_same_weights(km, lm)
