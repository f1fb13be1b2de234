"""TextVectorization against the documented Keras examples (Keras's layer needs TensorFlow)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_documented_adapt_and_padded_int_output():
    layer = layers.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    out = layer([["foo qux bar"], ["qux baz"]])
    assert out.dtype == torch.int64
    assert out.tolist() == [[4, 1, 3, 0], [1, 2, 0, 0]]
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]


def test_documented_vocabulary_argument():
    layer = layers.TextVectorization(max_tokens=5000, output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"])
    assert layer.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert layer(["Earth, wind & FIRE! sun"]).tolist() == [[2, 3, 5, 1]]
    assert layer.vocabulary_size() == 6


def test_standardize_matches_keras_regex_and_ascii_lowercase():
    layer = layers.TextVectorization(split=None, vocabulary=["x"], output_mode="int")
    strings, _ = layer._standardized(np.array(['He said: "Hi-there!" (a_b) [c]{d}~`\'x\\y/z', "ÉCOLE Été"]))
    # Every character of Keras's punctuation class goes; letters are lowercased in ASCII only.
    assert strings == ["he said hithere ab cdxyz", "École Été"]
    strip_only = layers.TextVectorization(standardize="strip_punctuation", split=None, vocabulary=["x"])
    assert strip_only._standardized(np.array(["A.b"]))[0] == ["Ab"]
    raw = layers.TextVectorization(standardize=None, split="whitespace", vocabulary=["A.b"])
    assert raw(["A.b  a.b\tA.b\n"]).tolist() == [[2, 1, 2]]


def test_split_character_callable_and_ngrams():
    chars = layers.TextVectorization(split="character", standardize=None)
    chars.adapt(["abca", "ab"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    assert chars(["cab", "a"]).tolist() == [[4, 2, 3], [2, 0, 0]]
    custom = layers.TextVectorization(split=lambda s: [x.split("-") for x in s], standardize=lambda s: np.char.upper(s))
    custom.adapt(["a-b", "b-c"])
    assert custom.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    bigrams = layers.TextVectorization(ngrams=2, vocabulary=["a", "b", "a b"])
    assert bigrams(["a b c"]).tolist() == [[2, 3, 1, 4, 1]]
    only_bigrams = layers.TextVectorization(ngrams=(2,), vocabulary=["a b"])
    assert only_bigrams(["a b c", "a"]).tolist() == [[2, 1], [0, 0]]


def test_encoding_modes_and_tf_idf_adapt():
    data = ["the cat", "the dog the", "a bird"]
    multi = layers.TextVectorization(output_mode="multi_hot")
    multi.adapt(data)
    assert multi.get_vocabulary() == ["[UNK]", "the", "dog", "cat", "bird", "a"]
    assert multi(["the the fish"]).tolist() == [[1, 1, 0, 0, 0, 0]]
    count = layers.TextVectorization(output_mode="count", vocabulary=["the", "cat"])
    assert count(["the the fish", "cat"]).tolist() == [[1, 2, 0], [0, 0, 1]]
    tf_idf = layers.TextVectorization(output_mode="tf_idf", max_tokens=8, pad_to_max_tokens=True)
    tf_idf.adapt(data)
    idf = np.log(1 + 3 / (1 + np.array([2, 1, 1, 1, 1])))
    expected = np.zeros(8, dtype="float32")
    expected[0] = 1 * idf.mean()  # "fish" is OOV and weighs the mean IDF
    expected[1] = 2 * idf[0]
    np.testing.assert_allclose(tf_idf(["the the fish"]).numpy()[0], expected, rtol=1e-6)
    assert tf_idf(["x"]).shape == (1, 8)


def test_adapt_numpy_rank2_and_iterable_batches():
    layer = layers.TextVectorization()
    layer.adapt(np.array([["b a"], ["b c"]]))
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]
    layer.adapt(iter([["z z"], np.array(["y"]), ["q"]]), steps=2)
    assert layer.get_vocabulary() == ["", "[UNK]", "z", "y"]
    layer = layers.TextVectorization(max_tokens=3)
    layer.adapt(["a b b c c c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "c"]


def test_split_none_keeps_shape_and_truncation():
    layer = layers.TextVectorization(split=None, vocabulary=["a b", "c"])
    assert layer([["A B"], ["c"], ["d"]]).tolist() == [[2], [3], [1]]
    truncated = layers.TextVectorization(output_sequence_length=2, vocabulary=["a", "b", "c"])
    assert truncated(["a b c", ""]).tolist() == [[2, 3], [0, 0]]
    assert tuple(layers.TextVectorization(vocabulary=["a"])(["", ""]).shape) == (2, 0)


def test_errors():
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="split"):
        layers.TextVectorization(split="comma")
    with pytest.raises(ValueError, match="output_mode"):
        layers.TextVectorization(output_mode="bad")
    with pytest.raises(ValueError, match="ngrams"):
        layers.TextVectorization(ngrams=[1, 2])
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="ragged"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="sparse"):
        layers.TextVectorization(output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layers.TextVectorization(vocabulary=["a"])([["a", "b"]])
    with pytest.raises(RuntimeError, match="vocabulary before calling"):
        layers.TextVectorization(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="'tv'.*string inputs"):
        layers.TextVectorization(vocabulary=["a"], name="tv")(np.array([1, 2]))
    with pytest.raises(ValueError, match="Cannot adapt"):
        layers.TextVectorization(vocabulary=["a"]).adapt(["a"])
    with pytest.raises(ValueError, match="'tv2'.*expects string inputs.*float32"):
        layers.TextVectorization(vocabulary=["a"], name="tv2")(lamina.Input((1,)))


def test_config_round_trip():
    layer = layers.TextVectorization(
        max_tokens=10, ngrams=(1, 2), output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[0.5, 0.25], name="tv"
    )
    config = layer.get_config()
    assert config["ngrams"] == [1, 2] and config["vocabulary"] == ["a", "b"] and config["vocabulary_size"] == 3
    for key in ("standardize", "split", "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged", "encoding", "idf_weights"):
        assert key in config
    clone = layers.deserialize(layers.serialize(layer))
    torch.testing.assert_close(clone(["a b a", "c"]), layer(["a b a", "c"]))
    adapted = layers.TextVectorization(output_sequence_length=3)
    adapted.adapt(["hello world", "hello"])
    config = adapted.get_config()
    assert config["vocabulary_size"] == 4 and config["vocabulary"] is None  # adapted: saved as an asset
    clone_config = layers.TextVectorization.from_config(config).get_config()
    assert {k: v for k, v in clone_config.items() if k != "vocabulary_size"} == {
        k: v for k, v in config.items() if k != "vocabulary_size"
    }


def test_eager_pipeline_into_embedding():
    vectorizer = layers.TextVectorization(output_sequence_length=5)
    vectorizer.adapt(["the quick brown fox", "the lazy dog"])
    embedding = layers.Embedding(vectorizer.vocabulary_size(), 4, mask_zero=True)
    out = embedding(vectorizer(np.array(["the fox", "a dog jumps"])))
    assert tuple(out.shape) == (2, 5, 4)
    assert embedding.compute_mask(vectorizer(["the fox"])).tolist() == [[True, True, False, False, False]]
