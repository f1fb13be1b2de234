"""``lamina.utils.FeatureSpace`` (``keras.utils.FeatureSpace``).

Keras's FeatureSpace needs TensorFlow for its lookup and hashing layers, for ``adapt`` and for
eager calls; the oracle (Keras on JAX, no TensorFlow) can still build the symbolic graph of the
numeric features and read and write ``.keras`` files, so the numeric feature types are compared
with Keras's own graph and files. The categorical ones are checked against their layers (each
tested against Keras in tests/layers/preprocessing).
"""

import json
import os
import zipfile

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.utils import FeatureSpace


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "price": rng.normal(10.0, 3.0, size=n).astype("float32"),
        "area": rng.uniform(20, 200, size=n).astype("float32"),
        "floor": rng.uniform(0, 10, size=n).astype("float32"),
        "raw": rng.uniform(-1, 1, size=n).astype("float32"),
        "color": rng.choice(["red", "green", "blue", "black"], size=n),
        "rooms": rng.integers(1, 6, size=n),
        "street": rng.choice([f"street_{i}" for i in range(30)], size=n),
        "zip": rng.integers(1000, 1100, size=n),
    }


def _full_space(output_mode="concat"):
    return FeatureSpace(
        features={
            "price": "float_normalized",
            "area": FeatureSpace.float_rescaled(scale=0.01, offset=-1.0),
            "floor": FeatureSpace.float_discretized(num_bins=4),
            "raw": "float",
            "color": "string_categorical",
            "rooms": FeatureSpace.integer_categorical(max_tokens=4),
            "street": FeatureSpace.string_hashed(num_bins=8),
            "zip": FeatureSpace.integer_hashed(num_bins=5),
        },
        crosses=[("color", "rooms"), FeatureSpace.cross(("street", "zip"), crossing_dim=6)],
        output_mode=output_mode,
    )


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _expected_encoding(fs, data):
    """The concat output built by hand from the adapted layers, in Keras's order."""
    col = {k: np.asarray(v)[:, None] for k, v in data.items()}
    pre = fs.preprocessors
    onehot = lambda idx, depth: np.eye(depth, dtype="float32")[_np(idx).reshape(-1)]  # noqa: E731
    parts = {
        "area": _np(pre["area"](col["area"])),
        "color": onehot(pre["color"](col["color"]), pre["color"].vocabulary_size()),
        "floor": onehot(pre["floor"](col["floor"]), 4),
        "price": _np(pre["price"](col["price"])),
        "raw": col["raw"],
        "rooms": onehot(pre["rooms"](col["rooms"]), 4),
        "street": onehot(pre["street"](col["street"]), 8),
        "zip": onehot(pre["zip"](col["zip"]), 5),
    }
    color_idx, rooms_idx = pre["color"](col["color"]), pre["rooms"](col["rooms"])
    parts["color_X_rooms"] = onehot(layers.HashedCrossing(32)([color_idx, rooms_idx]), 32)
    street_idx, zip_idx = pre["street"](col["street"]), pre["zip"](col["zip"])
    parts["street_X_zip"] = onehot(layers.HashedCrossing(6)([street_idx, zip_idx]), 6)
    features = sorted(fs.features)  # the features in name order, then the crosses in name order
    return np.concatenate([parts[k] for k in features + ["color_X_rooms", "street_X_zip"]], axis=-1)


def test_concat_output_is_each_feature_encoded_in_sorted_order():
    data = _data()
    fs = _full_space()
    fs.adapt(data)
    out = fs(data)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    # area 1 + color 5 + floor 4 + price 1 + raw 1 + rooms 4 + street 8 + zip 5 + crosses 32 + 6
    assert tuple(out.shape) == (120, 67)
    np.testing.assert_allclose(_np(out), _expected_encoding(fs, data), rtol=1e-6, atol=1e-6)
    # Normalized, rescaled, adapted as Keras does.
    np.testing.assert_allclose(_np(fs.preprocessors["price"].mean).ravel(), [data["price"].mean()], rtol=1e-5)
    assert fs.preprocessors["color"].get_vocabulary()[0] == "[UNK]"
    assert len(fs.preprocessors["floor"].bin_boundaries) == 3
    encoded = fs.get_encoded_features()
    assert lamina.utils.is_keras_tensor(encoded) and tuple(encoded.shape) == (None, 67)
    # Torch tensors, lists and float64 columns are accepted too.
    mixed = {k: (torch.as_tensor(v) if v.dtype.kind in "if" else v.tolist()) for k, v in data.items()}
    mixed["price"] = data["price"].astype("float64")
    np.testing.assert_allclose(_np(fs(mixed)), _np(out), rtol=1e-6)


def test_dict_output_mode_and_int_features():
    data = _data()
    fs = FeatureSpace(
        features={
            "color": FeatureSpace.string_categorical(output_mode="int"),
            "rooms": FeatureSpace.integer_categorical(output_mode="int"),
            "price": "float_normalized",
        },
        crosses=[FeatureSpace.cross(("color", "rooms"), crossing_dim=16, output_mode="int")],
        output_mode="dict",
    )
    data = {k: data[k] for k in ("color", "rooms", "price")}
    fs.adapt(data)
    out = fs(data)
    assert sorted(out) == ["color", "color_X_rooms", "price", "rooms"]
    assert out["color"].dtype == torch.int64 and tuple(out["color"].shape) == (120, 1)
    np.testing.assert_array_equal(_np(out["color"]), _np(fs.preprocessors["color"](data["color"][:, None])))
    assert int(out["color_X_rooms"].max()) < 16
    assert fs.crossers["color_X_rooms"].num_bins == 16
    encoded = fs.get_encoded_features()
    assert sorted(encoded) == sorted(out) and encoded["rooms"].dtype == "int64"


def test_single_sample_of_scalars_is_unbatched():
    data = _data()
    for mode in ("concat", "dict"):
        fs = _full_space(mode)
        fs.adapt(data)
        sample = {k: v[3] for k, v in data.items()}
        batch = fs({k: v[3:4] for k, v in data.items()})
        one = fs(sample)
        if mode == "concat":
            assert tuple(one.shape) == (67,)
            np.testing.assert_allclose(_np(one), _np(batch)[0])
        else:
            assert tuple(one["price"].shape) == (1,) and tuple(one["color"].shape) == (5,)
            np.testing.assert_allclose(_np(one["color"]), _np(batch["color"])[0])


def test_adapt_from_batches_samples_and_pairs_equals_adapt_from_dict():
    data = _data()
    reference = _full_space()
    reference.adapt(data)
    n = len(data["price"])
    # A generator of (x, y) batches of 32 (Keras batches a dict dataset by 32 before adapting),
    # and a list of single samples.
    sources = [
        (({k: v[i : i + 32] for k, v in data.items()}, np.zeros(32)) for i in range(0, n, 32)),
        [{k: v[i] for k, v in data.items()} for i in range(n)],
        ({k: torch.as_tensor(v[i : i + 32]) if v.dtype.kind != "U" else v[i : i + 32] for k, v in data.items()}
         for i in range(0, n, 32)),
    ]
    for source in sources:
        fs = _full_space()
        fs.adapt(source)
        np.testing.assert_allclose(_np(fs(data)), _np(reference(data)), rtol=1e-5, atol=1e-6)
        boundaries = reference.preprocessors["floor"].bin_boundaries
        assert fs.preprocessors["floor"].bin_boundaries == pytest.approx(boundaries)


def test_adapting_again_resizes_the_encodings():
    fs = FeatureSpace(features={"color": "string_categorical"})
    fs.adapt({"color": np.array(["a", "b"])})
    assert tuple(fs({"color": np.array(["a"])}).shape) == (1, 3)
    fs.adapt({"color": np.array(["a", "b", "c", "d"])})
    index = fs.preprocessors["color"].get_vocabulary().index("d")
    np.testing.assert_array_equal(_np(fs({"color": np.array(["d"])})), np.eye(5)[[index]])
    assert tuple(fs.get_encoded_features().shape) == (None, 5)


def test_string_feature_names_use_the_defaults():
    fs = FeatureSpace(
        features={"a": "float_discretized", "b": "integer_hashed", "c": "string_hashed"},
        crossing_dim=8,
        hashing_dim=7,
        num_discretization_bins=3,
    )
    assert fs.preprocessors["a"].num_bins == 3
    assert fs.preprocessors["b"].num_bins == 7 and fs.preprocessors["c"].num_bins == 7
    assert fs.preprocessors["a"].name == "a_preprocessor"
    assert fs.features["c"].dtype == "string" and fs.features["b"].dtype == "int32"
    assert fs.inputs["c"].dtype == "string" and tuple(fs.inputs["c"].shape) == (None, 1)


def test_hashed_and_rescaled_features_need_no_adapt():
    fs = FeatureSpace(
        features={"street": FeatureSpace.string_hashed(num_bins=4), "area": "float_rescaled", "raw": "float"},
    )
    data = _data()
    out = fs({k: data[k] for k in ("street", "area", "raw")})
    assert tuple(out.shape) == (120, 6)
    assert set(fs.get_inputs()) == {"street", "area", "raw"}


def test_discretized_with_given_boundaries_is_not_adapted_and_one_hot_encodes():
    fs = FeatureSpace(
        features={"floor": FeatureSpace.float_discretized(num_bins=None, bin_boundaries=[2.0, 5.0])},
    )
    fs.adapt({"floor": np.array([1.0, 3.0, 9.0])})
    np.testing.assert_array_equal(_np(fs({"floor": np.array([1.0, 3.0, 9.0])})), np.eye(3, dtype="float32"))


def test_custom_feature_with_text_vectorization():
    texts = np.array(["the cat sat", "the dog ran", "a cat ran"])
    fs = FeatureSpace(
        features={
            "text": FeatureSpace.feature(
                preprocessor=layers.TextVectorization(output_mode="tf_idf"), dtype="string", output_mode="float"
            )
        },
        output_mode="concat",
    )
    fs.adapt({"text": texts})
    vectorizer = fs.preprocessors["text"]
    np.testing.assert_allclose(_np(fs({"text": texts})), _np(vectorizer(texts[:, None])), rtol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="cannot be None or empty"):
        FeatureSpace(features={})
    with pytest.raises(ValueError, match="Invalid feature type"):
        FeatureSpace(features={"a": "floaty"})
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace(features={"a": "float"}, output_mode="list")
    with pytest.raises(ValueError, match="unknown features"):
        FeatureSpace(features={"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace.integer_categorical(output_mode="multi_hot")
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace.cross(("a", "b"), 4, output_mode="float")
    fs = FeatureSpace(features={"price": "float_normalized", "color": "string_categorical"})
    with pytest.raises(ValueError, match=r"call `\.adapt\(dataset\)`"):
        fs({"price": np.ones(2), "color": np.array(["a", "b"])})
    with pytest.raises(ValueError, match="can only be called on a dict"):
        fs.adapt(np.ones(3))
    with pytest.raises(ValueError, match="has no feature 'color'"):
        fs.adapt({"price": np.ones(3)})
    fs.adapt({"price": np.ones(3), "color": np.array(["a", "b", "a"])})
    with pytest.raises(ValueError, match="only be called with a dict"):
        fs([np.ones(2)])
    with pytest.raises(ValueError, match=r"Missing: \['color'\]; unknown: \['size'\]"):
        fs({"price": np.ones(2), "size": np.ones(2)})
    # An integer feature left unencoded cannot be concatenated.
    fs = FeatureSpace(features={"rooms": FeatureSpace.integer_categorical(output_mode="int")})
    with pytest.raises(ValueError, match="Cannot concatenate features because feature 'rooms'"):
        fs.adapt({"rooms": np.array([1, 2])})
    # One-hot needs an integer preprocessor of known size.
    fs = FeatureSpace(features={"x": FeatureSpace.feature("float32", layers.Rescaling(2.0), "one_hot")})
    with pytest.raises(ValueError, match="should return an integer dtype"):
        fs.get_encoded_features()


def test_config_round_trip():
    fs = _full_space("dict")
    config = fs.get_config()
    json.dumps(config)
    assert sorted(config) == [
        "crosses", "crossing_dim", "features", "hashing_dim", "num_discretization_bins", "output_mode"
    ]
    assert config["features"]["color"]["class_name"] == "Feature"
    assert config["features"]["color"]["module"] == "keras.src.layers.preprocessing.feature_space"
    assert config["features"]["color"]["config"]["preprocessor"]["class_name"] == "StringLookup"
    assert config["crosses"][1] == {
        "module": "keras.src.layers.preprocessing.feature_space",
        "class_name": "Cross",
        # In memory a config keeps the tuple the user gave, as Keras's does (JSON makes it a list).
        "config": {"feature_names": ("street", "zip"), "crossing_dim": 6, "output_mode": "one_hot"},
        "registered_name": "Cross",
    }
    clone = FeatureSpace.from_config(config)
    assert clone.get_config() == config
    assert [c.name for c in clone.crosses] == ["color_X_rooms", "street_X_zip"]
    revived = lamina.saving.deserialize_keras_object(lamina.saving.serialize_keras_object(fs))
    assert isinstance(revived, FeatureSpace) and revived.get_config() == config


def test_save_and_load_every_feature_type(tmp_path):
    data = _data()
    fs = _full_space()
    fs.adapt(data)
    path = str(tmp_path / "fs.keras")
    fs.save(path)
    loaded = lamina.models.load_model(path)
    assert isinstance(loaded, FeatureSpace)
    np.testing.assert_allclose(_np(loaded(data)), _np(fs(data)), rtol=1e-6)
    assert loaded.preprocessors["color"].get_vocabulary() == fs.preprocessors["color"].get_vocabulary()
    # Keras's layout: the state under preprocessors/<layer>, vocabularies as assets.
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        with h5py.File(zf.open("model.weights.h5"), "r") as h5:
            groups = []
            h5.visit(groups.append)
    assert "assets/preprocessors/string_lookup/vocabulary.txt" in names
    assert "preprocessors/normalization/vars/2" in groups
    expected = {"concat/vars", "crossers/hashed_crossing_1/vars", "one_hot_encoders/category_encoding_6/vars", "vars"}
    assert expected <= set(groups)


# --- against Keras --------------------------------------------------------------------------

_NUMERIC = ("price", "area", "floor", "raw")


def _numeric_specs(module):
    fs = module.utils.FeatureSpace
    return {
        "price": fs.float_normalized(name="price"),
        "area": fs.float_rescaled(scale=0.01, offset=-1.0, name="area"),
        "floor": fs.float_discretized(num_bins=4, name="floor"),
        "raw": fs.float(name="raw"),
    }


def _keras_numeric_space(keras, lamina_space, data):
    """Keras's FeatureSpace with the state Lamina learned (Keras cannot adapt without TensorFlow)."""
    fs = keras.utils.FeatureSpace(features=_numeric_specs(keras), output_mode="concat")
    fs.preprocessors["price"].adapt(data["price"][:, None])
    fs.preprocessors["floor"].bin_boundaries = list(lamina_space.preprocessors["floor"].bin_boundaries)
    fs._is_adapted = True
    return fs


@pytest.mark.oracle
def test_numeric_features_match_keras_graph(oracle):
    data = {k: v for k, v in _data().items() if k in _NUMERIC}
    fs = FeatureSpace(features=_numeric_specs(lamina), output_mode="concat")
    fs.adapt(data)
    kfs = _keras_numeric_space(oracle, fs, data)
    kmodel = oracle.Model(kfs.get_inputs(), kfs.get_encoded_features())
    # Keys in the order of Keras's (sorted) inputs, which Keras would otherwise warn about.
    expected = kmodel.predict({k: data[k][:, None] for k in sorted(data)}, verbose=0)
    np.testing.assert_allclose(_np(fs(data)), expected, rtol=1e-5, atol=1e-6)
    # The same graph in Lamina: raw inputs in, the encoding out.
    model = lamina.Model(fs.get_inputs(), fs.get_encoded_features())
    got = model.predict({k: v[:, None] for k, v in data.items()}, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert fs.get_config()["features"].keys() == kfs.get_config()["features"].keys()
    assert {k: v for k, v in fs.get_config().items() if k != "features"} == {
        k: v for k, v in kfs.get_config().items() if k != "features"
    }


@pytest.mark.oracle
def test_keras_saved_feature_space_loads_and_lamina_saved_one_loads_in_keras(oracle, tmp_path):
    data = {k: v for k, v in _data().items() if k in _NUMERIC}
    columns = {k: data[k][:, None] for k in sorted(data)}
    fs = FeatureSpace(features=_numeric_specs(lamina), output_mode="concat")
    fs.adapt(data)
    kfs = _keras_numeric_space(oracle, fs, data)
    expected = oracle.Model(kfs.get_inputs(), kfs.get_encoded_features()).predict(columns, verbose=0)
    kfs.built = kfs._sublayers_built = True
    keras_path, lamina_path = str(tmp_path / "k.keras"), str(tmp_path / "l.keras")
    kfs.save(keras_path)
    from_keras = lamina.models.load_model(keras_path)
    assert isinstance(from_keras, FeatureSpace)
    np.testing.assert_allclose(_np(from_keras(data)), expected, rtol=1e-5, atol=1e-6)

    fs.save(lamina_path)
    in_keras = oracle.saving.load_model(lamina_path)
    got = oracle.Model(in_keras.get_inputs(), in_keras.get_encoded_features()).predict(columns, verbose=0)
    np.testing.assert_allclose(got, _np(fs(data)), rtol=1e-5, atol=1e-6)

    def groups(path):
        with zipfile.ZipFile(path) as zf, h5py.File(zf.open("model.weights.h5"), "r") as h5:
            found = []
            h5.visit(found.append)
            return sorted(found)

    assert groups(lamina_path) == groups(keras_path)


# --- the Keras structured-data classification example, on synthetic data ---------------------


def _patients(n, seed):
    rng = np.random.default_rng(seed)
    x = {
        "sex": rng.integers(0, 2, size=n),
        "cp": rng.integers(0, 4, size=n),
        "fbs": rng.integers(0, 2, size=n),
        "thal": rng.choice(["fixed", "normal", "reversible"], size=n),
        "age": rng.uniform(30, 80, size=n).astype("float32"),
        "chol": rng.normal(240, 40, size=n).astype("float32"),
        "oldpeak": rng.exponential(1.0, size=n).astype("float32"),
    }
    risk = (x["age"] - 55) / 10 + (x["thal"] == "reversible") * 1.5 + x["cp"] * 0.5 - (x["chol"] < 220) * 0.5
    y = (risk + rng.normal(0, 0.3, size=n) > 0.5).astype("float32")
    return x, y


def test_structured_data_classification_example(tmp_path):
    lamina.utils.set_random_seed(0)
    x_train, y_train = _patients(512, seed=1)
    x_val, y_val = _patients(128, seed=2)
    feature_space = FeatureSpace(
        features={
            "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
            "cp": FeatureSpace.integer_categorical(num_oov_indices=0),
            "fbs": FeatureSpace.integer_categorical(num_oov_indices=0),
            "thal": FeatureSpace.string_categorical(num_oov_indices=0),
            "age": FeatureSpace.float_discretized(num_bins=10),
            "chol": FeatureSpace.float_normalized(),
            "oldpeak": FeatureSpace.float_normalized(),
        },
        crosses=[
            FeatureSpace.cross(feature_names=("sex", "age"), crossing_dim=16),
            FeatureSpace.cross(feature_names=("thal", "cp"), crossing_dim=8),
        ],
        output_mode="concat",
    )

    def train_batches():
        for i in range(0, 512, 64):
            yield {k: v[i : i + 64] for k, v in x_train.items()}, y_train[i : i + 64]

    feature_space.adapt(x for x, _ in train_batches())
    preprocessed_train = feature_space(x_train)
    preprocessed_val = feature_space(x_val)
    assert tuple(preprocessed_train.shape) == (512, 2 + 4 + 2 + 3 + 10 + 1 + 1 + 16 + 8)

    dict_inputs = feature_space.get_inputs()
    encoded_features = feature_space.get_encoded_features()
    x = layers.Dense(32, activation="relu")(encoded_features)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid")(x)
    training_model = lamina.Model(inputs=encoded_features, outputs=predictions)
    training_model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    inference_model = lamina.Model(inputs=dict_inputs, outputs=predictions)
    history = training_model.fit(
        preprocessed_train, y_train, validation_data=(preprocessed_val, y_val), epochs=6, batch_size=64, verbose=0
    )
    assert history.history["val_accuracy"][-1] > 0.8
    assert history.history["loss"][-1] < history.history["loss"][0]

    # Raw columns in, probability out (Lamina asks for the (batch, 1) shape of the inputs).
    sample = {k: np.asarray(v[:5])[:, None] for k, v in x_val.items()}
    probabilities = inference_model.predict(sample, verbose=0)
    encoded = feature_space({k: v[:5] for k, v in x_val.items()})
    np.testing.assert_allclose(probabilities, training_model.predict(encoded, verbose=0), rtol=1e-5)
    path = str(tmp_path / "inference.keras")
    inference_model.save(path)
    reloaded = lamina.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(sample, verbose=0), probabilities, rtol=1e-5)
    fs_path = str(tmp_path / "featurespace.keras")
    feature_space.save(fs_path)
    reloaded_fs = lamina.models.load_model(fs_path)
    np.testing.assert_allclose(_np(reloaded_fs(x_val)), _np(preprocessed_val), rtol=1e-6)
