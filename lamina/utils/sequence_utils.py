"""``pad_sequences``: a list of variable-length sequences to one padded array."""

import numpy as np


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Pad (and truncate) sequences to a common length.

    Each sequence longer than ``maxlen`` is cut (at its start with ``truncating="pre"``, at its end
    with ``"post"``), each shorter one is filled with ``value`` (before it with ``padding="pre"``,
    after it with ``"post"``). Sequences may hold scalars or equally shaped arrays (e.g. one vector
    per time step); the result then has their shape as trailing axes.

    Args:
        sequences: List of sequences (each a list or array).
        maxlen: Length of the result; ``None`` means the length of the longest sequence.
        dtype: Dtype of the result. Use ``object`` for variable-length strings.
        padding: ``"pre"`` or ``"post"``: where to pad.
        truncating: ``"pre"`` or ``"post"``: where to remove values from sequences longer than
            ``maxlen``.
        value: The padding value (a number, or a string with a string or object ``dtype``).

    Returns:
        A NumPy array of shape ``(len(sequences), maxlen) + sample_shape``.

    Example:

    >>> keras.utils.pad_sequences([[1], [2, 3], [4, 5, 6]])
    array([[0, 0, 1],
           [0, 2, 3],
           [4, 5, 6]], dtype=int32)
    >>> keras.utils.pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post")
    array([[1, 0],
           [2, 3],
           [5, 6]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood. Expected "pre" or "post".')
    if truncating not in ("pre", "post"):
        raise ValueError(
            f'Truncating type "{truncating}" not understood. Expected "pre" or "post".'
        )
    lengths = []
    sample_shape = None
    for x in sequences:
        try:
            lengths.append(len(x))
        except TypeError as e:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {x}"
            ) from e
        # The first non-empty sequence fixes the shape of one time step.
        if sample_shape is None and len(x):
            sample_shape = np.asarray(x).shape[1:]
    sample_shape = () if sample_shape is None else sample_shape
    if maxlen is None:
        maxlen = np.max(lengths)

    is_string_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_string_dtype:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )

    result = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {idx} is different "
                f"from expected shape {sample_shape}"
            )
        if padding == "post":
            result[idx, : len(kept)] = kept
        else:
            result[idx, -len(kept) :] = kept
    return result
