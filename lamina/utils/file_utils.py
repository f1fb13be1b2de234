"""``get_file``: download a file once into the Keras cache, check its hash, extract archives.

Files land where Keras puts them (``$KERAS_HOME`` or ``~/.keras``, then ``cache_subdir``), so a
cache filled by Keras serves Lamina and the reverse. A download is written to a temporary file
beside its target and renamed into place only once complete and verified, so an interrupted or
corrupted download never looks like a cached file; with a ``file_hash`` an interrupted download
is resumed where it stopped (HTTP Range) on the next call. Processes sharing the cache take turns
(a lock on the cache folder), so a file is downloaded and extracted once. Archives are checked
member by member before anything is extracted: a member that would land outside the target
folder (``../``, absolute paths, links pointing out) makes the whole archive refused.
"""

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

_CHUNK = 1 << 16


def keras_home():
    """The Keras cache root: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` if home is read-only)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def _resolve_hasher(algorithm, file_hash=None):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(
            f"`hash_algorithm` must be one of 'auto', 'sha256', 'md5'. Received: "
            f"hash_algorithm={algorithm!r}"
        )
    # As Keras: 'auto' means sha256 for a 64-digit hash, md5 otherwise.
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """The hex digest of the file at ``fpath`` (``"sha256"``, ``"md5"``, or ``"auto"`` = sha256).

    Args:
        fpath: Path to the file.
        algorithm: ``"sha256"``, ``"md5"`` or ``"auto"``, or a ``hashlib`` hasher object.
        chunk_size: Bytes read at a time.

    Returns:
        The hash as a hex string.
    """
    hasher = _resolve_hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Whether the file at ``fpath`` has the hash ``file_hash`` (sha256 or md5; ``"auto"`` infers it
    from the hash's length)."""
    hasher = _resolve_hasher(algorithm, file_hash)
    return hash_file(fpath, hasher, chunk_size) == str(file_hash).lower()


def _inside(base, path):
    base = os.path.realpath(base)
    path = os.path.realpath(os.path.join(base, path))
    try:
        return os.path.commonpath([base, path]) == base
    except ValueError:  # different drives
        return False


def _check_tar_members(archive, target):
    for member in archive.getmembers():
        name = member.name
        if os.path.isabs(name) or not _inside(target, name):
            raise ValueError(f"Refusing to extract the archive: member {name!r} would land outside {target!r}.")
        if member.issym() or member.islnk():
            # A symlink resolves from its own folder, a hard link from the archive's root.
            start = os.path.dirname(name) if member.issym() else ""
            link = os.path.join(start, member.linkname)
            if os.path.isabs(member.linkname) or not _inside(target, link):
                raise ValueError(
                    f"Refusing to extract the archive: link {name!r} -> {member.linkname!r} points "
                    f"outside {target!r}."
                )
        elif not (member.isfile() or member.isdir()):
            raise ValueError(
                f"Refusing to extract the archive: member {name!r} is not a regular file, folder or link."
            )


def _check_zip_members(archive, target):
    for name in archive.namelist():
        if os.path.isabs(name) or name.startswith(("/", "\\")) or not _inside(target, name):
            raise ValueError(f"Refusing to extract the archive: member {name!r} would land outside {target!r}.")


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar (plain, gz, bz2, xz) or zip archive into ``path``.

    Every member is checked first; an archive with a member that would escape ``path`` is
    refused with a ``ValueError`` and nothing is written. Extraction goes to a temporary folder
    that replaces ``path`` only when complete.

    Args:
        file_path: The archive.
        path: The folder to extract into.
        archive_format: ``"auto"`` (tar, then zip), ``"tar"``, ``"zip"``, a list of these, or
            ``None`` (extract nothing).

    Returns:
        ``True`` if the file was an archive of an accepted format and was extracted.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    if isinstance(formats, str):
        formats = [formats]
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"`archive_format` must be 'auto', 'tar', 'zip' or None. Received: {kind!r}")
        if kind == "tar" and tarfile.is_tarfile(file_path):
            opener, check = tarfile.open, _check_tar_members
        elif kind == "zip" and zipfile.is_zipfile(file_path):
            opener, check = zipfile.ZipFile, _check_zip_members
        else:
            continue
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
        try:
            with opener(file_path) as archive:
                check(archive, staging)
                if kind == "tar" and hasattr(tarfile, "data_filter"):  # Python with PEP 706
                    archive.extractall(staging, filter="data")
                else:
                    archive.extractall(staging)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
            os.replace(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return True
    return False


@contextlib.contextmanager
def _locked(folder):
    """Hold an exclusive lock on ``folder`` (POSIX ``flock``; no lock where there is none)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _download(origin, partial, offset=0):
    """Stream ``origin`` into the file ``partial``, continuing at byte ``offset`` when the server
    honours a Range request (else from the start). Returns the offset actually resumed from."""
    from lamina.utils.progbar import Progbar

    request = urllib.request.Request(origin)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    with urllib.request.urlopen(request) as response:
        content_range = response.headers.get("Content-Range", "")
        if not (offset and response.status == 206 and content_range.startswith(f"bytes {offset}-")):
            offset = 0
        length = response.headers.get("Content-Length")
        progbar = Progbar(offset + int(length) if length else None, unit_name="byte")
        done = offset
        with open(partial, "ab" if offset else "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                progbar.update(done)
    return offset


def _fetch(origin, target, file_hash, hash_algorithm):
    """Download ``origin`` to ``target`` through a temporary file, renamed into place when whole
    and verified.

    With a ``file_hash`` the temporary file is ``target + ".part"`` and an interrupted download
    is resumed from it next time (the hash then proves the pieces fit; if it does not match, the
    file is downloaded once more from scratch). Without one, a fresh temporary file is used and
    removed on failure.
    """
    if file_hash is None:
        fd, partial = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part",
                                       dir=os.path.dirname(target))
        os.close(fd)
        try:
            _download(origin, partial)
        except BaseException:
            os.remove(partial)
            raise
        os.replace(partial, target)
        return
    partial = target + ".part"
    offset = os.path.getsize(partial) if os.path.exists(partial) else 0
    try:
        offset = _download(origin, partial, offset)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not offset:  # 416: the partial file is already complete (or stale)
            raise
        offset = _download(origin, partial, 0)
    if not validate_file(partial, file_hash, hash_algorithm) and offset:
        offset = _download(origin, partial, 0)
    if not validate_file(partial, file_hash, hash_algorithm):
        os.remove(partial)
        raise ValueError(
            f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does not "
            f"match the provided value of {file_hash}."
        )
    os.replace(partial, target)


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False, archive_format="auto",
             cache_dir=None, force_download=False):
    """Download a file from a URL unless it is already in the cache; return its local path.

    The file goes to ``cache_dir/cache_subdir/fname`` (``cache_dir`` defaults to ``$KERAS_HOME``
    or ``~/.keras``, so ``~/.keras/datasets/fname`` by default), the same place Keras uses. A
    cached file is used as is (offline too); with ``file_hash`` a cached file whose hash differs
    is downloaded again, and a download whose hash differs is rejected.

    Args:
        fname: Local file name; defaults to the last part of ``origin``'s path. With ``extract``,
            a name without an extension names the extraction folder.
        origin: The URL to download from.
        untar: Deprecated: ``extract=True`` for a tar archive.
        md5_hash: Deprecated: ``file_hash`` with ``hash_algorithm="md5"``.
        file_hash: The expected sha256 or md5 hex digest of the file.
        cache_subdir: Folder under ``cache_dir`` (an absolute path is used as is).
        hash_algorithm: ``"md5"``, ``"sha256"`` or ``"auto"`` (by the hash's length).
        extract: Extract the downloaded tar or zip archive.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"`` or ``None``.
        cache_dir: The cache root; defaults to ``$KERAS_HOME`` or ``~/.keras``.
        force_download: Download again even when the file is cached.

    Returns:
        The path of the downloaded file, or of the extraction folder with ``extract=True``.

    Example:

    >>> path = lamina.utils.get_file(origin="https://example.com/data/table.csv",
    ...                              file_hash="<sha256 of table.csv>")
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if cache_dir is None:
        cache_dir = keras_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _resolve_hasher(hash_algorithm, file_hash)
    base = os.path.expanduser(os.fspath(cache_dir))
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    given_name = fname is not None and os.fspath(fname) != ""
    fname = os.fspath(fname) if given_name else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(
            f"Can't parse the file name from the origin provided: '{origin}'. Please specify the "
            "`fname` argument."
        )
    if os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's parent "
            f"directory, use the `cache_dir` argument. Received: fname={fname}"
        )

    # Same layout as Keras: "name.tar.gz" -> "name_extracted/", "name" -> "name/" + "name_archive".
    extraction_dir = None
    if extract or untar:
        if given_name and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[: fname.find('.')]}_extracted")
        else:
            target = os.path.join(datadir, f"{fname}_archive")
            extraction_dir = os.path.join(datadir, fname)
    else:
        target = os.path.join(datadir, fname)

    # Processes sharing the cache (e.g. the ranks of a torchrun job) download and extract once.
    with _locked(datadir):
        download = force_download or not os.path.exists(target)
        if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            print(
                "A local file was found, but it seems to be incomplete or outdated because the "
                f"{hash_algorithm} file hash does not match the original value of {file_hash} so we "
                "will re-download the data."
            )
            download = True
        if download:
            print(f"Downloading data from {origin}")
            try:
                _fetch(origin, target, file_hash, hash_algorithm)
            except urllib.error.HTTPError as e:
                raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from e
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise OSError(
                    f"Could not download {origin} ({reason}). If this machine is offline, download "
                    f"that file elsewhere and put it at {target}"
                    + (f" (it is extracted into {extraction_dir})" if extraction_dir else "")
                    + "; it is then used without a download."
                ) from e
        if extraction_dir is None:
            return target
        if download or not os.path.isdir(extraction_dir):
            if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
                warnings.warn(f"Could not extract archive {target}: not a tar or zip file.", stacklevel=2)
        return extraction_dir
