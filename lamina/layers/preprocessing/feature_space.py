"""``FeatureSpace`` (``keras.utils.FeatureSpace``): preprocessing and encoding of structured data.

A feature space maps a dict of raw columns (floats, integers, strings) to one float vector (or a
dict of encoded features) with Lamina's preprocessing layers: ``Normalization``, ``Rescaling``,
``Discretization``, ``IntegerLookup``, ``StringLookup``, ``Hashing``, ``HashedCrossing`` and
``CategoryEncoding``. The same layers are also wired symbolically from ``get_inputs()`` to
``get_encoded_features()``, so a functional model can start from the raw inputs.

Keras adapts from a ``tf.data.Dataset``; here ``adapt`` reads a dict of arrays or any iterable of
dict batches (``(x, y)`` batches give their ``x``). Outputs are torch tensors.
"""

import numpy as np
import torch

from lamina.backend.naming import to_snake_case, unique_name
from lamina.layers.core.input_layer import Input
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.feature_space_specs import Cross, Feature, TFDConcat, TFDIdentity
from lamina.layers.preprocessing.hashed_crossing import HashedCrossing
from lamina.layers.preprocessing.hashing import Hashing
from lamina.layers.preprocessing.integer_lookup import IntegerLookup
from lamina.layers.preprocessing.normalization import Normalization
from lamina.layers.preprocessing.rescaling import Rescaling
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.layers.preprocessing.text_vectorization import TextVectorization
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin

_FEATURE_TYPES = (
    "float",
    "float_rescaled",
    "float_normalized",
    "float_discretized",
    "integer_categorical",
    "string_categorical",
    "integer_hashed",
    "string_hashed",
)
# Keras batches a dataset of single samples by 32 before adapting; so do we (Discretization's
# quantile summary depends on the batching).
_ADAPT_BATCH_SIZE = 32
# Writing a ``.keras`` archive is archive saving's job, floors above layers (DESIGN.md): it installs
# its writer here when it loads (``lamina/saving/__init__.py``), for ``FeatureSpace.save``.
_ARCHIVE_WRITER = []


def set_archive_writer(save_model):
    """Install ``save_model(obj, filepath)``, which writes ``obj`` to a ``.keras`` archive."""
    _ARCHIVE_WRITER[:] = [save_model]


def _auto_name(prefix):
    return unique_name(to_snake_case(prefix))


@register_builtin("keras.utils")
class FeatureSpace(Layer):
    """Preprocesses and encodes structured data: a dict of named columns in, features out.

    Args:
        features: Dict mapping each feature name to its type: a name such as
            ``"integer_categorical"`` (default arguments) or a spec such as
            ``FeatureSpace.integer_categorical(max_tokens=10)``. Types: ``"float"``,
            ``"float_rescaled"``, ``"float_normalized"``, ``"float_discretized"``,
            ``"integer_categorical"``, ``"string_categorical"``, ``"integer_hashed"``,
            ``"string_hashed"``, or ``FeatureSpace.feature(dtype, preprocessor, output_mode)``.
        output_mode: ``"concat"`` (one float vector, features in sorted name order, then the
            crosses) or ``"dict"`` (one encoded tensor per feature and cross).
        crosses: Features to cross, e.g. ``[("f1", "f2")]`` or
            ``[FeatureSpace.cross(("f1", "f2"), crossing_dim=16)]``.
        crossing_dim: Default number of hashing bins of a cross (default 32).
        hashing_dim: Default number of bins of ``"integer_hashed"``/``"string_hashed"`` (32).
        num_discretization_bins: Default number of bins of ``"float_discretized"`` (32).
        name: Layer name.

    Example:

    ```python
    data = {
        "price": np.array([1.5, 2.0, 3.5, 0.5]),
        "color": np.array(["red", "blue", "red", "green"]),
        "rooms": np.array([1, 2, 3, 2]),
    }
    feature_space = FeatureSpace(
        features={
            "price": "float_normalized",
            "color": "string_categorical",
            "rooms": "integer_categorical",
        },
        crosses=[("color", "rooms")],
        output_mode="concat",
    )
    feature_space.adapt(data)
    vectors = feature_space(data)          # float32 tensor, shape (4, 1 + 4 + 4 + 32)
    inputs = feature_space.get_inputs()    # dict of symbolic inputs
    encoded = feature_space.get_encoded_features()
    outputs = lamina.layers.Dense(1)(encoded)
    model = lamina.Model(inputs, outputs)  # raw columns in, prediction out
    ```
    """

    # --- feature specs ----------------------------------------------------------------------
    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    # `float` shadows torch.nn.Module.float (a parameter cast) on this class only: a feature
    # space holds no parameters, and torch casts submodules through `_apply`, not `.float()`.
    @classmethod
    def float(cls, name=None):
        name = name or _auto_name("float")
        preprocessor = TFDIdentity(dtype="float32", name=f"{name}_preprocessor")
        return Feature("float32", preprocessor, "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or _auto_name("float_rescaled")
        preprocessor = Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor")
        return Feature("float32", preprocessor, "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or _auto_name("float_normalized")
        preprocessor = Normalization(axis=-1, name=f"{name}_preprocessor")
        return Feature("float32", preprocessor, "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        name = name or _auto_name("float_discretized")
        preprocessor = Discretization(
            num_bins=num_bins, bin_boundaries=bin_boundaries, name=f"{name}_preprocessor"
        )
        return Feature("float32", preprocessor, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or _auto_name("integer_categorical")
        preprocessor = IntegerLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices
        )
        return Feature("int32", preprocessor, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or _auto_name("string_categorical")
        preprocessor = StringLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices
        )
        return Feature("string", preprocessor, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or _auto_name("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or _auto_name("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    # --- construction -----------------------------------------------------------------------
    def __init__(
        self,
        features,
        output_mode="concat",
        crosses=None,
        crossing_dim=32,
        hashing_dim=32,
        num_discretization_bins=32,
        name=None,
    ):
        super().__init__(name=name)
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        if not isinstance(features, dict):
            raise TypeError(
                "`features` must be a dict mapping feature names to feature types. "
                f"Received: features={features!r} (of type {type(features).__name__})"
            )
        if output_mode not in ("dict", "concat"):
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of {'dict', 'concat'}. "
                f"Received: output_mode={output_mode!r}"
            )
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.output_mode = output_mode
        self.features = {name: self._standardize_feature(name, value) for name, value in features.items()}
        self.crosses = [self._standardize_cross(cross, features) for cross in crosses or ()]
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        self.inputs = {
            name: Input(shape=(1,), dtype=feature.dtype, name=name) for name, feature in self.features.items()
        }
        self.preprocessors = {name: feature.preprocessor for name, feature in self.features.items()}
        self.crossers = {cross.name: HashedCrossing(cross.crossing_dim, name=cross.name) for cross in self.crosses}
        self.one_hot_encoders = {}
        self.concat = None
        self.encoded_features = None
        self._is_adapted = False
        self._preprocessed_features_names = sorted(self.features)
        self._crossed_features_names = sorted(self.crossers)
        self._sublayers_built = False

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            feature = serialization_lib.deserialize_keras_object(feature)
            if isinstance(feature, Feature):
                return feature
        makers = {
            "float": lambda: self.float(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_discretized": lambda: self.float_discretized(self.num_discretization_bins, name=name),
            "integer_categorical": lambda: self.integer_categorical(name=name),
            "string_categorical": lambda: self.string_categorical(name=name),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name),
        }
        if isinstance(feature, str) and feature in makers:
            return makers[feature]()
        raise ValueError(
            f"Invalid feature type for feature '{name}': {feature!r}. Expected one of "
            f"{list(_FEATURE_TYPES)} or a spec from `FeatureSpace.feature()` / "
            "`FeatureSpace.float_normalized()` / ..."
        )

    def _standardize_cross(self, cross, features):
        if isinstance(cross, dict):
            cross = serialization_lib.deserialize_keras_object(cross)
        if not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError(
                    "When specifying `crosses`, the argument `crossing_dim` (dimensionality of the "
                    "crossing space) should be specified as well."
                )
            cross = Cross(cross, crossing_dim=self.crossing_dim)
        unknown = [name for name in cross.feature_names if name not in features]
        if unknown:
            raise ValueError(
                "All features referenced in the `crosses` argument should be present in the "
                f"`features` dict. Received unknown features {unknown} in cross {cross.feature_names}"
            )
        return cross

    # --- adapt ------------------------------------------------------------------------------
    def _list_adaptable_preprocessors(self):
        names = []
        for name in self.features:
            preprocessor = self.preprocessors[name]
            # Layers whose state was given up front have nothing to learn.
            if isinstance(preprocessor, Normalization) and preprocessor.input_mean is not None:
                continue
            if isinstance(preprocessor, TextVectorization) and preprocessor._has_input_vocabulary:
                continue
            if isinstance(preprocessor, Discretization) and preprocessor.num_bins is None:
                continue
            if hasattr(preprocessor, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset):
        """Learn the state of every adaptable preprocessor (vocabularies, means, bins) from data.

        Args:
            dataset: A dict mapping feature names to arrays or lists (one value per sample), or
                an iterable of such dicts (batches, or single samples), e.g. a Lamina dataset or
                a generator; ``(x, y)`` elements give their ``x``.
        """
        names = self._list_adaptable_preprocessors()
        columns = {name: [] for name in names}
        for batch in _dict_batches(dataset):
            for name in names:
                if name not in batch:
                    raise ValueError(
                        f"FeatureSpace.adapt(): the data has no feature '{name}'. "
                        f"Received features: {sorted(batch)}"
                    )
                columns[name].append(_column(batch[name]))
        for name in names:
            if not columns[name]:
                raise ValueError("FeatureSpace.adapt() received no data.")
            self.preprocessors[name].adapt(iter(columns[name]))
        self._is_adapted = True
        # Adapting again may change vocabulary sizes: the encoders are made anew for the new state.
        self.encoded_features = None
        self.get_encoded_features()
        self.built = True
        self._sublayers_built = True

    # --- symbolic graph ---------------------------------------------------------------------
    def get_inputs(self):
        """The dict of symbolic inputs (``Input(shape=(1,))``, one per feature)."""
        self._check_if_built()
        return self.inputs

    def get_encoded_features(self):
        """The symbolic encoded features computed from ``get_inputs()`` (a tensor or a dict)."""
        self._check_if_adapted()
        if self.encoded_features is None:
            preprocessed = self._preprocess_features(self.inputs)
            crossed = self._cross_features(preprocessed)
            self._make_encoders(preprocessed, crossed)
            self.encoded_features = self._merge_features(preprocessed, crossed)
        return self.encoded_features

    def _preprocess_features(self, features):
        return {name: self.preprocessors[name](features[name]) for name in self.features}

    def _cross_features(self, features):
        return {
            cross.name: self.crossers[cross.name]([features[name] for name in cross.feature_names])
            for cross in self.crosses
        }

    def _spec(self, name):
        return self.features[name] if name in self.features else self.crosses_by_name[name]

    def _cardinality(self, name):
        layer = self.preprocessors.get(name) or self.crossers.get(name)
        if isinstance(layer, (IntegerLookup, StringLookup)):
            return layer.vocabulary_size()
        if isinstance(layer, CategoryEncoding):
            return layer.num_tokens
        if isinstance(layer, Discretization):
            # Keras reads `num_bins` only, which is None when the boundaries were given.
            return layer.num_bins if layer.num_bins is not None else len(layer.bin_boundaries) + 1
        if isinstance(layer, (Hashing, HashedCrossing)):
            return layer.num_bins
        raise ValueError(
            f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard feature and "
            "the dimensionality of its output space is not known, thus it cannot be one-hot "
            "encoded. Try using `output_mode='int'`."
        )

    def _make_encoders(self, preprocessed, crossed):
        """Create the one-hot encoders and the concatenation, checking the symbolic dtypes."""
        symbolic = {**preprocessed, **crossed}
        encoders = {}
        for name in self._preprocessed_features_names + self._crossed_features_names:
            dtype = symbolic[name].dtype
            if self._spec(name).output_mode == "one_hot":
                if not dtype.startswith("int"):
                    raise ValueError(
                        f"Feature '{name}' has `output_mode='one_hot'`. Thus its preprocessor should "
                        f"return an integer dtype. Instead it returns a {dtype} dtype."
                    )
                encoders[name] = CategoryEncoding(num_tokens=self._cardinality(name), output_mode="multi_hot")
                dtype = encoders[name].compute_dtype
            unencoded = dtype.startswith(("int", "uint")) or dtype == "string"
            if self.output_mode == "concat" and unencoded:
                raise ValueError(
                    f"Cannot concatenate features because feature '{name}' has not been encoded (it "
                    f"has dtype {dtype}). Consider using `output_mode='dict'`."
                )
        # Re-assigned (not filled in place) so the layer tracks the encoders for saving.
        self.one_hot_encoders = encoders
        if self.output_mode == "concat":
            self.concat = TFDConcat(axis=-1)

    def _merge_features(self, preprocessed, crossed):
        values = {**preprocessed, **crossed}
        encoded = {}
        for name in self._preprocessed_features_names + self._crossed_features_names:
            encoder = self.one_hot_encoders.get(name)
            encoded[name] = encoder(values[name]) if encoder is not None else values[name]
        if self.output_mode == "dict":
            return encoded
        return self.concat(list(encoded.values()))

    def _check_if_adapted(self):
        if not self._is_adapted:
            if self._list_adaptable_preprocessors():
                raise ValueError(
                    "You need to call `.adapt(dataset)` on the FeatureSpace before you can start using it."
                )
            self._is_adapted = True

    def _check_if_built(self):
        if not self._sublayers_built:
            self._check_if_adapted()
            self.get_encoded_features()
            self._sublayers_built = True

    # --- eager call -------------------------------------------------------------------------
    def _convert_input(self, name, value):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        value = np.asarray(value)
        if self.features[name].dtype.startswith("float") and value.dtype.kind in "biuf":
            value = value.astype(self.features[name].dtype)
        return value

    def __call__(self, data):
        """Preprocess and encode a dict of columns (batched, or a single sample of scalars)."""
        self._check_if_built()
        if not isinstance(data, dict):
            raise ValueError(
                f"A FeatureSpace can only be called with a dict. Received: data={data!r} (of type {type(data)})"
            )
        missing = [name for name in self.features if name not in data]
        unknown = [name for name in data if name not in self.features]
        if missing or unknown:
            raise ValueError(
                f"FeatureSpace '{self.name}' expects the features {list(self.features)}. "
                f"Missing: {missing}; unknown: {unknown}"
            )
        columns, rebatched = {}, False
        for name in self.features:
            x = self._convert_input(name, data[name])
            if x.ndim == 0:
                x, rebatched = x.reshape(1, 1), True
            elif x.ndim == 1:
                x = x[:, None]
            columns[name] = x
        preprocessed = self._preprocess_features(columns)
        merged = self._merge_features(preprocessed, self._cross_features(preprocessed))
        if rebatched:
            if self.output_mode == "concat":
                return merged.squeeze(0)
            return {
                name: x.squeeze(0) if x.ndim == 2 and x.shape[0] == 1 else x for name, x in merged.items()
            }
        return merged

    # --- config and saving ------------------------------------------------------------------
    def get_config(self):
        return {
            "features": {
                name: serialization_lib.serialize_keras_object(feature) for name, feature in self.features.items()
            },
            "output_mode": self.output_mode,
            "crosses": [serialization_lib.serialize_keras_object(cross) for cross in self.crosses],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        return {name: feature.preprocessor.get_build_config() for name, feature in self.features.items()}

    def build_from_config(self, config):
        for name, build_config in config.items():
            preprocessor = self.features[name].preprocessor
            if not preprocessor.built and build_config is not None:
                preprocessor.build_from_config(build_config)
        # A reloaded feature space has its state from the file; the encoders are made on first use.
        self._is_adapted = True

    def save(self, filepath):
        """Save the feature space to a ``.keras`` file; reload it with ``lamina.models.load_model``."""
        if not _ARCHIVE_WRITER:
            raise RuntimeError("`FeatureSpace.save` needs `lamina.saving`: `import lamina` first.")
        _ARCHIVE_WRITER[0](self, filepath)

    # Keras writes an empty `vars` group for the feature space itself; the state lives in the
    # preprocessors, saved under `preprocessors/<layer>`.
    def save_own_variables(self, store):
        return

    def load_own_variables(self, store):
        return


def _dict_batches(dataset):
    """Yield dicts of column batches from a dict of columns or an iterable of dicts."""
    if isinstance(dataset, dict):
        columns = {name: np.asarray(_host(value)) for name, value in dataset.items()}
        sizes = {name: (len(col) if col.ndim else 1) for name, col in columns.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"FeatureSpace.adapt(): all features must have the same length. Received: {sizes}")
        size = next(iter(sizes.values()), 0)
        for start in range(0, size, _ADAPT_BATCH_SIZE):
            stop = start + _ADAPT_BATCH_SIZE
            yield {name: col[start:stop] if col.ndim else col for name, col in columns.items()}
        return
    if isinstance(dataset, (str, bytes, np.ndarray, torch.Tensor)) or not hasattr(dataset, "__iter__"):
        raise ValueError(
            "`adapt()` can only be called on a dict of arrays/lists or an iterable of dict batches. "
            f"Received instead: {dataset!r} (of type {type(dataset)})"
        )
    samples = []
    for element in dataset:
        if isinstance(element, (tuple, list)) and element:
            element = element[0]
        if not isinstance(element, dict):
            raise ValueError(
                "`adapt()` expects an iterable of dicts mapping feature names to values. "
                f"Received an element of type {type(element).__name__}"
            )
        element = {name: np.asarray(_host(value)) for name, value in element.items()}
        if all(value.ndim == 0 for value in element.values()):
            # Single samples: batch them as Keras does.
            samples.append(element)
            if len(samples) == _ADAPT_BATCH_SIZE:
                yield _stack(samples)
                samples = []
            continue
        yield element
    if samples:
        yield _stack(samples)


def _host(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def _stack(samples):
    return {name: np.stack([sample[name] for sample in samples]) for name in samples[0]}


def _column(values):
    """A column batch shaped ``(batch, 1)`` (Keras adapts on rank-2 data)."""
    values = np.asarray(values)
    if values.ndim == 0:
        return values.reshape(1, 1)
    if values.ndim == 1:
        return values[:, None]
    return values
