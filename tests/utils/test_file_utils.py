"""``get_file``: download from a local server, cache layout, hashes, extraction and its refusals."""

import hashlib
import io
import os
import tarfile
import urllib.error
import zipfile

import pytest

from lamina.utils import file_utils
from lamina.utils.file_utils import get_file


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _make_tar(path, members, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_downloads_into_cache_subdir_and_reuses_it(http_server, tmp_path, capsys):
    (http_server.root / "a.txt").write_bytes(b"hello")
    cache = tmp_path / "cache"
    path = get_file("a.txt", http_server.url("a.txt"), cache_dir=str(cache), file_hash=_sha256(b"hello"))
    assert path == str(cache / "datasets" / "a.txt")
    assert open(path, "rb").read() == b"hello"
    assert "Downloading data from" in capsys.readouterr().out
    (http_server.root / "a.txt").unlink()  # served no more: the cached copy must be used
    assert get_file("a.txt", http_server.url("a.txt"), cache_dir=str(cache)) == path
    assert "Downloading" not in capsys.readouterr().out
    assert not [p for p in os.listdir(cache / "datasets") if p.endswith(".part")]


def test_fname_defaults_to_url_basename_and_keras_home(http_server, tmp_path, monkeypatch):
    (http_server.root / "b.bin").write_bytes(b"\x00\x01")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    path = get_file(origin=http_server.url("b.bin"), cache_subdir="models")
    assert path == str(tmp_path / "home" / "models" / "b.bin")


def test_absolute_cache_subdir(http_server, tmp_path):
    (http_server.root / "c.txt").write_bytes(b"c")
    target = tmp_path / "elsewhere"
    assert get_file("c.txt", http_server.url("c.txt"), cache_dir=str(tmp_path), cache_subdir=str(target)) == str(
        target / "c.txt"
    )


@pytest.mark.parametrize("algorithm", ["md5", "sha256", "auto"])
def test_hash_mismatch_rejects_download_and_leaves_nothing(http_server, tmp_path, algorithm):
    (http_server.root / "d.txt").write_bytes(b"payload")
    bad = "0" * (32 if algorithm == "md5" else 64)
    with pytest.raises(ValueError, match="hash does not match"):
        get_file("d.txt", http_server.url("d.txt"), cache_dir=str(tmp_path), file_hash=bad,
                 hash_algorithm=algorithm)
    assert os.listdir(tmp_path / "datasets") == []


def test_md5_hash_argument_and_stale_cache_redownload(http_server, tmp_path, capsys):
    (http_server.root / "e.txt").write_bytes(b"new")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "e.txt").write_bytes(b"old")
    md5 = hashlib.md5(b"new").hexdigest()
    path = get_file("e.txt", http_server.url("e.txt"), cache_dir=str(tmp_path), md5_hash=md5)
    assert open(path, "rb").read() == b"new"
    assert "re-download" in capsys.readouterr().out


def test_force_download(http_server, tmp_path):
    (http_server.root / "f.txt").write_bytes(b"v1")
    path = get_file("f.txt", http_server.url("f.txt"), cache_dir=str(tmp_path))
    (http_server.root / "f.txt").write_bytes(b"v2")
    assert open(get_file("f.txt", http_server.url("f.txt"), cache_dir=str(tmp_path)), "rb").read() == b"v1"
    get_file("f.txt", http_server.url("f.txt"), cache_dir=str(tmp_path), force_download=True)
    assert open(path, "rb").read() == b"v2"


def test_offline_error_names_url_and_cache_path(tmp_path, monkeypatch):
    def offline(request):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(file_utils.urllib.request, "urlopen", offline)
    url = "http://127.0.0.1:9/data/g.npz"
    with pytest.raises(OSError) as info:
        get_file("g.npz", url, cache_dir=str(tmp_path))
    message = str(info.value)
    assert url in message and str(tmp_path / "datasets" / "g.npz") in message
    assert os.listdir(tmp_path / "datasets") == []


def test_http_error_names_status(http_server, tmp_path):
    with pytest.raises(OSError, match="404"):
        get_file("missing.txt", http_server.url("missing.txt"), cache_dir=str(tmp_path))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="origin"):
        get_file("x")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file("a/b.txt", "http://127.0.0.1:9/b.txt", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("b.txt", "http://127.0.0.1:9/b.txt", cache_dir=str(tmp_path), hash_algorithm="sha1")


def test_extract_tar_layouts(http_server, tmp_path):
    _make_tar(http_server.root / "pack.tar.gz", {"pack/one.txt": b"1", "pack/sub/two.txt": b"2"})
    # A name with an extension: the archive keeps it, the folder is "<stem>_extracted".
    out = get_file("pack.tar.gz", http_server.url("pack.tar.gz"), cache_dir=str(tmp_path), extract=True)
    assert out == str(tmp_path / "datasets" / "pack_extracted")
    assert open(os.path.join(out, "pack", "sub", "two.txt"), "rb").read() == b"2"
    # A name without one: the folder takes the name, the archive is "<name>_archive".
    out = get_file("packdir", http_server.url("pack.tar.gz"), cache_dir=str(tmp_path), untar=True)
    assert out == str(tmp_path / "datasets" / "packdir")
    assert os.path.isfile(str(tmp_path / "datasets" / "packdir_archive"))
    assert open(os.path.join(out, "pack", "one.txt"), "rb").read() == b"1"


def test_extract_zip(http_server, tmp_path):
    with zipfile.ZipFile(http_server.root / "z.zip", "w") as z:
        z.writestr("inner/a.txt", "zipped")
    out = get_file(origin=http_server.url("z.zip"), cache_dir=str(tmp_path), extract=True)
    assert out == str(tmp_path / "datasets" / "z.zip")
    assert open(os.path.join(out, "inner", "a.txt")).read() == "zipped"


@pytest.mark.parametrize("name", ["../escape.txt", "/abs/escape.txt", "a/../../escape.txt"])
def test_tar_path_traversal_refused(tmp_path, name):
    archive = tmp_path / "evil.tar"
    _make_tar(archive, {"ok.txt": b"fine", name: b"evil"}, mode="w")
    target = tmp_path / "out" / "x"
    with pytest.raises(ValueError, match="Refusing to extract"):
        file_utils.extract_archive(str(archive), str(target))
    assert not target.exists() and not (tmp_path / "out" / "escape.txt").exists()
    assert os.listdir(tmp_path / "out") == []  # the staging folder is gone too


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_tar_links_out_of_target_refused(tmp_path, kind):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("link")
        info.type = kind
        info.linkname = "../../../etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="points outside"):
        file_utils.extract_archive(str(archive), str(tmp_path / "out"))


def test_tar_link_inside_target_allowed(tmp_path):
    archive = tmp_path / "ok.tar"
    with tarfile.open(archive, "w") as tar:
        data = tarfile.TarInfo("dir/file.txt")
        data.size = 2
        tar.addfile(data, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("dir/alias.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "file.txt"
        tar.addfile(link)
    assert file_utils.extract_archive(str(archive), str(tmp_path / "out"))
    assert open(tmp_path / "out" / "dir" / "alias.txt").read() == "hi"


def test_zip_traversal_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escape.txt", "evil")
    with pytest.raises(ValueError, match="Refusing to extract"):
        file_utils.extract_archive(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "escape.txt").exists()


def test_not_an_archive_warns(http_server, tmp_path):
    (http_server.root / "plain.txt").write_bytes(b"text")
    with pytest.warns(UserWarning, match="Could not extract"):
        get_file("plain.txt", http_server.url("plain.txt"), cache_dir=str(tmp_path), extract=True)


def test_hash_file_and_validate_file(tmp_path):
    p = tmp_path / "h"
    p.write_bytes(b"abc")
    assert file_utils.hash_file(str(p)) == _sha256(b"abc")
    assert file_utils.hash_file(str(p), "md5") == hashlib.md5(b"abc").hexdigest()
    assert file_utils.validate_file(str(p), _sha256(b"abc"))
    assert file_utils.validate_file(str(p), hashlib.md5(b"abc").hexdigest())
    assert not file_utils.validate_file(str(p), "0" * 64)


@pytest.mark.oracle
def test_same_cache_layout_as_keras(oracle, http_server, tmp_path):
    _make_tar(http_server.root / "ds.tar.gz", {"ds/x.txt": b"x"})
    (http_server.root / "w.json").write_bytes(b"{}")
    # Keras falls back to /tmp/.keras when `cache_dir` does not exist yet: create both.
    (tmp_path / "lamina").mkdir()
    (tmp_path / "keras").mkdir()
    for kwargs in (
        dict(fname="w.json", origin=http_server.url("w.json")),
        dict(origin=http_server.url("w.json"), cache_subdir="other"),
        dict(fname="ds.tar.gz", origin=http_server.url("ds.tar.gz"), extract=True),
        dict(fname="ds-target", origin=http_server.url("ds.tar.gz"), extract=True),
    ):
        ours = get_file(cache_dir=str(tmp_path / "lamina"), **kwargs)
        theirs = oracle.utils.get_file(cache_dir=str(tmp_path / "keras"), **kwargs)
        assert os.path.relpath(ours, tmp_path / "lamina") == os.path.relpath(theirs, tmp_path / "keras")
        if os.path.isdir(ours):
            assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    # A cache filled by Keras is used by Lamina without a download.
    (http_server.root / "w.json").unlink()
    assert get_file("w.json", http_server.url("w.json"), cache_dir=str(tmp_path / "keras")) == str(
        tmp_path / "keras" / "datasets" / "w.json"
    )


@pytest.fixture
def range_server():
    """A server that honours `Range: bytes=N-` for the files in `server.files`, logging requests."""
    import http.server
    import threading

    files, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            data = files[self.path.lstrip("/")]
            requested = self.headers.get("Range")
            requests.append(requested)
            start = int(requested[len("bytes="):-1]) if requested else 0
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206 if requested else 200)
            if requested:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.files, server.requests = files, requests
    server.url = lambda name: f"http://127.0.0.1:{server.server_address[1]}/{name}"
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_interrupted_download_resumes_with_range(range_server, tmp_path):
    data = bytes(range(256)) * 40
    range_server.files["big.bin"] = data
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "big.bin.part").write_bytes(data[:3000])  # left by an interruption
    path = get_file("big.bin", range_server.url("big.bin"), cache_dir=str(tmp_path), file_hash=_sha256(data))
    assert open(path, "rb").read() == data
    assert range_server.requests == ["bytes=3000-"]
    assert os.listdir(tmp_path / "datasets") == ["big.bin"]


def test_resumed_download_with_wrong_start_is_redone(range_server, tmp_path):
    data = b"0123456789" * 100
    range_server.files["f.bin"] = data
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "f.bin.part").write_bytes(b"garbage!")
    path = get_file("f.bin", range_server.url("f.bin"), cache_dir=str(tmp_path), file_hash=_sha256(data))
    assert open(path, "rb").read() == data
    assert range_server.requests == ["bytes=8-", None]  # resumed, hash failed, downloaded afresh


def test_complete_part_file_answered_416_is_redone(range_server, tmp_path):
    data = b"abc" * 10
    range_server.files["g.bin"] = data
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "g.bin.part").write_bytes(data + b"extra")
    path = get_file("g.bin", range_server.url("g.bin"), cache_dir=str(tmp_path), file_hash=_sha256(data))
    assert open(path, "rb").read() == data and range_server.requests == ["bytes=35-", None]


def test_server_without_range_support_restarts(http_server, tmp_path):
    data = b"fresh content"
    (http_server.root / "h.bin").write_bytes(data)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "h.bin.part").write_bytes(b"stale")
    path = get_file("h.bin", http_server.url("h.bin"), cache_dir=str(tmp_path), file_hash=_sha256(data))
    assert open(path, "rb").read() == data


class _DyingResponse:
    """A response whose connection drops (Ctrl-C) after the first chunk."""

    status, headers = 200, {"Content-Length": "1000"}

    def __init__(self):
        self.reads = 0

    def read(self, n=-1):
        self.reads += 1
        if self.reads > 1:
            raise KeyboardInterrupt
        return b"x" * 10

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("file_hash, left", [("0" * 64, ["j.bin.part"]), (None, [])])
def test_interrupted_download_keeps_part_only_with_hash(tmp_path, monkeypatch, file_hash, left):
    monkeypatch.setattr(file_utils.urllib.request, "urlopen", lambda request: _DyingResponse())
    with pytest.raises(KeyboardInterrupt):
        get_file("j.bin", "http://127.0.0.1:9/j.bin", cache_dir=str(tmp_path), file_hash=file_hash)
    assert os.listdir(tmp_path / "datasets") == left


def test_concurrent_calls_download_once(tmp_path):
    """Two callers sharing a cache (threads here, processes in a torchrun job) download once."""
    import http.server
    import threading

    requests = []

    class Slow(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            threading.Event().wait(0.3)
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"data")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/k.bin"
    results = []
    try:
        callers = [threading.Thread(target=lambda: results.append(get_file("k.bin", url, cache_dir=str(tmp_path))))
                   for _ in range(3)]
        for t in callers:
            t.start()
        for t in callers:
            t.join()
    finally:
        server.shutdown()
        server.server_close()
    assert len(requests) == 1 and len(results) == 3
    assert all(open(r, "rb").read() == b"data" for r in results)
