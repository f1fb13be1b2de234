import json
import os

import numpy as np
import pytest
from callback_fakes import FakeModel, initial_weights, regression_data, replay, tiny_model

import lamina
from lamina.callbacks import BackupAndRestore

EPOCHS = 6


class _Interrupt(Exception):
    pass


def _interrupt_at(epoch, lib=lamina):
    def on_epoch_begin(e, logs):
        if e == epoch:
            raise _Interrupt(f"interrupted before epoch {e}")

    return lib.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin)


def _fit(model, callbacks, epochs=EPOCHS):
    x, y = regression_data()
    return model.fit(x, y, batch_size=4, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)


@pytest.fixture(scope="module")
def uninterrupted():
    """Weights and optimizer step count after an uninterrupted run."""
    model = tiny_model(lamina, initial_weights())
    _fit(model, [])
    return model.get_weights(), int(model.optimizer.iterations)


def _assert_same_weights(model, expected):
    weights, iterations = expected
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations) == iterations


@pytest.mark.parametrize("fresh_model", [True, False], ids=["new-process", "same-model"])
def test_interrupted_fit_resumes_to_the_same_weights(tmp_path, uninterrupted, fresh_model):
    backup_dir = tmp_path / "backup"
    model = tiny_model(lamina, initial_weights())
    with pytest.raises(_Interrupt):
        _fit(model, [BackupAndRestore(backup_dir), _interrupt_at(3)])
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 3, "batch": 0}
    if fresh_model:
        # A restarted process builds the model again from scratch: a different starting point.
        model = tiny_model(lamina, [w + 1 for w in initial_weights()])
    history = _fit(model, [BackupAndRestore(backup_dir)])
    assert history.epoch == [3, 4, 5]
    _assert_same_weights(model, uninterrupted)
    assert not backup_dir.exists()
    # The next fit of the same model starts from the beginning again.
    assert _fit(model, [], epochs=2).epoch == [0, 1]


def test_two_interruptions(tmp_path, uninterrupted):
    backup_dir = tmp_path / "backup"
    model = tiny_model(lamina, initial_weights())
    with pytest.raises(_Interrupt):
        _fit(model, [BackupAndRestore(backup_dir, double_checkpoint=True), _interrupt_at(2)])
    with pytest.raises(_Interrupt):
        _fit(model, [BackupAndRestore(backup_dir, double_checkpoint=True), _interrupt_at(4)])
    assert sorted(os.listdir(backup_dir)) == [
        "latest.weights.h5", "latest.weights.h5.bkp", "training_metadata.json", "training_metadata.json.bkp"
    ]
    history = _fit(model, [BackupAndRestore(backup_dir, double_checkpoint=True)])
    assert history.epoch == [4, 5]
    _assert_same_weights(model, uninterrupted)


def test_corrupted_backup_falls_back_to_the_previous_one(tmp_path, uninterrupted):
    backup_dir = tmp_path / "backup"
    with pytest.raises(_Interrupt):
        _fit(tiny_model(lamina, initial_weights()), [BackupAndRestore(backup_dir, double_checkpoint=True), _interrupt_at(3)])
    (backup_dir / "latest.weights.h5").write_bytes(b"not an hdf5 file")
    model = tiny_model(lamina)
    history = _fit(model, [BackupAndRestore(backup_dir, double_checkpoint=True)])
    assert history.epoch == [2, 3, 4, 5]
    _assert_same_weights(model, uninterrupted)


def test_corrupted_backup_without_previous_one_raises(tmp_path):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "latest.weights.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="latest.weights.h5"):
        _fit(tiny_model(lamina), [BackupAndRestore(backup_dir)])


def test_mid_epoch_backups(tmp_path):
    backup_dir = tmp_path / "backup"
    # 4 batches an epoch, a backup every 3 batches; interrupted at the start of epoch 2
    with pytest.raises(_Interrupt):
        _fit(tiny_model(lamina), [BackupAndRestore(backup_dir, save_freq=3), _interrupt_at(2)])
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 1, "batch": 1}
    history = _fit(tiny_model(lamina), [BackupAndRestore(backup_dir, save_freq=3)])
    assert history.epoch == [1, 2, 3, 4, 5]


def test_keep_checkpoint_and_finished_run(tmp_path):
    backup_dir = tmp_path / "backup"
    model = tiny_model(lamina)
    _fit(model, [BackupAndRestore(backup_dir, delete_checkpoint=False)], epochs=2)
    assert sorted(os.listdir(backup_dir)) == ["latest.weights.h5", "training_metadata.json"]
    # The kept backup says both epochs are done: nothing is left to run.
    history = _fit(tiny_model(lamina), [BackupAndRestore(backup_dir, delete_checkpoint=False)], epochs=2)
    assert history.epoch == []


def test_unbuilt_model_raises(tmp_path):
    model = lamina.Sequential([lamina.layers.Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="your model must be built before you call `fit\\(\\)`"):
        _fit(model, [BackupAndRestore(tmp_path / "backup")])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(backup_dir=""), "Empty `backup_dir` argument passed"),
        (dict(backup_dir="b", save_freq="batch"), "Invalid value for argument `save_freq`. Received: save_freq=batch"),
        (dict(backup_dir="b", save_freq=2.5), "Expected either 'epoch' or an integer value."),
    ],
)
def test_invalid_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        BackupAndRestore(**kwargs)


class _FakeModel(FakeModel):
    def load_weights(self, filepath, **kwargs):
        self.saved.append(("load", str(filepath)))


@pytest.mark.oracle
@pytest.mark.parametrize("save_freq", ["epoch", 3])
@pytest.mark.parametrize("double_checkpoint", [False, True])
def test_backup_files_match_keras(oracle, tmp_path, save_freq, double_checkpoint):
    results = []
    for name, cls in (("ours", BackupAndRestore), ("theirs", oracle.callbacks.BackupAndRestore)):
        folder = tmp_path / name
        model = _FakeModel(write=True)
        callback = cls(str(folder), save_freq=save_freq, double_checkpoint=double_checkpoint, delete_checkpoint=False)
        replay(callback, model, [{"loss": 1.0}] * 3, batches=4)
        files = sorted(os.listdir(folder))
        with open(folder / "training_metadata.json") as f:
            metadata = json.load(f)
        resumed = _FakeModel()
        restore = cls(str(folder))
        restore.set_model(resumed)
        restore.on_train_begin()
        initial_epoch = resumed._initial_epoch
        restore.on_train_end()  # deletes the backup
        saves = [(kind, path.replace(str(folder), "")) for kind, path in model.saved + resumed.saved]
        results.append((files, metadata, saves, initial_epoch, folder.exists()))
    assert results[0] == results[1]


@pytest.mark.oracle
def test_resume_a_keras_backup(oracle, tmp_path, uninterrupted):
    """A backup Keras wrote (weights, Adam state, epoch) resumes in Lamina."""
    backup_dir = str(tmp_path / "backup")
    keras_model = tiny_model(oracle, initial_weights())
    with pytest.raises(_Interrupt):
        _fit(keras_model, [oracle.callbacks.BackupAndRestore(backup_dir), _interrupt_at(3, oracle)])
    model = tiny_model(lamina)
    history = _fit(model, [BackupAndRestore(backup_dir)])
    assert history.epoch == [3, 4, 5]
    weights, iterations = uninterrupted
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert int(model.optimizer.iterations) == iterations


class _Killed(BaseException):
    """Stands for SIGKILL: no `except Exception` handler in `fit` sees it."""


def _save_steps(monkeypatch, kill_at):
    """Count every file-system step of the backups (renames, links, removals, copies) and die
    right after step number ``kill_at``; returns the counter."""
    counter = {"n": 0}

    def step(real):
        def wrapped(*args, **kwargs):
            result = real(*args, **kwargs)
            counter["n"] += 1
            if counter["n"] == kill_at:
                raise _Killed()
            return result
        return wrapped

    for name in ("replace", "link", "remove"):
        monkeypatch.setattr(os, name, step(getattr(os, name)))
    return counter


@pytest.mark.parametrize("double_checkpoint", [False, True], ids=["single", "double"])
def test_a_kill_at_any_step_of_a_backup_resumes_to_the_same_weights(tmp_path, monkeypatch, uninterrupted,
                                                                      double_checkpoint):
    # Count the steps of one backup (the third, at the end of epoch 2) ...
    def run(backup_dir, kill_at=None):
        model = tiny_model(lamina, initial_weights())
        callbacks = [BackupAndRestore(backup_dir, double_checkpoint=double_checkpoint), _interrupt_at(3)]
        with monkeypatch.context() as patch:
            counter = _save_steps(patch, kill_at)
            try:
                _fit(model, callbacks)
            except (_Killed, _Interrupt):
                pass
        return counter["n"]

    steps_through_epoch_1 = run(tmp_path / "count_a", kill_at=None)
    # ... then kill at each step of every backup up to the interruption, and resume.
    assert steps_through_epoch_1 >= 9
    for kill_at in range(1, steps_through_epoch_1 + 1):
        backup_dir = tmp_path / f"kill_{kill_at}"
        run(backup_dir, kill_at=kill_at)
        model = tiny_model(lamina, [w + 1 for w in initial_weights()])
        if not os.path.exists(backup_dir / "training_metadata.json"):
            # Killed before the first commit: a fresh start, as from a run never backed up.
            model = tiny_model(lamina, initial_weights())
        _fit(model, [BackupAndRestore(backup_dir, double_checkpoint=double_checkpoint)])
        _assert_same_weights(model, uninterrupted)
        assert not backup_dir.exists()
