"""The error for integer ids (class labels, embedding indices) outside their valid range.

Torch raises a bare ``IndexError`` ("Target 7 is out of bounds", "index out of range in self")
that names neither the layer or loss nor the range. Lamina catches it where the ids are used and
raises ``IndexOutOfRangeError`` instead, which names all three. The check runs only once torch
has refused, so correct data pays nothing (no device sync per batch).
"""

import torch


class IndexOutOfRangeError(ValueError, IndexError):
    """Ids outside their valid range: a ``ValueError`` (bad data) and, as torch's error was, an
    ``IndexError``."""


def out_of_range(owner, what, ids, size, ignored=None):
    """Build the error for ``ids`` (a tensor) that should lie in ``[0, size)``.

    Args:
        owner: Who received the ids, e.g. ``"Embedding layer 'emb'"``.
        what: What the ids are, e.g. ``"indices"``.
        ids: The tensor holding the ids.
        size: The number of valid ids.
        ignored: An id allowed outside the range (a loss's ignored class), if any.
    """
    ids = torch.as_tensor(ids).detach().to(torch.int64)
    bad = (ids < 0) | (ids >= size)
    if ignored is not None:
        bad &= ids != ignored
    values = ids[bad].unique()
    shown = values[:10].tolist()
    more = f" (and {values.numel() - 10} more)" if values.numel() > 10 else ""
    return IndexOutOfRangeError(
        f"{owner} received {what} {shown}{more} outside the valid range [0, {size})."
    )
