"""``keep_freed_memory``: freed tensors are reused without page faults (the cause of bimodal steps)."""

import os
import platform
import subprocess
import sys

import pytest

_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A fresh process: the setting is process-wide and made once.
_SCRIPT = """
import resource, sys, torch
from lamina.backend.allocator import keep_freed_memory
applied = keep_freed_memory()
faults = []
for _ in range(10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    # Three 12 MiB blocks: above glibc's initial mmap threshold, and once that threshold has
    # grown to 12 MiB, 36 MiB free at the heap's top: above the trim threshold it grows with.
    ts = [torch.empty(12 << 18) for _ in range(3)]
    for t in ts:
        t.fill_(1.0)  # touch every page
    del ts, t
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
# After the first iteration the heap may grow once more by one block (where the blocks land
# varies), then it holds them all: count the iterations that faulted a block's worth of pages.
print(applied, sum(f > 1000 for f in faults[1:]))
"""


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env.update(env_extra)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True,
                         check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not _glibc, reason="the thresholds are glibc's; other C libraries are left alone")
def test_freed_tensor_memory_is_reused_without_page_faults():
    applied, faulted = _run({})
    assert applied
    # With glibc's moving thresholds the blocks can go back to the system in every iteration.
    assert faulted <= 1


@pytest.mark.skipif(not _glibc, reason="the thresholds are glibc's; other C libraries are left alone")
def test_opt_out():
    # Without the setting, whether the blocks fault again depends on the process's history
    # (glibc's thresholds move), so only the opt-out itself is asserted.
    applied, _ = _run({"LAMINA_KEEP_FREED_MEMORY": "0"})
    assert not applied


def test_user_malloc_settings_are_respected():
    applied, _ = _run({"MALLOC_TRIM_THRESHOLD_": "1000000"})
    assert not applied


def test_loops_apply_it(monkeypatch):
    import numpy as np

    import lamina
    from lamina.trainers import trainer_utils

    calls = []
    monkeypatch.setattr(trainer_utils, "keep_freed_memory", lambda: calls.append(1))
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(loss="mse")
    x = np.ones((4, 3), "float32")
    for loop in (
        lambda: model.fit(x, x[:, :1], verbose=0),
        lambda: model.predict(x, verbose=0),
        lambda: model.evaluate(x, x[:, :1], verbose=0),
    ):
        before = len(calls)
        loop()
        assert len(calls) > before  # each loop asks
