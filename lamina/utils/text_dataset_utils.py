"""``text_dataset_from_directory``: a labelled text dataset from a folder of class subfolders."""

from lamina.utils import dataset_utils


def _text_loader(max_length):
    def load(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text if max_length is None else text[:max_length]

    return load


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size=32, max_length=None, shuffle=True, seed=None,
                                validation_split=None, subset=None, follow_links=False, format="tf",
                                verbose=True):
    """A ``lamina.utils.Dataset`` of texts (and labels) read from the ``.txt`` files of ``directory``.

    With ``labels="inferred"`` the folder holds one subfolder per class::

        main_directory/
        ...class_a/  a_text_1.txt  a_text_2.txt
        ...class_b/  b_text_1.txt  b_text_2.txt

    Batches of texts are numpy arrays of Python strings (decoded as UTF-8), which
    ``TextVectorization`` and ``StringLookup`` take as they are.

    Args:
        directory: The folder of text files.
        labels: ``"inferred"``, ``None``, or a list of integer labels, one per file in sorted
            path order.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None`` (texts only).
        class_names: With inferred labels, the subfolders to use, in label order.
        batch_size: Texts per batch; ``None`` yields single texts.
        max_length: Keep at most this many characters of each text.
        shuffle: Shuffle the files (once, from ``seed``) and the training data every epoch.
        seed: Seed of the shuffles; needed with ``validation_split`` and ``shuffle``.
        validation_split: Fraction of the files kept for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"``.
        follow_links: Follow symbolic links to subfolders.
        format: ``"tf"`` or ``"grain"``; both give a ``lamina.utils.Dataset``.
        verbose: Print the number of files and classes found.

    Returns:
        A ``lamina.utils.Dataset`` with ``class_names`` and ``file_paths``, or a list of two with
        ``subset="both"``.

    Example:

    >>> train_ds = lamina.utils.text_dataset_from_directory("aclImdb/train", batch_size=32)
    >>> train_ds.class_names
    ['neg', 'pos']
    """
    dataset_utils.check_labels_arg(labels, label_mode, class_names, "text")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    return dataset_utils.directory_datasets(
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
        subset, follow_links, verbose, (".txt",), "text", _text_loader(max_length),
    )
