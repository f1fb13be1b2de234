"""StringLookup against the documented Keras examples (Keras needs TensorFlow here, so no oracle)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
DATA4 = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]


def test_documented_known_vocabulary():
    out = layers.StringLookup(vocabulary=VOCAB)(DATA)
    assert out.dtype == torch.int64
    assert out.tolist() == [[1, 3, 4], [4, 0, 2]]


def test_documented_adapt_order_and_call():
    layer = layers.StringLookup()
    layer.adapt(DATA)
    # By count, then ties by the token itself, high to low.
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert layer(DATA).tolist() == [[5, 3, 1], [1, 2, 4]]
    assert layer.vocabulary_size() == 6
    assert layer.get_vocabulary(include_special_tokens=False) == ["d", "z", "c", "b", "a"]


def test_documented_multiple_oov_indices_hash_like_keras():
    layer = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert layer([["a", "c", "d"], ["m", "z", "b"]]).tolist() == [[2, 4, 5], [0, 1, 3]]


def test_documented_one_hot_multi_hot_count():
    one_hot = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(5, dtype="float32")[[1, 2, 3, 4, 0]])
    assert one_hot.dtype == torch.float32
    multi = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA4)
    assert multi.tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    count = layers.StringLookup(vocabulary=VOCAB, output_mode="count")(DATA4)
    assert count.tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]


def test_documented_tf_idf():
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(layer(DATA4).numpy(), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], rtol=1e-6)
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(["[UNK]"] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(layer(DATA4).numpy(), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]], rtol=1e-6)


def test_adapt_tf_idf_weights_formula():
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt([["a", "b", "b"], ["b", "c", "c"]])
    idf = np.log(1 + 2 / (1 + np.array([2, 1, 1])))  # document counts of b, c, a
    assert layer.get_vocabulary() == ["[UNK]", "b", "c", "a"]
    expected = np.concatenate([[idf.mean()], idf])
    np.testing.assert_allclose(layer(["a", "b"]).numpy(), expected * [0, 1, 0, 1], rtol=1e-6)


def test_documented_invert_and_round_trip():
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    out = inverse([[1, 3, 4], [4, 0, 2]])
    assert isinstance(out, np.ndarray) and out.dtype.kind == "U"
    assert out.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    forward = layers.StringLookup(vocabulary=VOCAB)
    assert inverse(forward(DATA)).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_input_kinds_numpy_bytes_object_scalar_and_torch_indices():
    layer = layers.StringLookup(vocabulary=VOCAB)
    expected = [[1, 3, 4], [4, 0, 2]]
    assert layer(np.array(DATA)).tolist() == expected
    assert layer(np.array(DATA, dtype=object)).tolist() == expected
    assert layer(np.array([[s.encode() for s in row] for row in DATA])).tolist() == expected
    assert layer("c").tolist() == 3
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    assert inverse(torch.tensor([1, 2])).tolist() == ["a", "b"]


def test_mask_token_int_and_encodings():
    layer = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]"] + VOCAB
    assert layer([["a", "", "z"]]).tolist() == [[2, 0, 1]]
    multi = layers.StringLookup(vocabulary=VOCAB, mask_token="", output_mode="multi_hot")
    # The mask token has no column and masked inputs are dropped.
    assert multi([["a", "", ""]]).tolist() == [[0, 1, 0, 0, 0]]
    inverse = layers.StringLookup(vocabulary=VOCAB, mask_token="", invert=True)
    assert inverse([[2, 0, 1]]).tolist() == [["a", "", "[UNK]"]]


def test_vocabulary_with_special_tokens_file_and_max_tokens(tmp_path):
    layer = layers.StringLookup(vocabulary=["[UNK]"] + VOCAB)
    assert layer.get_vocabulary() == ["[UNK]"] + VOCAB
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n")
    with pytest.raises(ValueError, match="outside of the model archive"):
        with lamina.saving.serialization_lib.SafeModeScope(True):
            layers.StringLookup(vocabulary=str(path))
    from_file = layers.StringLookup(vocabulary=str(path))
    assert from_file(DATA).tolist() == [[1, 3, 4], [4, 0, 2]]
    assert from_file.get_config()["vocabulary"] is None
    capped = layers.StringLookup(max_tokens=3)
    capped.adapt(DATA)
    assert capped.get_vocabulary() == ["[UNK]", "d", "z"]
    padded = layers.StringLookup(max_tokens=8, pad_to_max_tokens=True, vocabulary=VOCAB, output_mode="multi_hot")
    assert padded(["a"]).shape == (8,)


def test_adapt_numpy_and_iterable_of_batches_with_steps():
    expected = ["[UNK]", "d", "z", "c", "b", "a"]
    layer = layers.StringLookup()
    layer.adapt(np.array(DATA))
    assert layer.get_vocabulary() == expected
    batches = (np.array(row) for row in DATA + [["q", "q", "q"]])
    layer.adapt(batches, steps=2)
    assert layer.get_vocabulary() == expected
    layer.adapt(["x", "y", "x"])
    assert layer.get_vocabulary() == ["[UNK]", "x", "y"]


def test_num_oov_zero_and_salted_oov():
    strict = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    assert strict(["a", "d"]).tolist() == [0, 3]
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        strict(["a", "zz"])
    salted = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=3, salt=133)
    out = salted(["A", "B", "C", "D", "E"]).tolist()
    # SipHash buckets of Keras's Hashing(num_bins=3, salt=133) doc example.
    assert out == [0, 0, 2, 1, 0]
    assert salted.get_config()["salt"] == [133, 133]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="output_mode"):
        layers.StringLookup(output_mode="bad")
    with pytest.raises(ValueError, match="max_tokens"):
        layers.StringLookup(max_tokens=1)
    with pytest.raises(ValueError, match="pad_to_max_tokens"):
        layers.StringLookup(pad_to_max_tokens=True)
    with pytest.raises(ValueError, match="sparse"):
        layers.StringLookup(output_mode="multi_hot", sparse=True)
    with pytest.raises(ValueError, match="invert"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=VOCAB, output_mode="tf_idf")
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="reserved"):
        layers.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ValueError, match="larger than the maximum"):
        layers.StringLookup(vocabulary=VOCAB, max_tokens=3)
    with pytest.raises(RuntimeError, match="string_lookup.*vocabulary before calling"):
        layers.StringLookup(output_mode="multi_hot", name="string_lookup_x")(["a"])
    with pytest.raises(ValueError, match="Cannot adapt"):
        layers.StringLookup(vocabulary=VOCAB).adapt(DATA)
    with pytest.raises(ValueError, match="'lk'.*string inputs"):
        layers.StringLookup(vocabulary=VOCAB, name="lk")(np.array([1, 2]))
    with pytest.raises(ValueError, match="ragged"):
        layers.StringLookup(vocabulary=VOCAB)([["a"], ["b", "c"]])


def test_int_mode_before_vocabulary_maps_everything_to_oov():
    # Keras behaviour: an empty table sends every token to the OOV index.
    assert layers.StringLookup()(["a", "b"]).tolist() == [0, 0]
    assert layers.StringLookup(mask_token="")(["a", ""]).tolist() == [1, 0]


def test_config_round_trip_and_keys():
    layer = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2, mask_token="", name="sl")
    config = layer.get_config()
    assert "vocabulary_dtype" not in config
    for key in ("invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token", "output_mode", "sparse",
                "pad_to_max_tokens", "idf_weights", "vocabulary", "vocabulary_size", "oov_method", "salt", "encoding"):
        assert key in config
    clone = layers.StringLookup.from_config(config)
    assert clone.get_vocabulary() == layer.get_vocabulary()
    restored = layers.deserialize(layers.serialize(layer))
    assert restored(DATA).tolist() == layer(DATA).tolist()


def test_symbolic_inputs_of_the_wrong_dtype_are_refused_clearly():
    with pytest.raises(ValueError, match="'sl'.*expects string inputs.*int64"):
        layers.StringLookup(vocabulary=VOCAB, name="sl")(lamina.Input((1,), dtype="int64"))
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    out = inverse(lamina.Input((1,), dtype="int64"))
    assert (out.shape, out.dtype) == ((None, 1), "string")
    with pytest.raises(ValueError, match="expects integer inputs"):
        inverse(lamina.Input((1,), dtype="string"))


def test_eager_pipeline_into_embedding():
    lookup = layers.StringLookup(vocabulary=VOCAB)
    embedding = layers.Embedding(lookup.vocabulary_size(), 3)
    out = embedding(lookup(np.array([["a"], ["z"]])))
    assert tuple(out.shape) == (2, 1, 3)
    torch.testing.assert_close(out[1, 0], embedding.embeddings[0])


@lamina.saving.register_keras_serializable(package="lamina_tests")
class _Tokenizer(lamina.Model):
    """Lamina has no symbolic string tensors, so the string layers live in a subclassed model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lookup = layers.StringLookup(output_mode="tf_idf")
        self.vectorizer = layers.TextVectorization(output_sequence_length=3)

    def call(self, inputs):
        return self.lookup(inputs)


def test_adapted_vocabulary_and_idf_survive_save_and_load(tmp_path):
    import zipfile

    model = _Tokenizer()
    model.lookup.adapt(DATA4)
    model.vectorizer.adapt(["The cat sat.", "the dog"])
    path = tmp_path / "tok.keras"
    model.save(path)
    archive = zipfile.ZipFile(path)
    # Assets sit at each layer's path in the weights file, as Keras lays them out.
    asset = "assets/layers/string_lookup/vocabulary.txt"
    assert archive.read(asset).decode() == "[UNK]\nd\nz\nc\nb\na"
    assert "assets/layers/text_vectorization/vocabulary.txt" in archive.namelist()
    loaded = lamina.models.load_model(path)
    assert loaded.lookup.get_vocabulary() == model.lookup.get_vocabulary()
    data = [["a", "z", "b", "b"]]
    torch.testing.assert_close(loaded.lookup(data), model.lookup(data))
    assert loaded.vectorizer.get_vocabulary() == ["", "[UNK]", "the", "sat", "dog", "cat"]
    torch.testing.assert_close(loaded.vectorizer(["a cat!"]), model.vectorizer(["a cat!"]))
