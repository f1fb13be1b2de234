"""scikit-learn estimators around Lamina models: classifier, regressor, transformer.

scikit-learn is optional (``pip install scikit-learn``); the classes exist without it and say
what to install when they are constructed.
"""

import copy

import numpy as np

from lamina.models.cloning import clone_model

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


def _require_sklearn(name):
    if sklearn is None:
        raise ImportError(
            f"{name} requires `scikit-learn` to be installed. Run `pip install scikit-learn` "
            "(or `pip install lamina[sklearn]`) to install it."
        )


def _validate_data(estimator, *args, **kwargs):
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return estimator._validate_data(*args, **kwargs)
    return validate_data(estimator, *args, **kwargs)


def _target_type(y):
    from sklearn.utils.multiclass import type_of_target

    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


def _clone_compiled(model):
    """A clone with fresh weights, compiled as ``model`` is (with a new optimizer)."""
    from lamina import optimizers

    clone = clone_model(model)
    if getattr(model, "compiled", False) and not getattr(clone, "compiled", False):
        config = dict(model.get_compile_config() or {})
        optimizer = config.get("optimizer")
        config["optimizer"] = (
            optimizers.deserialize(optimizer) if isinstance(optimizer, dict) else optimizer
        )
        if config.get("loss") is None:
            # A loss that does not serialize (a plain function): the same object is reusable.
            config["loss"] = model.loss
        allowed = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly")
        clone.compile(**{k: config[k] for k in allowed if config.get(k) is not None})
    return clone


def _check_compiled(model):
    if not getattr(model, "compiled", False) or not model.loss or not model.optimizer:
        raise RuntimeError(
            "Given model needs to be compiled, and have a loss and an optimizer. Received a "
            f"model with loss={getattr(model, 'loss', None)!r} and "
            f"optimizer={getattr(model, 'optimizer', None)!r}."
        )


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes 1-D targets 2-D (what `OneHotEncoder` and the model expect) and back."""

    def fit(self, y):
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


class SKLBase(BaseEstimator):
    """Shared machinery of the scikit-learn wrappers.

    Args:
        model: A compiled `Model`, or a callable returning one. A `Model` is cloned with
            `lamina.models.clone_model` (fresh weights, same compile arguments) at each `fit`;
            a callable is called as ``model(X=X, y=y, **model_kwargs)`` with the training data
            (``y`` after the target encoding: one-hot for the classifier).
        warm_start: When ``True``, a second `fit` continues training the fitted model instead
            of starting from a new one.
        model_kwargs: Keyword arguments for ``model`` when it is a callable.
        fit_kwargs: Keyword arguments for ``Model.fit`` (``epochs``, ``batch_size``, ...);
            arguments given to the wrapper's `fit` take precedence.

    Attributes:
        model_: The fitted model.
        history_: The `History` returned by ``Model.fit``.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        # A Model instance is not a plain parameter: `sklearn.clone` would try to copy its
        # config. Deep-copy it instead (a callable is shared).
        is_model = hasattr(self.model, "layers") and hasattr(self.model, "fit")
        model = copy.deepcopy(self.model) if is_model or not callable(self.model) else self.model
        return type(self)(
            model=model,
            warm_start=self.warm_start,
            model_kwargs=self.model_kwargs,
            fit_kwargs=self.fit_kwargs,
        )

    @property
    def epoch_(self):
        """The number of epochs of the last `fit`."""
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def set_fit_request(self, **kwargs):
        """Ask scikit-learn's metadata routing to pass these ``fit`` arguments to this estimator.

        E.g. ``est.set_fit_request(sample_weight=True)`` inside a `Pipeline` or search: the
        routed ``sample_weight`` reaches ``Model.fit``. Needs
        ``sklearn.set_config(enable_metadata_routing=True)``.

        Args:
            **kwargs: ``param=alias`` with alias ``True``, ``False``, ``None`` or a string.

        Returns:
            The estimator.
        """
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "This method is only available when metadata routing is enabled. You can "
                "enable it using sklearn.set_config(enable_metadata_routing=True)."
            )
        requests = self._get_metadata_request()
        for param, alias in kwargs.items():
            requests.fit.add_request(param=param, alias=alias)
        self._metadata_request = requests
        return self

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if hasattr(self.model, "layers") and hasattr(self.model, "fit"):
            return _clone_compiled(self.model)
        if not callable(self.model):
            raise TypeError(
                "`model` must be a compiled Model or a callable returning one. "
                f"Received: {type(self.model).__name__}"
            )
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Train a model (new, unless ``warm_start``) on ``X`` and ``y``.

        Args:
            X: Array-like of shape ``(n_samples, n_features)``.
            y: Array-like of shape ``(n_samples,)`` or ``(n_samples, n_outputs)``.
            **kwargs: Passed to ``Model.fit``, over ``fit_kwargs``.

        Returns:
            The fitted estimator.
        """
        X, y = _validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        _check_compiled(model)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def predict(self, X):
        """The model's predictions for ``X`` (class labels for the classifier)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return self._reverse_process_target(np.asarray(self.model_.predict(X, verbose=0)))

    def _process_target(self, y, reset=False):
        _target_type(y)
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a Lamina model.

    The labels are one-hot encoded for training (so the model ends in one unit per class,
    with e.g. ``categorical_crossentropy``), and `predict` returns the label of the largest
    output. Only binary and multiclass targets are supported.

    Args: as `SKLBase` (``model``, ``warm_start``, ``model_kwargs``, ``fit_kwargs``).

    Attributes:
        model_: The fitted model.
        history_: The `History` of the last fit.
        classes_: The class labels.

    Example:

    >>> def make_model(X, y, hidden=16):
    ...     inputs = lamina.Input((X.shape[1],))
    ...     h = lamina.layers.Dense(hidden, activation="relu")(inputs)
    ...     outputs = lamina.layers.Dense(y.shape[1], activation="softmax")(h)
    ...     model = lamina.Model(inputs, outputs)
    ...     model.compile(loss="categorical_crossentropy", optimizer="adam")
    ...     return model
    >>> clf = lamina.wrappers.SKLearnClassifier(
    ...     model=make_model, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 5, "verbose": 0})
    >>> clf.fit(X, y).score(X, y)
    """

    def decision_function(self, X):
        """The model's raw outputs for ``X``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def _process_target(self, y, reset=False):
        target_type = _target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Only binary and multiclass target types are supported. Target type: {target_type}"
            )
        if reset:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import OneHotEncoder

            self._target_encoder = make_pipeline(
                _TargetReshaper(), OneHotEncoder(sparse_output=False)
            ).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def _more_tags(self):
        return {"poor_score": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a Lamina model (`score` is R²).

    Args: as `SKLBase` (``model``, ``warm_start``, ``model_kwargs``, ``fit_kwargs``).

    Attributes:
        model_: The fitted model.
        history_: The `History` of the last fit.

    Example:

    >>> def make_model(X, y):
    ...     model = lamina.Sequential([lamina.Input((X.shape[1],)), lamina.layers.Dense(y.shape[1])])
    ...     model.compile(loss="mse", optimizer="adam")
    ...     return model
    >>> reg = lamina.wrappers.SKLearnRegressor(model=make_model, fit_kwargs={"epochs": 20})
    >>> reg.fit(X, y).predict(X)
    """

    def _more_tags(self):
        return {"poor_score": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around a Lamina model: `transform` returns its predictions.

    Handy for an embedding step in a `Pipeline` (wrap it in ``sklearn.frozen.FrozenEstimator``
    to keep a trained model from being fitted again).

    Args: as `SKLBase` (``model``, ``warm_start``, ``model_kwargs``, ``fit_kwargs``).

    Attributes:
        model_: The fitted model.
        history_: The `History` of the last fit.

    Example:

    >>> pipe = sklearn.pipeline.make_pipeline(
    ...     lamina.wrappers.SKLearnTransformer(model=make_encoder), LogisticRegression())
    >>> pipe.fit(X, y)
    """

    def transform(self, X):
        """The model's outputs for ``X``, shape ``(n_samples, n_outputs)``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def _more_tags(self):
        return {"preserves_dtype": []}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
