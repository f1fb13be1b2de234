"""``audio_dataset_from_directory``: a labelled audio dataset from a folder of ``.wav`` files.

WAV files are decoded with the standard library's ``wave`` module: integer PCM with 8, 16, 24 or
32 bits per sample, any number of channels, scaled to float32 in ``[-1, 1)`` as
``tf.audio.decode_wav`` does for 16-bit files (``x / 32768``). Floating-point and compressed WAV
files are refused with an error naming the file.
"""

import wave

import numpy as np

from lamina.utils import dataset_utils

ALLOWED_FORMATS = (".wav",)


def _decode_wav(path):
    """``(samples, channels)`` float32 audio of a PCM WAV file, and its sampling rate."""
    try:
        with wave.open(path, "rb") as f:
            width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"Could not decode {path} as integer PCM WAV: {e}") from e
    if width == 1:  # 8-bit WAV is unsigned
        audio = (np.frombuffer(raw, np.uint8).astype("float32") - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        values = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        audio = (np.where(values >= 1 << 23, values - (1 << 24), values) / float(1 << 23)).astype("float32")
    elif width in (2, 4):
        audio = np.frombuffer(raw, f"<i{width}").astype("float32") / float(1 << (8 * width - 1))
    else:
        raise ValueError(f"Unsupported WAV sample width in {path}: {width} bytes.")
    return audio.reshape(-1, channels), rate


def _audio_loader(output_sequence_length):
    def load(path):
        audio, _ = _decode_wav(path)
        if output_sequence_length is not None:
            n = output_sequence_length
            audio = audio[:n] if len(audio) >= n else np.pad(audio, ((0, n - len(audio)), (0, 0)))
        return audio

    return load


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 batch_size=32, sampling_rate=None, output_sequence_length=None,
                                 ragged=False, shuffle=True, seed=None, validation_split=None,
                                 subset=None, follow_links=False, verbose=True):
    """A ``lamina.utils.Dataset`` of audio clips (and labels) read from the ``.wav`` files of ``directory``.

    With ``labels="inferred"`` the folder holds one subfolder per class. Clips are float32
    ``(samples, channels)``; a batch is ``(batch_size, samples, channels)``, clips zero-padded at
    the end to the longest of the batch unless ``output_sequence_length`` fixes the length.

    Args:
        directory: The folder of audio files.
        labels: ``"inferred"``, ``None``, or a list of integer labels, one per file in sorted
            path order.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None`` (audio only).
        class_names: With inferred labels, the subfolders to use, in label order.
        batch_size: Clips per batch; ``None`` yields single clips.
        sampling_rate: Resampling is not implemented: must be ``None`` (clips keep their rate).
        output_sequence_length: Truncate or zero-pad every clip to this many samples.
        ragged: Not supported (torch has no ragged tensors): must be ``False``.
        shuffle: Shuffle the files (once, from ``seed``) and the training data every epoch.
        seed: Seed of the shuffles; needed with ``validation_split`` and ``shuffle``.
        validation_split: Fraction of the files kept for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"``.
        follow_links: Follow symbolic links to subfolders.
        verbose: Print the number of files and classes found.

    Returns:
        A ``lamina.utils.Dataset`` with ``class_names`` and ``file_paths``, or a list of two with
        ``subset="both"``.

    Example:

    >>> ds = lamina.utils.audio_dataset_from_directory("speech/", output_sequence_length=16000)
    >>> clips, labels = next(iter(ds))
    """
    dataset_utils.check_labels_arg(labels, label_mode, class_names, "audio")
    if ragged:
        raise ValueError("`ragged=True` is not supported by Lamina (torch has no ragged tensors); "
                         "use `output_sequence_length` or the default zero-padded batches.")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int) or sampling_rate <= 0:
            raise ValueError(f"`sampling_rate` should be a positive integer. Received: sampling_rate={sampling_rate}")
        raise ValueError(
            "Resampling audio (`sampling_rate`) is not implemented in Lamina: pass "
            "`sampling_rate=None` and resample the files beforehand."
        )
    if output_sequence_length is not None and (not isinstance(output_sequence_length, int) or output_sequence_length <= 0):
        raise ValueError(
            "`output_sequence_length` should be a positive integer. Received: "
            f"output_sequence_length={output_sequence_length}"
        )
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    return dataset_utils.directory_datasets(
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
        subset, follow_links, verbose, ALLOWED_FORMATS, "audio", _audio_loader(output_sequence_length),
        pad=output_sequence_length is None,
    )
