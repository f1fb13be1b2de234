import os
import warnings

import numpy as np
import pytest
import torch
from callback_fakes import FakeModel, initial_weights, regression_data, replay, tiny_model

import lamina
from lamina.callbacks import ModelCheckpoint

VAL_LOSS = [0.9, 0.7, 0.75, 0.69, 0.6901, 0.5, 0.5, 0.52]
ACC = [0.5, 0.6, 0.6, 0.55, 0.7, 0.72, 0.71, 0.8]
EPOCH_LOGS = [{"loss": v + 0.1, "val_loss": v, "val_acc": a} for v, a in zip(VAL_LOSS, ACC)]
CONFIGS = [
    dict(filepath="{epoch:02d}-{val_loss:.2f}.keras"),
    dict(filepath="ckpt/{epoch:02d}-{val_loss:.2f}.keras", save_best_only=True),
    dict(filepath="best.weights.h5", save_weights_only=True, save_best_only=True, monitor="val_acc", mode="max"),
    dict(filepath="w-{epoch}.weights.h5", save_weights_only=True, save_best_only=True, initial_value_threshold=0.69),
    dict(filepath="m-{epoch}.keras", save_best_only=True, monitor="loss", mode="max"),
    dict(filepath="m-{epoch}-{batch}.keras", save_freq=3),
    dict(filepath="m-{epoch}-{batch}-{loss:.3f}.weights.h5", save_freq=5, save_weights_only=True),
    # Legacy whole-model HDF5 files, as Keras 2 programs name them.
    dict(filepath="w.{epoch:02d}-{val_loss:.2f}.h5"),
    dict(filepath="best.h5", save_best_only=True),
    dict(filepath="m-{epoch}-{batch}.h5", save_freq=3),
    dict(filepath="m.weights.h5", save_best_only=True, monitor="val_acc", mode="max"),
]


def _batch_logs(as_tensor):
    def logs(epoch, batch):
        value = 1.0 / (1 + epoch + 0.25 * batch)
        return {"loss": torch.tensor(value) if as_tensor else value}

    return logs


def _run(make, folder, config, capsys, as_tensor):
    config = dict(config, filepath=os.path.join(folder, config["filepath"]))
    callback = make(verbose=1, **config)
    model = FakeModel()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replay(callback, model, EPOCH_LOGS, batches=4, batch_logs=_batch_logs(as_tensor))
    printed = capsys.readouterr().out.replace(folder, "<dir>")
    saved = [(kind, path.replace(folder, "<dir>")) for kind, path in model.saved]
    best = None if callback.best is None else float(callback.best)
    return {"saved": saved, "printed": printed, "warnings": [str(w.message) for w in caught], "best": best}


@pytest.mark.oracle
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c["filepath"])
def test_saves_match_keras(oracle, tmp_path, config, capsys):
    ours = _run(ModelCheckpoint, str(tmp_path / "ours"), config, capsys, as_tensor=True)
    theirs = _run(oracle.callbacks.ModelCheckpoint, str(tmp_path / "theirs"), config, capsys, as_tensor=False)
    assert ours == theirs
    assert ours["saved"]


@pytest.mark.oracle
def test_missing_monitor_warns_and_saves_like_keras(oracle, tmp_path, capsys):
    config = dict(filepath="{epoch}.keras", monitor="val_auc", mode="max", save_best_only=True)
    ours = _run(ModelCheckpoint, str(tmp_path / "ours"), config, capsys, as_tensor=True)
    theirs = _run(oracle.callbacks.ModelCheckpoint, str(tmp_path / "theirs"), config, capsys, as_tensor=False)
    assert ours == theirs
    assert len(ours["saved"]) == len(EPOCH_LOGS)
    assert ours["warnings"][0] == "Can save best model only with val_auc available."


@pytest.mark.oracle
def test_fit_checkpoints_match_keras(oracle, tmp_path):
    """A real fit: the same best epochs are saved under the same names, and the weights Keras
    wrote load into Lamina equal to the ones Lamina wrote."""
    x, y = regression_data()
    names = []
    for lib, folder in ((lamina, tmp_path / "ours"), (oracle, tmp_path / "theirs")):
        model = tiny_model(lib, initial_weights(), lr=0.2)
        checkpoint = lib.callbacks.ModelCheckpoint(
            str(folder / "{epoch:02d}-{val_loss:.3f}.weights.h5"), save_best_only=True, save_weights_only=True
        )
        model.fit(
            x[:12], y[:12], batch_size=4, epochs=12, shuffle=False, verbose=0,
            validation_data=(x[12:], y[12:]), callbacks=[checkpoint],
        )
        names.append(sorted(os.listdir(folder)))
    assert names[0] == names[1]
    assert 1 < len(names[0]) < 12
    ours, theirs = tiny_model(lamina), tiny_model(lamina)
    ours.load_weights(tmp_path / "ours" / names[0][-1])
    theirs.load_weights(tmp_path / "theirs" / names[0][-1])
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _fit(model, callbacks, epochs=3, batch_size=4):
    x, y = regression_data(12)
    return model.fit(
        x[:8], y[:8], batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
        validation_data=(x[8:], y[8:]), callbacks=callbacks,
    )


def test_whole_model_files_load_back(tmp_path):
    model = tiny_model(lamina)
    history = _fit(model, [ModelCheckpoint(tmp_path / "{epoch:02d}-{val_loss:.2f}.keras")])
    expected = [f"{e + 1:02d}-{v:.2f}.keras" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path)) == expected
    restored = lamina.models.load_model(tmp_path / expected[-1])
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weight_files_hold_each_epochs_weights(tmp_path):
    model = tiny_model(lamina)
    snapshots = []
    record = lamina.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append([np.array(w) for w in model.get_weights()])
    )
    checkpoint = ModelCheckpoint(str(tmp_path / "sub" / "w{epoch}.weights.h5"), save_weights_only=True)
    _fit(model, [record, checkpoint])
    for epoch, expected in enumerate(snapshots):
        loaded = tiny_model(lamina)
        loaded.load_weights(tmp_path / "sub" / f"w{epoch + 1}.weights.h5")
        for a, b in zip(loaded.get_weights(), expected):
            np.testing.assert_array_equal(a, b)


def test_save_freq_in_batches(tmp_path):
    model = tiny_model(lamina)
    # 3 batches an epoch, a save every 2 batches
    _fit(model, [ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.keras"), save_freq=2)], epochs=2, batch_size=3)
    assert sorted(os.listdir(tmp_path)) == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]


def test_save_best_only_at_batch_level(tmp_path):
    model = FakeModel()
    callback = ModelCheckpoint(str(tmp_path / "b.keras"), monitor="loss", save_best_only=True, save_freq=1)
    losses = [0.5, 0.4, 0.45, 0.3]
    replay(callback, model, [{"loss": 0.3}], batches=4,
           batch_logs=lambda epoch, batch: {"loss": torch.tensor(losses[batch])})
    assert len(model.saved) == 3 and callback.best == pytest.approx(0.3)


def test_initial_value_threshold_blocks_worse_models(tmp_path):
    model = tiny_model(lamina)
    checkpoint = ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True, initial_value_threshold=1e-9)
    _fit(model, [checkpoint])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filepath="m.keras", save_freq="batch"), "Unrecognized save_freq: batch. Expected save_freq are 'epoch' or integer"),
        (dict(filepath="m.keras", save_weights_only=True), "must end in `.weights.h5`"),
        (dict(filepath="m.ckpt"), "must end in `.keras`"),
        (dict(filepath="ckpt/"), "must end in `.keras`"),
        (dict(filepath="m.ckpt", save_weights_only=True), "must end in `.weights.h5`"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelCheckpoint(**kwargs)


@pytest.mark.parametrize("weights_only", [False, True])
def test_legacy_h5_filepath(tmp_path, weights_only):
    # Keras 2 scripts checkpoint to `model.{epoch:03d}.h5`; the file is Keras 2's HDF5 layout.
    model = tiny_model(lamina)
    path = str(tmp_path / "m.{epoch:03d}.h5")
    _fit(model, [ModelCheckpoint(path, save_weights_only=weights_only)], epochs=2)
    assert sorted(os.listdir(tmp_path)) == ["m.001.h5", "m.002.h5"]
    x, _ = regression_data(4)
    if weights_only:
        restored = tiny_model(lamina)
        restored.load_weights(str(tmp_path / "m.002.h5"))
    else:
        restored = lamina.models.load_model(str(tmp_path / "m.002.h5"))
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs",
    [dict(filepath="m.pt"), dict(filepath="ckpt/"), dict(filepath="m.keras", save_weights_only=True)],
    ids=lambda k: k["filepath"],
)
def test_refused_filepaths_say_what_keras_says(oracle, kwargs):
    with pytest.raises(ValueError) as theirs:
        oracle.callbacks.ModelCheckpoint(**kwargs)
    with pytest.raises(ValueError) as ours:
        ModelCheckpoint(**kwargs)
    # Lamina also names its sharded `.weights.dcp` folders; the rest is Keras's sentence.
    assert str(ours.value).replace(", or in `.weights.dcp` (a sharded checkpoint folder)", "") == str(theirs.value)


def test_h5_checkpoints_are_whole_models(tmp_path):
    model = tiny_model(lamina)
    history = _fit(model, [ModelCheckpoint(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.h5")])
    expected = [f"w.{e + 1:02d}-{v:.2f}.h5" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path)) == expected
    restored = lamina.models.load_model(tmp_path / expected[-1])
    assert restored.optimizer is not None and type(restored.optimizer) is type(model.optimizer)
    x, _ = regression_data(4)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def _keras2_best_h5_program(keras, folder):
    """A Keras 2-era script: keep the best model in `best.h5`, then load it for prediction."""
    x, y = regression_data(24, seed=3)
    model = keras.Sequential([keras.layers.Dense(4, activation="tanh", input_shape=(3,)), keras.layers.Dense(1)])
    model.set_weights(initial_weights())
    # Keras 3.15 cannot read back its own `.h5` file compiled with the alias "mse".
    model.compile(optimizer=keras.optimizers.Adam(0.3), loss="mean_squared_error")
    best = keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.h5"), monitor="val_loss", save_best_only=True)
    history = model.fit(
        x[:16], y[:16], batch_size=4, epochs=6, shuffle=False, verbose=0,
        validation_data=(x[16:], y[16:]), callbacks=[best],
    )
    loaded = keras.models.load_model(os.path.join(folder, "best.h5"))
    return model, loaded, history.history["val_loss"], x[16:], y[16:]


def test_keras2_best_h5_program(tmp_path):
    model, loaded, val_losses, x_val, y_val = _keras2_best_h5_program(lamina, str(tmp_path))
    # The file holds the best epoch's model: evaluating it gives the best validation loss.
    np.testing.assert_allclose(loaded.evaluate(x_val, y_val, verbose=0), min(val_losses), rtol=1e-5)


@pytest.mark.oracle
def test_keras2_best_h5_program_matches_keras(oracle, tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    _, ours, our_losses, x_val, _ = _keras2_best_h5_program(lamina, str(tmp_path / "ours"))
    _, theirs, their_losses, _, _ = _keras2_best_h5_program(oracle, str(tmp_path / "theirs"))
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)
    np.testing.assert_allclose(ours.predict(x_val, verbose=0), theirs.predict(x_val, verbose=0), rtol=1e-4, atol=1e-5)
    # Each library reads the other's checkpoint.
    crossed = oracle.models.load_model(tmp_path / "ours" / "best.h5")
    np.testing.assert_allclose(np.asarray(crossed.predict(x_val, verbose=0)), ours.predict(x_val, verbose=0), rtol=1e-5)
    crossed = lamina.models.load_model(tmp_path / "theirs" / "best.h5")
    np.testing.assert_allclose(crossed.predict(x_val, verbose=0), theirs.predict(x_val, verbose=0), rtol=1e-5)


def test_unknown_format_field(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "{epoch}-{val_accuracy:.2f}.keras"))
    with pytest.raises(KeyError, match="Failed to format this callback filepath.*Reason: .*val_accuracy"):
        replay(callback, FakeModel(), [{"loss": 1.0, "val_loss": 1.0}])


def test_directory_as_filepath(tmp_path):
    (tmp_path / "taken.keras").mkdir()
    callback = ModelCheckpoint(str(tmp_path / "taken.keras"))
    with pytest.raises(IOError, match="Please specify a non-directory filepath for ModelCheckpoint"):
        replay(callback, FakeModel(), [{"val_loss": 1.0}])
