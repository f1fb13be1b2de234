"""``text_dataset_from_directory`` and ``audio_dataset_from_directory`` on generated files (Keras's
versions need TensorFlow; file order and labels follow Keras's ``index_directory``, tested with it)."""

import wave

import numpy as np
import pytest
import torch

import lamina
from lamina.utils import audio_dataset_from_directory, text_dataset_from_directory


@pytest.fixture
def text_dir(tmp_path):
    texts = {"neg": ["bad film", "awful", "not good at all"], "pos": ["great", "loved it", "très bien ☺"]}
    for cls, items in texts.items():
        (tmp_path / cls).mkdir()
        for i, text in enumerate(items):
            (tmp_path / cls / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "pos" / "ignored.md").write_text("x")
    return tmp_path


def test_text_contents_labels_and_batches(text_dir):
    ds = text_dataset_from_directory(str(text_dir), shuffle=False, batch_size=4, verbose=False)
    assert ds.class_names == ["neg", "pos"] and len(ds) == 2
    texts, labels = ds[0]
    assert isinstance(texts, np.ndarray) and texts.dtype.kind == "U" and labels.dtype == torch.int32
    # Keras's text example prints `text_batch.numpy()[i]` and `label_batch.numpy()[i]`.
    assert type(texts.numpy()) is np.ndarray and texts.numpy()[0] == "bad film" and labels.numpy()[0] == 0
    assert type(next(ds.as_numpy_iterator())[0]) is np.ndarray
    everything = [t for b in ds for t in b[0].tolist()]
    assert everything == ["bad film", "awful", "not good at all", "great", "loved it", "très bien ☺"]
    assert torch.cat([b[1] for b in ds]).tolist() == [0, 0, 0, 1, 1, 1]


def test_text_max_length_label_modes_and_no_labels(text_dir):
    ds = text_dataset_from_directory(str(text_dir), shuffle=False, batch_size=None, max_length=4,
                                     label_mode="categorical", verbose=False)
    first = ds[0]
    assert first[0] == "bad " and first[1].tolist() == [1.0, 0.0]
    ds = text_dataset_from_directory(str(text_dir), shuffle=False, label_mode="binary", verbose=False)
    assert ds[0][1].shape == (6, 1)
    ds = text_dataset_from_directory(str(text_dir), labels=None, shuffle=False, verbose=False)
    assert isinstance(ds[0], np.ndarray) and len(ds[0]) == 6


def test_text_subsets_and_shuffle(text_dir):
    train, val = text_dataset_from_directory(str(text_dir), validation_split=0.34, subset="both", seed=3,
                                             batch_size=2, verbose=False)
    assert len(train.file_paths) == 4 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    with pytest.raises(ValueError, match="seed"):
        text_dataset_from_directory(str(text_dir), validation_split=0.5, subset="training", verbose=False)


def test_text_dataset_trains_with_text_vectorization(text_dir):
    ds = text_dataset_from_directory(str(text_dir), batch_size=3, seed=0, verbose=False)
    vectorize = lamina.layers.TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=4)
    vectorize.adapt(ds.map(lambda text, label: text))
    inputs = lamina.Input(shape=(1,), dtype="string")
    x = vectorize(inputs)
    x = lamina.layers.Embedding(20, 4)(x)
    x = lamina.layers.GlobalAveragePooling1D()(x)
    model = lamina.Model(inputs, lamina.layers.Dense(2)(x))
    model.compile(optimizer="adam", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ds.map(lambda text, label: (text[:, None], label)), epochs=1, verbose=0)


def _write_wav(path, samples, width=2, rate=8000):
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        if width == 1:
            raw = (samples + 128).astype(np.uint8).tobytes()
        elif width == 3:
            v = samples.astype("<i4").reshape(-1)
            raw = np.stack([v & 255, (v >> 8) & 255, (v >> 16) & 255], axis=1).astype(np.uint8).tobytes()
        else:
            raw = samples.astype(f"<i{width}").tobytes()
        f.writeframes(raw)


@pytest.fixture
def audio_dir(tmp_path):
    (tmp_path / "no").mkdir()
    (tmp_path / "yes").mkdir()
    _write_wav(tmp_path / "no" / "a.wav", [0, 16384, -32768, 32767])
    _write_wav(tmp_path / "no" / "b.wav", [100, -100])
    _write_wav(tmp_path / "yes" / "c.wav", [1, 2, 3, 4, 5, 6])
    return tmp_path


def test_audio_decoding_and_padded_batches(audio_dir):
    ds = audio_dataset_from_directory(str(audio_dir), shuffle=False, batch_size=3, verbose=False)
    audio, labels = ds[0]
    assert tuple(audio.shape) == (3, 6, 1) and audio.dtype == torch.float32
    np.testing.assert_allclose(audio[0, :4, 0], [0, 0.5, -1, 32767 / 32768])
    assert audio[0, 4:].sum() == 0 and audio[1, 2:].sum() == 0  # zero-padded to the batch's longest
    assert labels.tolist() == [0, 0, 1] and ds.class_names == ["no", "yes"]


def test_audio_output_sequence_length(audio_dir):
    ds = audio_dataset_from_directory(str(audio_dir), shuffle=False, batch_size=None, output_sequence_length=3,
                                      verbose=False)
    clips = [x for x, _ in ds]
    assert [tuple(c.shape) for c in clips] == [(3, 1)] * 3
    np.testing.assert_allclose(clips[1][:, 0], [100 / 32768, -100 / 32768, 0])


@pytest.mark.parametrize("width, values, expected", [
    (1, [-128, 0, 64], [-1.0, 0.0, 0.5]),
    (3, [-(1 << 23), 1 << 22, 0], [-1.0, 0.5, 0.0]),
    (4, [-(1 << 31), 1 << 30, 0], [-1.0, 0.5, 0.0]),
])
def test_audio_sample_widths(tmp_path, width, values, expected):
    (tmp_path / "c").mkdir()
    _write_wav(tmp_path / "c" / "x.wav", values, width=width)
    ds = audio_dataset_from_directory(str(tmp_path), batch_size=None, shuffle=False, verbose=False)
    np.testing.assert_allclose(ds[0][0][:, 0], expected)


def test_audio_stereo(tmp_path):
    (tmp_path / "c").mkdir()
    _write_wav(tmp_path / "c" / "s.wav", np.array([[0, 16384], [-16384, 0]]))
    ds = audio_dataset_from_directory(str(tmp_path), batch_size=None, shuffle=False, verbose=False)
    np.testing.assert_allclose(ds[0][0], [[0, 0.5], [-0.5, 0]])


def test_audio_errors(audio_dir):
    with pytest.raises(ValueError, match="ragged"):
        audio_dataset_from_directory(str(audio_dir), ragged=True)
    with pytest.raises(ValueError, match="not implemented"):
        audio_dataset_from_directory(str(audio_dir), sampling_rate=16000)
    with pytest.raises(ValueError, match="positive integer"):
        audio_dataset_from_directory(str(audio_dir), sampling_rate=-1)
    with pytest.raises(ValueError, match="output_sequence_length"):
        audio_dataset_from_directory(str(audio_dir), output_sequence_length=0)
    (audio_dir / "no" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    ds = audio_dataset_from_directory(str(audio_dir), shuffle=False, batch_size=None, verbose=False)
    with pytest.raises(ValueError, match="broken.wav"):
        list(ds)
