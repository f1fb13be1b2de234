"""Keras 2 text utilities (``keras.preprocessing.text``): ``Tokenizer`` and word hashing.

New code should prefer the ``TextVectorization`` layer; these functions keep Keras 2 programs
running with the same vocabularies, indices and matrices.
"""

import collections
import hashlib
import json
import numbers

import numpy as np

_DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(input_text, filters=_DEFAULT_FILTERS, lower=True, split=" "):
    """Split a text into a list of words.

    Args:
        input_text: The text.
        filters: Characters removed from the text (each is replaced by ``split``).
        lower: Whether to lowercase the text first.
        split: The word separator.

    Returns:
        The list of words (empty strings dropped).

    Example:

    >>> text_to_word_sequence("The cat, the hat.")
    ['the', 'cat', 'the', 'hat']
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [word for word in input_text.split(split) if word]


def hashing_trick(
    text, n, hash_function=None, filters=_DEFAULT_FILTERS, lower=True, split=" ", analyzer=None
):
    """Encode a text as a list of word indices in ``[1, n)`` by hashing each word.

    Index 0 is never produced (it is left for padding). Different words may collide.

    Args:
        text: The text.
        n: Size of the hashing space (indices are in ``[1, n - 1]``).
        hash_function: ``None`` for Python's ``hash`` (not stable across runs unless
            ``PYTHONHASHSEED`` is set), ``"md5"`` for a stable hash, or any function from a string
            to an integer.
        filters: Characters removed from the text.
        lower: Whether to lowercase the text.
        split: The word separator.
        analyzer: Optional function from the text to its list of words, used instead of
            ``text_to_word_sequence``.

    Returns:
        A list of integer word indices.

    Example:

    >>> hashing_trick("The cat sat", 100, hash_function="md5")
    [51, 3, 10]
    """
    if n < 2:
        raise ValueError(f"`n` must be at least 2 (indices are in [1, n - 1]). Received: n={n}")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = _md5_hash
    if analyzer is None:
        words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    else:
        words = analyzer(text)
    return [hash_function(word) % (n - 1) + 1 for word in words]


def _md5_hash(word):
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def one_hot(input_text, n, filters=_DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Encode a text as a list of word indices in ``[1, n)`` with Python's ``hash``.

    Despite its name this is ``hashing_trick`` with ``hash_function=hash``: it returns indices,
    not one-hot vectors.

    Args:
        input_text: The text.
        n: Size of the hashing space.
        filters: Characters removed from the text.
        lower: Whether to lowercase the text.
        split: The word separator.
        analyzer: Optional function from the text to its list of words.

    Returns:
        A list of integer word indices.
    """
    return hashing_trick(
        input_text, n, hash_function=hash, filters=filters, lower=lower, split=split,
        analyzer=analyzer,
    )


class Tokenizer:
    """Text tokenization utility: builds a word index and turns texts into sequences or matrices.

    Words are ranked by frequency (ties keep the order of first appearance); index 0 is reserved,
    and ``oov_token`` (if given) gets index 1.

    Args:
        num_words: Keep only the ``num_words - 1`` most frequent words when converting texts
            (the word index itself keeps all words). ``None`` keeps all.
        filters: Characters removed from the texts.
        lower: Whether to lowercase the texts.
        split: The word separator.
        char_level: Treat every character as a token.
        oov_token: Token that replaces out-of-vocabulary words in ``texts_to_sequences``.
        analyzer: Optional function from a text to its list of tokens.
        document_count: Number of documents already seen (used when restoring a tokenizer).

    Example:

    >>> tokenizer = Tokenizer(num_words=10, oov_token="<unk>")
    >>> tokenizer.fit_on_texts(["the cat sat", "the dog sat down"])
    >>> tokenizer.texts_to_sequences(["the cat ran"])
    [[2, 4, 1]]
    """

    def __init__(
        self,
        num_words=None,
        filters=_DEFAULT_FILTERS,
        lower=True,
        split=" ",
        char_level=False,
        oov_token=None,
        analyzer=None,
        **kwargs,
    ):
        if "nb_words" in kwargs:  # The Keras 1 spelling.
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments for `Tokenizer`: {kwargs}")
        if num_words is not None and (not isinstance(num_words, numbers.Integral) or num_words < 0):
            raise ValueError(
                f"`num_words` must be None or a non-negative int. Received: {num_words!r}"
            )
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}
        self.analyzer = analyzer

    def _tokens(self, text):
        # A list is taken as already tokenized; so is a string at the character level.
        if self.char_level or isinstance(text, list):
            if self.lower:
                return [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    def fit_on_texts(self, texts):
        """Update the vocabulary from a list of texts (or of token lists).

        Args:
            texts: List of strings, or list of lists of strings (already tokenized).
        """
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        # `sorted` is stable: equally frequent words keep their order of first appearance.
        ranked = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)
        vocabulary = [] if self.oov_token is None else [self.oov_token]
        vocabulary.extend(word for word, _ in ranked)
        self.word_index = {word: i for i, word in enumerate(vocabulary, start=1)}
        self.index_word = {i: word for word, i in self.word_index.items()}
        for word, count in list(self.word_docs.items()):
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences):
        """Update the document frequencies (used by ``"tfidf"``) from sequences of word indices.

        Args:
            sequences: List of sequences of integer word indices.
        """
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """Convert each text into a list of word indices.

        Words beyond ``num_words`` or not in the vocabulary become ``oov_token``'s index when there
        is one, and are dropped otherwise.

        Args:
            texts: List of strings (or of token lists).

        Returns:
            A list of lists of ints.
        """
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Generator form of ``texts_to_sequences``: yields one list of indices per text."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            sequence = []
            for token in self._tokens(text):
                i = self.word_index.get(token)
                if i is None:
                    if self.oov_token is not None:
                        sequence.append(oov_index)
                elif num_words and i >= num_words:
                    if oov_index is not None:
                        sequence.append(oov_index)
                else:
                    sequence.append(i)
            yield sequence

    def sequences_to_texts(self, sequences):
        """Convert sequences of word indices back into texts (words joined by spaces).

        Args:
            sequences: List of sequences of integer word indices.

        Returns:
            A list of strings.
        """
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Generator form of ``sequences_to_texts``: yields one string per sequence."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for num in seq:
                word = self.index_word.get(num)
                if word is None:
                    if self.oov_token is not None:
                        words.append(self.index_word[oov_index])
                elif num_words and num >= num_words:
                    if oov_index is not None:
                        words.append(self.index_word[oov_index])
                else:
                    words.append(word)
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        """Convert texts into a ``(len(texts), num_words)`` matrix; see ``sequences_to_matrix``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """Convert sequences of word indices into a matrix with one row per sequence.

        Args:
            sequences: List of sequences of integer word indices.
            mode: ``"binary"`` (1 where the word occurs), ``"count"`` (occurrences), ``"freq"``
                (occurrences divided by the sequence length) or ``"tfidf"``
                (``(1 + log(count)) * log(1 + documents / (1 + documents_with_word))``).

        Returns:
            A float64 NumPy array of shape ``(len(sequences), num_words)`` (``num_words``
            defaults to the vocabulary size + 1).
        """
        if mode not in _MATRIX_MODES:
            raise ValueError(
                f"Unknown vectorization mode: {mode!r}. Expected one of {_MATRIX_MODES}."
            )
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError(
                "Specify a dimension (`num_words` argument), or fit on some text data first."
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")

        matrix = np.zeros((len(sequences), num_words))
        for row, seq in enumerate(sequences):
            if not seq:
                continue
            counts = collections.Counter(j for j in seq if j < num_words)
            for j, c in counts.items():
                if mode == "count":
                    matrix[row][j] = c
                elif mode == "freq":
                    matrix[row][j] = c / len(seq)
                elif mode == "binary":
                    matrix[row][j] = 1
                else:
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    matrix[row][j] = (1 + np.log(c)) * idf
        return matrix

    def get_config(self):
        """The tokenizer's arguments and vocabulary statistics (the statistics as JSON strings)."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """The tokenizer as a JSON string, for ``tokenizer_from_json``.

        Args:
            **kwargs: Passed on to ``json.dumps``.
        """
        config = {"class_name": type(self).__name__, "config": self.get_config()}
        return json.dumps(config, **kwargs)


def tokenizer_from_json(json_string):
    """Rebuild a ``Tokenizer`` from the JSON string made by ``Tokenizer.to_json``.

    Args:
        json_string: The JSON string.

    Returns:
        A ``Tokenizer`` with the same arguments and vocabulary.
    """
    config = dict(json.loads(json_string).get("config"))
    word_counts = json.loads(config.pop("word_counts"))
    word_docs = json.loads(config.pop("word_docs"))
    # JSON object keys are strings; the index maps are keyed by ints.
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = word_docs
    tokenizer.index_docs = index_docs
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
