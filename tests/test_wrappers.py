"""`lamina.wrappers`: scikit-learn estimators, compared with Keras's on the same training run."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina.wrappers import sklearn_wrapper


def _classification():
    X, y = make_classification(
        n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X.astype("float32"), y


def _regression(n_targets=1):
    X, y = make_regression(n_samples=60, n_features=5, n_targets=n_targets, random_state=0)
    return X.astype("float32"), (y / 100).astype("float32")


def _model_fn(k):
    """A deterministic model maker: fixed weights, plain SGD (identical runs in both libraries)."""

    def make(X, y, hidden=4, activation="softmax", loss="categorical_crossentropy"):
        rng = np.random.default_rng(1)
        inputs = k.Input((X.shape[1],))
        h = k.layers.Dense(hidden, activation="tanh")(inputs)
        outputs = k.layers.Dense(y.shape[1], activation=activation)(h)
        model = k.Model(inputs, outputs)
        model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
        model.compile(loss=loss, optimizer=k.optimizers.SGD(0.1), metrics=["mae"])
        return model

    return make


_FIT = {"epochs": 3, "batch_size": 60, "shuffle": False, "verbose": 0}


@pytest.mark.oracle
def test_classifier_matches_keras(oracle):
    X, y = _classification()
    keras_clf = oracle.wrappers.SKLearnClassifier(model=_model_fn(oracle), fit_kwargs=_FIT)
    lamina_clf = lamina.wrappers.SKLearnClassifier(model=_model_fn(lamina), fit_kwargs=_FIT)
    keras_clf.fit(X, y)
    lamina_clf.fit(X, y)
    np.testing.assert_array_equal(lamina_clf.classes_, keras_clf.classes_)
    np.testing.assert_allclose(
        lamina_clf.decision_function(X), keras_clf.decision_function(X), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_array_equal(lamina_clf.predict(X), keras_clf.predict(X))
    assert lamina_clf.score(X, y) == pytest.approx(keras_clf.score(X, y))
    np.testing.assert_allclose(
        lamina_clf.history_.history["loss"], keras_clf.history_.history["loss"], rtol=1e-4
    )


@pytest.mark.oracle
def test_regressor_and_transformer_match_keras(oracle):
    X, y = _regression()
    kwargs = {"activation": None, "loss": "mse"}
    for name in ("SKLearnRegressor", "SKLearnTransformer"):
        expected = getattr(oracle.wrappers, name)(model=_model_fn(oracle), model_kwargs=kwargs, fit_kwargs=_FIT)
        got = getattr(lamina.wrappers, name)(model=_model_fn(lamina), model_kwargs=kwargs, fit_kwargs=_FIT)
        expected.fit(X, y)
        got.fit(X, y)
        method = "predict" if name == "SKLearnRegressor" else "transform"
        np.testing.assert_allclose(getattr(got, method)(X), getattr(expected, method)(X), rtol=1e-4, atol=1e-5)
        if method == "predict":
            assert got.score(X, y) == pytest.approx(expected.score(X, y), rel=1e-4)
    assert got.transform(X).shape == (60, 1)


def test_one_dimensional_regression_target_comes_back_one_dimensional():
    X, y = _regression()
    reg = lamina.wrappers.SKLearnRegressor(
        model=_model_fn(lamina), model_kwargs={"activation": None, "loss": "mse"}, fit_kwargs=_FIT
    )
    assert reg.fit(X, y).predict(X).shape == (60,)
    assert reg.epoch_ == 3


def test_model_instance_is_cloned_compiled_with_fresh_weights():
    X, y = _regression()
    model = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    reg = lamina.wrappers.SKLearnRegressor(model=model, fit_kwargs={"epochs": 2, "verbose": 0})
    reg.fit(X, y)
    assert reg.model_ is not model and reg.model_.compiled
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # the given model is left untouched
    copied = clone(reg)
    assert copied.model is not model and copied.fit_kwargs == reg.fit_kwargs
    copied.fit(X, y)


def test_warm_start_continues_training():
    X, y = _regression()
    reg = lamina.wrappers.SKLearnRegressor(
        model=_model_fn(lamina), warm_start=True,
        model_kwargs={"activation": None, "loss": "mse"}, fit_kwargs=_FIT,
    )
    first = reg.fit(X, y).model_
    loss_after_first = reg.history_.history["loss"][-1]
    assert reg.fit(X, y).model_ is first
    assert reg.history_.history["loss"][0] < loss_after_first


def test_pipeline_and_grid_search():
    X, y = _classification()
    clf = lamina.wrappers.SKLearnClassifier(model=_model_fn(lamina), fit_kwargs=_FIT)
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    assert pipe.predict(X).shape == (60,)
    assert set(pipe.predict(X)) <= set(y)

    search = GridSearchCV(
        clf, {"model_kwargs": [{"hidden": 2}, {"hidden": 8}]}, cv=2, error_score="raise"
    )
    search.fit(X, y)
    assert search.best_params_["model_kwargs"] in ({"hidden": 2}, {"hidden": 8})
    assert 0.0 <= search.best_score_ <= 1.0

    features = lamina.wrappers.SKLearnTransformer(
        model=_model_fn(lamina), model_kwargs={"activation": None, "loss": "mse"}, fit_kwargs=_FIT
    )
    stacked = make_pipeline(features, LogisticRegression()).fit(X, y)
    assert stacked.named_steps["sklearntransformer"].model_.output_shape == (None, 1)
    assert stacked.predict(X).shape == (60,)


def test_errors():
    X, y = _classification()
    with pytest.raises(ValueError, match="only one class"):
        lamina.wrappers.SKLearnClassifier(model=_model_fn(lamina)).fit(X, np.zeros(60, int))
    with pytest.raises(ValueError, match="binary and multiclass"):
        lamina.wrappers.SKLearnClassifier(model=_model_fn(lamina)).fit(X, np.linspace(0, 1, 60))
    uncompiled = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(3)])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        lamina.wrappers.SKLearnClassifier(model=lambda X, y: uncompiled).fit(X, y)
    with pytest.raises(TypeError, match="compiled Model or a callable"):
        lamina.wrappers.SKLearnRegressor(model="dense").fit(X, y.astype("float32"))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        lamina.wrappers.SKLearnRegressor(model=_model_fn(lamina)).predict(X)


def test_missing_sklearn_names_the_install(monkeypatch):
    monkeypatch.setattr(sklearn_wrapper, "sklearn", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        lamina.wrappers.SKLearnClassifier(model=_model_fn(lamina))
    assert "sklearn" in sys.modules


def _seeded_model(X, y, activation=None, loss="mse"):
    # Module level (estimator checks pickle the estimator), seeded and trained unshuffled
    # (the checks compare two fits).
    units = y.shape[1] if y.ndim > 1 else 1
    init = lamina.initializers.GlorotUniform(seed=0)
    model = lamina.Sequential(
        [
            lamina.Input((X.shape[1],)),
            lamina.layers.Dense(units, activation=activation, kernel_initializer=init),
        ]
    )
    model.compile(optimizer="sgd", loss=loss)
    return model


_CHECK_FIT = {"epochs": 1, "verbose": 0, "shuffle": False}


# As in Keras's own suite: `decision_function` returns the model's probabilities, not scores
# whose sign or argmax scikit-learn's classifier checks expect.
_EXPECTED_FAILURES = {
    "SKLearnClassifier": {"check_classifiers_classes", "check_classifiers_train"},
    "SKLearnRegressor": set(),
    "SKLearnTransformer": set(),
}


@pytest.mark.parametrize(
    "estimator",
    [
        lamina.wrappers.SKLearnClassifier(
            model=_seeded_model,
            model_kwargs={"activation": "softmax", "loss": "categorical_crossentropy"},
            fit_kwargs=_CHECK_FIT,
        ),
        lamina.wrappers.SKLearnRegressor(model=_seeded_model, fit_kwargs=_CHECK_FIT),
        lamina.wrappers.SKLearnTransformer(model=_seeded_model, fit_kwargs=_CHECK_FIT),
    ],
    ids=lambda est: type(est).__name__,
)
def test_scikit_learn_estimator_checks(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed <= _EXPECTED_FAILURES[type(estimator).__name__]
    assert len(results) > 40


def test_set_fit_request_routes_sample_weight():
    import sklearn

    X, y = _regression()
    reg = lamina.wrappers.SKLearnRegressor(model=_seeded_model, fit_kwargs=_CHECK_FIT)
    with pytest.raises(RuntimeError, match="enable_metadata_routing"):
        reg.set_fit_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                             reg.set_fit_request(sample_weight=True))
        pipe.fit(X, y, sample_weight=np.zeros(len(X), "float32"))
    # Every sample weighs zero: the model saw the weights (its loss is 0).
    assert pipe[-1].history_.history["loss"] == [0.0]
