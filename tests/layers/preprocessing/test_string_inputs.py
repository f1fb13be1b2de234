"""String data through models: ``Input(dtype="string")`` into StringLookup / TextVectorization.

torch has no string tensors, so string data stays numpy arrays of ``str`` up to the first layer
that reads strings; symbolic string tensors are KerasTensors of dtype ``"string"``.
"""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.trainers.data_adapters import ArrayDataAdapter

POSITIVE = ["good", "great", "nice", "fine", "lovely"]
NEGATIVE = ["bad", "awful", "poor", "ugly", "sad"]


def _lookup_model():
    inputs = lamina.Input(shape=(1,), dtype="string")
    x = layers.StringLookup(vocabulary=["a", "b", "c"])(inputs)
    x = layers.Embedding(5, 4)(x)
    return lamina.Model(inputs, x)


def _text_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        words = POSITIVE if i % 2 == 0 else NEGATIVE
        texts.append(" ".join(rng.choice(words, size=3)) + " the movie was")
        labels.append(1 - i % 2)
    return np.array(texts).reshape(-1, 1), np.array(labels, dtype="float32").reshape(-1, 1)


def _text_classifier(vectorizer):
    return lamina.Sequential(
        [
            lamina.Input(shape=(1,), dtype="string"),
            vectorizer,
            layers.Embedding(vectorizer.vocabulary_size(), 8),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def test_string_input_is_a_symbolic_string_tensor():
    inputs = lamina.Input(shape=(1,), dtype="string", name="text")
    assert (inputs.shape, inputs.dtype) == ((None, 1), "string")
    input_layer = inputs._keras_history[0]
    assert input_layer.dtype == "string"
    assert input_layer.get_config()["dtype"] == "string"
    assert lamina.Input(shape=(2,), dtype=str).dtype == "string"
    indices = layers.StringLookup(vocabulary=["a"])(inputs)
    assert (indices.shape, indices.dtype) == ((None, 1), "int64")
    encoded = layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot")(inputs)
    assert (encoded.shape, encoded.dtype) == ((None, 3), "float32")


def test_keras_snippet_functional_lookup_into_embedding():
    model = _lookup_model()
    embedding = model.layers[-1]
    data = np.array([["a"], ["c"], ["zzz"]])
    out = model.predict(data, verbose=0)
    assert out.shape == (3, 1, 4)
    expected = embedding.embeddings.detach().numpy()[[1, 3, 0]][:, None, :]
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(model(data).detach().numpy(), expected)
    # Object and bytes arrays are strings too; predict batches them on the host.
    np.testing.assert_allclose(model.predict(data.astype(object), batch_size=2, verbose=0), expected)
    np.testing.assert_allclose(model.predict(np.char.encode(data), verbose=0), expected)


def test_sequential_with_string_input_and_text_vectorization():
    vectorizer = layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorizer.adapt(["the cat sat", "the dog ran far away"])
    model = _text_classifier(vectorizer)
    assert model.layers[0] is vectorizer
    assert model.layers[1].input.shape == (None, 4)
    out = model.predict(np.array([["the cat"], ["dog far"], ["zebra"]]), verbose=0)
    assert out.shape == (3, 1)
    tokens = vectorizer(np.array([["the cat"], ["dog far"], ["zebra"]]))
    rest = lamina.Sequential(model.layers[1:])
    np.testing.assert_allclose(out, rest(tokens).detach().numpy(), rtol=1e-6)


def test_sequential_without_input_builds_a_string_input_from_the_data():
    model = lamina.Sequential([layers.StringLookup(vocabulary=["x", "y"]), layers.Embedding(3, 2)])
    out = model(np.array([["y"], ["q"]]))
    assert tuple(out.shape) == (2, 1, 2)
    assert model.inputs[0].dtype == "string"
    assert model.predict(np.array([["x"]]), verbose=0).shape == (1, 1, 2)


@pytest.mark.parametrize(
    "kwargs, data",
    [
        ({"output_sequence_length": 5}, [["a b"], ["c"]]),
        ({}, [["a b c"], ["c"]]),
        ({"output_mode": "multi_hot"}, [["a b"], ["c"]]),
        ({"split": None}, [["a"], ["b"]]),
        ({"split": None, "output_mode": "count"}, ["a", "b"]),
        ({"ngrams": 2, "output_mode": "tf_idf", "idf_weights": [1.0, 2.0, 3.0]}, [["a b"], ["c"]]),
        ({"split": None, "ngrams": 2, "output_sequence_length": 3}, [["a", "b"], ["c", "a"]]),
    ],
)
def test_text_vectorization_symbolic_shape_matches_eager(kwargs, data):
    layer = layers.TextVectorization(vocabulary=["a", "b", "c"], **kwargs)
    data = np.array(data)
    symbolic = layer(lamina.Input(batch_shape=(None,) + data.shape[1:], dtype="string"))
    eager = layer(data)
    assert symbolic.dtype == ("int64" if kwargs.get("output_mode", "int") == "int" else "float32")
    assert len(symbolic.shape) == eager.dim()
    for s, e in zip(symbolic.shape[1:], eager.shape[1:]):
        assert s is None or s == e


def test_fit_text_classifier_learns():
    lamina.utils.set_random_seed(0)
    x, y = _text_data()
    vectorizer = layers.TextVectorization(max_tokens=30, output_sequence_length=6)
    vectorizer.adapt(x)
    model = _text_classifier(vectorizer)
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=15, shuffle=True, validation_split=0.25, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert history.history["val_accuracy"][-1] == 1.0
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == 1.0
    assert model.train_on_batch(x[:4], y[:4]) is not None
    assert model.predict_on_batch(np.array([["good nice"], ["bad sad"]])).round().tolist() == [[1.0], [0.0]]


def test_fit_functional_lookup_from_a_generator():
    inputs = lamina.Input(shape=(1,), dtype="string")
    x = layers.StringLookup(vocabulary=POSITIVE + NEGATIVE, output_mode="one_hot")(inputs)
    model = lamina.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer=lamina.optimizers.Adam(0.1), loss="binary_crossentropy")
    words = np.array(POSITIVE + NEGATIVE).reshape(-1, 1)
    labels = np.array([1.0] * 5 + [0.0] * 5, dtype="float32").reshape(-1, 1)

    def batches():
        while True:
            yield words, labels

    history = model.fit(batches(), steps_per_epoch=2, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.2
    assert model.predict(words, verbose=0).round().ravel().tolist() == labels.ravel().tolist()


def test_shuffled_array_batches_keep_strings_aligned_with_targets():
    x = np.array([f"w{i}" for i in range(10)]).reshape(-1, 1)
    y = np.arange(10).reshape(-1, 1)
    adapter = ArrayDataAdapter(x, y, batch_size=3, shuffle=True)
    seen = []
    for xb, yb in adapter:
        assert isinstance(xb, np.ndarray) and isinstance(yb, torch.Tensor)
        assert [s[0] for s in xb.tolist()] == [f"w{i}" for i in yb[:, 0].tolist()]
        seen.extend(yb[:, 0].tolist())
    assert sorted(seen) == list(range(10))


def test_summary_lists_the_string_front_end():
    lines = []
    _lookup_model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "StringLookup" in text and "Embedding" in text
    assert "Total params: 20" in text


def test_save_and_load_model_give_identical_predictions(tmp_path):
    x, _ = _text_data(16)
    vectorizer = layers.TextVectorization(max_tokens=30, output_sequence_length=6)
    vectorizer.adapt(x)
    for i, model in enumerate([_text_classifier(vectorizer), _lookup_model()]):
        data = x if i == 0 else np.array([["b"], ["q"], ["a"]])
        path = tmp_path / f"m{i}.keras"
        model.save(path)
        loaded = lamina.models.load_model(path)
        assert loaded.inputs[0].dtype == "string"
        np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
        config = json.loads(model.to_json())
        first = config["config"]["layers"][0]
        assert first["class_name"] == "InputLayer" and first["config"]["dtype"] == "string"


def test_string_lookup_invert_returns_strings_from_a_model():
    inputs = lamina.Input(shape=(2,), dtype="int64")
    words = layers.StringLookup(vocabulary=["a", "b"], invert=True)(inputs)
    assert words.dtype == "string"
    model = lamina.Model(inputs, words)
    out = model.predict(np.array([[1, 2], [0, 1], [2, 2]]), batch_size=2, verbose=0)
    assert out.tolist() == [["a", "b"], ["[UNK]", "a"], ["b", "b"]]


@pytest.mark.oracle
def test_keras_written_config_with_string_input_deserializes(oracle):
    inputs = oracle.Input(shape=(1,), dtype="string", name="text")
    keras_model = oracle.Model(inputs, oracle.layers.Identity(name="lookup")(inputs))
    config = json.loads(json.dumps(oracle.saving.serialize_keras_object(keras_model)))
    # Keras constructs StringLookup only with TensorFlow: put its config (Keras 3 keys) in place
    # of the Identity layer, keeping the inbound node Keras wrote (a "string" __keras_tensor__).
    entry = config["config"]["layers"][1]
    assert entry["inbound_nodes"][0]["args"][0]["config"]["dtype"] == "string"
    entry["class_name"] = "StringLookup"
    entry["config"].update(
        {
            "invert": False,
            "max_tokens": None,
            "num_oov_indices": 1,
            "oov_token": "[UNK]",
            "mask_token": None,
            "output_mode": "int",
            "sparse": False,
            "pad_to_max_tokens": False,
            "idf_weights": None,
            "vocabulary": ["a", "b", "c"],
            "vocabulary_size": 4,
            "encoding": "utf-8",
        }
    )
    model = lamina.models.model_from_json(json.dumps(config))
    assert model.inputs[0].dtype == "string" and model.inputs[0].shape == (None, 1)
    assert model.predict(np.array([["c"], ["x"]]), verbose=0).tolist() == [[3], [0]]
    input_layer = layers.deserialize(oracle.layers.serialize(inputs._keras_history[0]))
    assert input_layer.get_config() == {
        **inputs._keras_history[0].get_config(),
        "batch_shape": (None, 1),
    }


def test_layers_that_do_not_read_strings_refuse_them_by_name():
    inputs = lamina.Input(shape=(1,), dtype="string")
    with pytest.raises(ValueError, match="Layer 'dense_s' \\(Dense\\) cannot take string inputs.*shape \\(None, 1\\)"):
        layers.Dense(2, name="dense_s")(inputs)
    with pytest.raises(ValueError, match="'emb'.*cannot take string inputs"):
        layers.Embedding(3, 2, name="emb")(inputs)
    with pytest.raises(ValueError, match="'dense_e'.*cannot take string inputs.*<U1"):
        layers.Dense(2, name="dense_e")(np.array([["a"]]))
    with pytest.raises(ValueError, match="'il'.*expects integer inputs.*string"):
        layers.IntegerLookup(vocabulary=[1, 2], name="il")(inputs)
    with pytest.raises(ValueError, match="torch has no string dtype"):
        layers.Dense(2, dtype="string")


def test_models_refuse_strings_for_numeric_inputs_and_numbers_for_string_inputs():
    numeric = lamina.Input(shape=(1,), name="num")
    model = lamina.Model(numeric, layers.Dense(1)(numeric))
    with pytest.raises(ValueError, match="'num'.*received strings"):
        model(np.array([["a"]]))
    with pytest.raises(ValueError, match="'num'.*expects dtype float32.*strings"):
        model.predict(np.array([["a"]]), verbose=0)
    text_model = _lookup_model()
    with pytest.raises(ValueError, match="dtype string.*int64"):
        text_model(np.array([[1]]))
    with pytest.raises(ValueError, match="expects strings.*int64"):
        text_model.predict(np.array([[1]]), verbose=0)


def test_models_with_string_inputs_nest_in_other_models():
    inner = _lookup_model()
    text = lamina.Input(shape=(1,), dtype="string")
    outer = lamina.Model(text, layers.Dense(1)(inner(text)))
    stacked = lamina.Sequential([lamina.Input(shape=(1,), dtype="string"), inner])
    data = np.array([["a"], ["q"]])
    assert outer.predict(data, verbose=0).shape == (2, 1, 1)
    np.testing.assert_allclose(stacked.predict(data, verbose=0), inner.predict(data, verbose=0))
    hashed = layers.Hashing(4)(text)
    assert (hashed.shape, hashed.dtype) == ((None, 1), "int64")
