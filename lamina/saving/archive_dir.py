"""The unzipped form of a ``.keras`` archive: a folder holding the same members as files.

``Model.save(path, zipped=False)`` writes it (Keras 3 does the same); ``load_model(path)`` reads it
through ``DirectoryArchive``, which offers the read side of ``zipfile.ZipFile`` so the loader's
checks (allowed members, no symbolic links, sizes) apply to folders exactly as to zip files.
"""

import os
import stat


class _Member:
    """What the loader reads of a ``zipfile.ZipInfo``: name, mode bits and sizes."""

    def __init__(self, filename, mode, size):
        self.filename = filename
        self.external_attr = mode << 16
        self.file_size = size
        # Stored as is: the ratio check of compressed members does not apply.
        self.compress_size = size


class DirectoryArchive:
    """Read-only view of an unzipped ``.keras`` folder with the ``zipfile.ZipFile`` read methods.

    Args:
        path: The folder. Symbolic links inside it are listed (and then refused by the loader),
            never followed.
    """

    def __init__(self, path):
        self._root = os.path.abspath(path)
        self._members = {}
        for folder, dirs, files in os.walk(self._root, followlinks=False):
            rel = os.path.relpath(folder, self._root).replace(os.sep, "/")
            prefix = "" if rel == "." else rel + "/"
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(folder, name)
                info = os.lstat(full)
                member = prefix + name + ("/" if stat.S_ISDIR(info.st_mode) else "")
                self._members[member] = _Member(member, info.st_mode, info.st_size)

    def infolist(self):
        return list(self._members.values())

    def namelist(self):
        return list(self._members)

    def getinfo(self, name):
        return self._members[name]

    def open(self, name):
        member = self._members[name]
        if not stat.S_ISREG(member.external_attr >> 16):
            raise ValueError(f"Archive member {name!r} is not a regular file.")
        # O_NOFOLLOW: a file swapped for a link after the listing is still not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        return os.fdopen(os.open(os.path.join(self._root, *name.split("/")), flags), "rb")

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_directory(path, members):
    """Write ``(archive name, bytes)`` pairs as files under the folder ``path``."""
    os.makedirs(path)
    for name, data in members:
        target = os.path.join(path, *name.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
