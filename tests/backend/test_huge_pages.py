"""``lamina/_huge_pages.py``: imported before torch, Lamina has torch put large tensors on huge pages."""

import os
import subprocess
import sys

# A fresh process each: torch reads the setting once, at its first allocation.
_SCRIPT = """
import os, sys
if sys.argv[1] == "torch-first":
    import torch
import lamina
import torch
big = torch.empty(1 << 20)  # 4 MiB: torch advises huge pages from 2 MiB up, page-aligned
print(os.environ.get("THP_MEM_ALLOC_ENABLE"), big.data_ptr() % 4096 == 0)
"""


def _run(order, **env_extra):
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    env.update(env_extra)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _SCRIPT, order], env=env, capture_output=True,
                         text=True, check=True)
    setting, aligned = out.stdout.split()
    return setting, aligned == "True"


def _huge_pages_available():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return sys.platform.startswith("linux") and "[never]" not in f.read()
    except OSError:
        return False


def test_imported_first_lamina_asks_torch_for_huge_pages():
    setting, aligned = _run("lamina-first")
    if _huge_pages_available():
        # torch took the setting: a 4 MiB tensor is page-aligned (64-byte aligned otherwise).
        assert (setting, aligned) == ("1", True)
    else:
        assert (setting, aligned) == ("None", False)


def test_too_late_after_torch_and_the_users_setting_wins():
    assert _run("torch-first") == ("None", False)
    assert _run("lamina-first", THP_MEM_ALLOC_ENABLE="0") == ("0", False)
