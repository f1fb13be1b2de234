"""Files replaced atomically, and the temporary files of interrupted writes cleaned up.

A file is written to a temporary name beside its target and renamed over it, so readers see the
old or the new content, never a mix. The temporary name holds the target's name and the writing
process's id (``.lamina-<name>.<pid>-<thread>.tmp``): a later write to the same target removes
those whose process no longer runs, so killed writes cannot pile up temporary files.
"""

import os
import shutil
import threading

_SUFFIX = ".tmp"


def _prefix(path):
    # Long names are cut so the temporary name stays within file-system limits.
    return f".lamina-{os.path.basename(os.fspath(path))[:120]}."


def temp_path(path, tag=""):
    """This thread's temporary name for a write to ``path`` (``tag`` tells several apart)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f"{_prefix(path)}{os.getpid()}-{threading.get_ident()}{tag}{_SUFFIX}")


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temps(path):
    """Remove the temporary files (or folders) of writes to ``path`` whose process has died."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
            continue
        pid = name[len(prefix):-len(_SUFFIX)].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _process_alive(int(pid)):
            continue
        full = os.path.join(directory, name)
        try:
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.remove(full)
        except OSError:
            pass


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename over ``path``; never leaves a partial file at ``path``.

    Temporary files that earlier, killed writes to ``path`` left behind are removed first.
    """
    path = os.fspath(path)
    remove_stale_temps(path)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
