import csv

import numpy as np
import pytest
from callback_fakes import FakeModel, regression_data, replay, tiny_model

import lamina
from lamina.callbacks import CSVLogger

LOG_SETS = {
    "with_validation": [
        {"loss": 0.6931471824645996, "accuracy": 0.5, "val_loss": 0.70123, "val_accuracy": 0.25},
        {"loss": 0.5123, "accuracy": 0.75, "val_loss": 0.6, "val_accuracy": 0.5},
    ],
    "without_validation": [{"loss": 1.25, "mae": 0.5}, {"loss": 1.0, "mae": 0.4}],
    # array and string values, a late key (ignored) and a missing one (NA)
    "odd_values": [
        {"loss": 1.5, "per_class": np.array([0.1, 0.2]), "note": "a,b", "scalar": np.array(3.0)},
        {"loss": 1.25, "per_class": [1, 2, 3], "extra": 7.0, "scalar": np.float32(2.5)},
    ],
    "empty": [{}, {}],
}


def _write(callback, path, log_sets):
    for logs in log_sets:
        replay(callback, FakeModel(), logs)
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(LOG_SETS))
@pytest.mark.parametrize("separator", [",", ";"])
def test_file_matches_keras_byte_for_byte(oracle, tmp_path, name, separator):
    logs = LOG_SETS[name]
    ours = _write(CSVLogger(tmp_path / "ours.csv", separator=separator), tmp_path / "ours.csv", [logs])
    theirs = _write(
        oracle.callbacks.CSVLogger(str(tmp_path / "theirs.csv"), separator=separator), tmp_path / "theirs.csv", [logs]
    )
    assert ours == theirs
    assert ours.count(b"\r\n") == len(logs) + 1


@pytest.mark.oracle
@pytest.mark.parametrize("preexisting", [None, b"", b"old,row\r\n"])
def test_append_matches_keras(oracle, tmp_path, preexisting):
    logs = LOG_SETS["with_validation"]
    results = []
    for name, cls in (("ours", CSVLogger), ("theirs", oracle.callbacks.CSVLogger)):
        path = tmp_path / f"{name}.csv"
        if preexisting is not None:
            path.write_bytes(preexisting)
        results.append(_write(cls(str(path), append=True), path, [logs, logs]))
    assert results[0] == results[1]
    assert results[0].count(b"epoch,") == (0 if preexisting else 1)


def test_overwrites_without_append(tmp_path):
    path = tmp_path / "log.csv"
    callback = CSVLogger(path)
    _write(callback, path, [LOG_SETS["without_validation"]])
    content = _write(callback, path, [LOG_SETS["without_validation"][:1]]).decode()
    assert content.splitlines() == ["epoch,loss,mae,val_loss,val_mae", "0,1.25,0.5,NA,NA"]


def test_fit_rows_equal_history(tmp_path):
    x, y = regression_data()
    model = tiny_model(lamina)
    path = tmp_path / "training.log"
    history = model.fit(
        x[:12], y[:12], batch_size=4, epochs=3, verbose=0, validation_data=(x[12:], y[12:]),
        callbacks=[CSVLogger(path, separator="\t")],
    )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert list(rows[0]) == ["epoch", "loss", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key in ("loss", "val_loss"):
        assert [float(r[key]) for r in rows] == history.history[key]
