import json

import numpy as np
import pytest

from lamina.preprocessing import text

TEXTS = [
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "Dogs and cats, living together; mass hysteria.",
    "the THE The",
    "",
]


def _keras_and_lamina_tokenizers(keras2, **kwargs):
    return keras2.text.Tokenizer(**kwargs), text.Tokenizer(**kwargs)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 6},
        {"num_words": 6, "oov_token": "<unk>"},
        {"oov_token": "<unk>", "lower": False},
        {"char_level": True, "num_words": 10},
        {"filters": "", "split": ","},
    ],
)
def test_tokenizer_matches_keras(keras2, kwargs):
    expected, got = _keras_and_lamina_tokenizers(keras2, **kwargs)
    expected.fit_on_texts(TEXTS)
    got.fit_on_texts(TEXTS)
    assert list(got.word_counts.items()) == list(expected.word_counts.items())
    assert dict(got.word_docs) == dict(expected.word_docs)
    assert got.word_index == expected.word_index
    assert got.index_word == expected.index_word
    assert dict(got.index_docs) == dict(expected.index_docs)
    assert got.document_count == expected.document_count

    queries = TEXTS + ["an unknown cat appears", "mat mat mat"]
    sequences = expected.texts_to_sequences(queries)
    assert got.texts_to_sequences(queries) == sequences
    assert list(got.texts_to_sequences_generator(queries)) == sequences
    with_unknown = sequences + [[1, 2, 999, 3]]
    assert got.sequences_to_texts(with_unknown) == expected.sequences_to_texts(with_unknown)
    for mode in ("binary", "count", "tfidf", "freq"):
        np.testing.assert_array_equal(
            got.texts_to_matrix(queries, mode=mode), expected.texts_to_matrix(queries, mode=mode)
        )
    assert json.loads(got.to_json()) == json.loads(expected.to_json())


@pytest.mark.oracle
def test_tokenizer_fit_on_sequences_and_token_lists(keras2):
    expected, got = _keras_and_lamina_tokenizers(keras2, num_words=8)
    tokens = [["Hello", "World"], ["hello", "there", "world", "world"]]
    expected.fit_on_texts(tokens)
    got.fit_on_texts(tokens)
    assert got.word_index == expected.word_index
    sequences = [[1, 2, 2], [3], [4, 5, 1]]
    expected.fit_on_sequences(sequences)
    got.fit_on_sequences(sequences)
    assert dict(got.index_docs) == dict(expected.index_docs)
    assert got.document_count == expected.document_count
    np.testing.assert_array_equal(
        got.sequences_to_matrix(sequences, mode="tfidf"),
        expected.sequences_to_matrix(sequences, mode="tfidf"),
    )


@pytest.mark.oracle
def test_tokenizer_from_json_round_trip(keras2):
    original = text.Tokenizer(num_words=5, oov_token="<oov>")
    original.fit_on_texts(TEXTS)
    restored = text.tokenizer_from_json(original.to_json())
    assert restored.word_index == original.word_index
    assert restored.index_word == original.index_word
    assert restored.texts_to_sequences(TEXTS) == original.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(
        restored.texts_to_matrix(TEXTS, mode="tfidf"), original.texts_to_matrix(TEXTS, mode="tfidf")
    )
    # A tokenizer saved by Keras loads in Lamina, and the reverse.
    from_keras = text.tokenizer_from_json(_fitted_keras_tokenizer(keras2).to_json())
    expected = _fitted_keras_tokenizer(keras2).texts_to_sequences(TEXTS)
    assert from_keras.texts_to_sequences(TEXTS) == expected
    to_keras = keras2.text.tokenizer_from_json(original.to_json())
    assert to_keras.texts_to_sequences(TEXTS) == original.texts_to_sequences(TEXTS)


def _fitted_keras_tokenizer(keras2):
    tokenizer = keras2.text.Tokenizer(num_words=5, oov_token="<oov>")
    tokenizer.fit_on_texts(TEXTS)
    return tokenizer


@pytest.mark.oracle
def test_word_functions_match_keras(keras2):
    for sample in TEXTS + ["Tabs\tand\nnewlines -- and dashes"]:
        assert text.text_to_word_sequence(sample) == keras2.text.text_to_word_sequence(sample)
        assert text.text_to_word_sequence(sample, filters="", lower=False, split="a") == (
            keras2.text.text_to_word_sequence(sample, filters="", lower=False, split="a")
        )
        for n in (2, 17, 1000):
            assert text.hashing_trick(sample, n, hash_function="md5") == (
                keras2.text.hashing_trick(sample, n, hash_function="md5")
            )
            assert text.hashing_trick(sample, n) == keras2.text.hashing_trick(sample, n)
            assert text.one_hot(sample, n) == keras2.text.one_hot(sample, n)
        assert text.hashing_trick(sample, 50, hash_function=len) == (
            keras2.text.hashing_trick(sample, 50, hash_function=len)
        )


def test_hashing_trick_md5_is_stable_and_analyzer():
    assert text.hashing_trick("The cat sat", 100, hash_function="md5") == [51, 3, 10]
    by_bars = text.hashing_trick("a b|c", 10, analyzer=lambda s: s.split("|"))
    assert by_bars == [hash("a b") % 9 + 1, hash("c") % 9 + 1]


def test_tokenizer_docstring_example_and_order():
    tokenizer = text.Tokenizer(num_words=10, oov_token="<unk>")
    tokenizer.fit_on_texts(["the cat sat", "the dog sat down"])
    assert tokenizer.texts_to_sequences(["the cat ran"]) == [[2, 4, 1]]
    # Equally frequent words keep their order of first appearance.
    assert list(tokenizer.word_index) == ["<unk>", "the", "sat", "cat", "dog", "down"]


def test_tokenizer_errors():
    with pytest.raises(ValueError, match="fit on some text data first"):
        text.Tokenizer().texts_to_matrix(["a"])
    tokenizer = text.Tokenizer(num_words=4)
    with pytest.raises(ValueError, match="tfidf"):
        tokenizer.sequences_to_matrix([[1]], mode="tfidf")
    tokenizer.fit_on_texts(["a b"])
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        tokenizer.texts_to_matrix(["a"], mode="bogus")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        text.Tokenizer(bogus=1)
    with pytest.raises(ValueError, match="num_words"):
        text.Tokenizer(num_words=-1)
    assert text.Tokenizer(nb_words=3).num_words == 3
    with pytest.raises(ValueError, match="`n` must be at least 2"):
        text.one_hot("a b", 1)
