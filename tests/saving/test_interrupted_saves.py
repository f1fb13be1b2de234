"""Saves killed mid-write: the target keeps its last complete version, temporary files never pile up."""

import os
import subprocess
import sys
import textwrap

import numpy as np

import lamina
from lamina import layers

_KILLED_SAVE = textwrap.dedent(
    """
    import os, sys
    import lamina
    from lamina import layers

    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    # Die the way SIGKILL would: after the temporary file is written, before its rename.
    os.replace = lambda *args: os._exit(9)
    if sys.argv[1].endswith(".keras"):
        model.save(sys.argv[1])
    else:
        model.save_weights(sys.argv[1])
    """
)


def _model():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_killed_saves_leave_nothing_after_the_next_save(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    for name in ("m.keras", "m.weights.h5"):
        target = tmp_path / name
        done = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(target)], env=env, timeout=120)
        assert done.returncode == 9
        assert not target.exists()
        assert len(_temps(tmp_path)) == 1  # the killed save's own temporary file
        model = _model()
        model.save(target) if name.endswith(".keras") else model.save_weights(target)
        assert _temps(tmp_path) == []
        loaded = _model()
        loaded.load_weights(target)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_stale_temporaries_of_dead_processes_are_removed_and_others_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = [tmp_path / f".lamina-m.keras.{dead}-{i}.tmp" for i in range(20)]
    for path in stale:
        path.write_bytes(b"partial")
    # Another target's temporary file and a live process's file are not this save's business.
    other = tmp_path / f".lamina-other.keras.{dead}-1.tmp"
    live = tmp_path / f".lamina-m.keras.{os.getppid()}-1.tmp"
    other.write_bytes(b"x")
    live.write_bytes(b"x")
    _model().save(tmp_path / "m.keras")
    assert not any(p.exists() for p in stale)
    assert other.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".tmp")) == ["m.keras"]
