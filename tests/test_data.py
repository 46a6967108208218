"""The CIFAR-10 loader: real lesson subset, downloads over a local HTTP server, hostile files."""

import functools
import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cifar_lessons import data
from cifar_lessons.data import download, find, release

SUBSET_DIR = Path(os.environ.get("CIFAR10_DIR", Path(__file__).resolve().parents[2] / "shared" / "cifar-10-subset"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """No test may read or fill the real user cache, nor follow the reader's choice of data."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_SETTING, raising=False)


def _batch_pickle(rows, label_offset=0):
    images = (np.arange(rows * 3072) % 251).astype(np.uint8).reshape(rows, 3072)
    labels = [(i + label_offset) % 10 for i in range(rows)]
    return pickle.dumps({"batch_label": "synthetic", "labels": labels, "data": images}, protocol=2)


def _write_batches(folder, rows=12):
    folder.mkdir(parents=True)
    for offset, name in enumerate((*release.TRAIN_BATCHES, release.TEST_BATCH)):
        (folder / name).write_bytes(_batch_pickle(rows, offset))
    return folder


def _tarball(tmp_path, rows=12):
    source = _write_batches(tmp_path / "tar-src" / release.BATCHES_DIRNAME, rows)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(source, arcname=release.BATCHES_DIRNAME)
    payload = buffer.getvalue()
    return payload, hashlib.md5(payload).hexdigest()


RAW_RESPONSES = {
    "garbage status": [(b"no status line here\r\n\r\n", 0)],
    "many headers": [(b"HTTP/1.1 200 OK\r\n" + b"X-Padding: 1\r\n" * 150 + b"\r\n", 0)],
    "cut chunked": [(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + bytes(100), 0)],
    "slow headers": [(b"HTTP/1.1 200 OK\r\n", 0)] + [(b"X-Padding: 1\r\n", 0.1)] * 50 + [(b"\r\n", 0)],
}


class _Server:
    """A local HTTP server whose behaviour each test scripts: a list of responses, one per request."""

    def __init__(self, payload, script):
        self.payload, self.script, self.requests = payload, list(script), 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                action = server.script.pop(0) if server.script else "ok"
                if action == "error":
                    self.send_error(503, "busy")
                    return
                if action == "missing":
                    self.send_error(404, "gone")
                    return
                if action in RAW_RESPONSES:
                    self._send_raw(RAW_RESPONSES[action])
                    return
                body = server.payload
                self.send_response(200)
                if action == "endless":  # no Content-Length: the body would end when the connection does
                    self.end_headers()
                    self._send_until_hung_up(bytes(1 << 16), times=2**10)
                    return
                self.send_header("Content-Length", str(10**10 if action == "huge" else len(body)))
                self.end_headers()
                if action == "trickle":  # a byte at a time: no single read ever times out
                    self._send_until_hung_up(body[:1], times=len(body), pause=0.01)
                    return
                if action == "cut":  # promise the whole file, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

            def _send_raw(self, pieces):
                # (bytes, seconds to wait after them), bypassing http.server: what no server should send
                try:
                    for piece, pause in pieces:
                        self.wfile.write(piece)
                        self.wfile.flush()
                        time.sleep(pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _send_until_hung_up(self, piece, times, pause=0.0):
                try:
                    for _ in range(times):
                        self.wfile.write(piece)
                        self.wfile.flush()
                        time.sleep(pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-python.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(payload, script=()):
        servers.append(_Server(payload, script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _download(dest, server, md5, **kwargs):
    return data.download_cifar10(dest, url=server.url, md5=md5, backoff=0.01, timeout=5, progress=False, **kwargs)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != release.BATCHES_DIRNAME)


# ---------------------------------------------------------------------------------------------
# Downloads


def test_download_verifies_unpacks_and_leaves_nothing_else(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload)
    folder = _download(tmp_path / "dest", server, md5)
    assert folder == tmp_path / "dest" / release.BATCHES_DIRNAME
    images, labels = data.read_batch(folder / "data_batch_2")
    assert images.shape == (12, 3, 32, 32) and labels[:3].tolist() == [1, 2, 3]
    assert _leftovers(tmp_path / "dest") == []


def test_checksum_mismatch_keeps_no_file(tmp_path, serve):
    payload, _ = _tarball(tmp_path)
    server = serve(payload)
    with pytest.raises(data.CIFAR10Error, match="MD5 .* expected 0+.*deleted"):
        _download(tmp_path / "dest", server, "0" * 32)
    assert list((tmp_path / "dest").iterdir()) == []


def test_server_errors_are_retried(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload, ["error", "error"])
    folder = _download(tmp_path / "dest", server, md5, retries=3)
    assert server.requests == 3 and release.batches_folder(folder) == folder


def test_interrupted_transfer_is_retried_and_leaves_no_partial_file(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload, ["cut", "ok"])
    _download(tmp_path / "dest", server, md5, retries=1)
    assert server.requests == 2 and _leftovers(tmp_path / "dest") == []


def test_gives_up_after_retries_with_advice_and_no_partial_file(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload, ["cut", "cut", "cut"])
    with pytest.raises(data.CIFAR10Error, match="after 3 attempts.*CIFAR10_DIR"):
        _download(tmp_path / "dest", server, md5, retries=2)
    assert server.requests == 3 and list((tmp_path / "dest").iterdir()) == []


def test_client_errors_are_not_retried(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload, ["missing"])
    with pytest.raises(data.CIFAR10Error, match="HTTP 404"):
        _download(tmp_path / "dest", server, md5)
    assert server.requests == 1


@pytest.mark.parametrize("action", ["endless", "huge"])
def test_a_server_sending_more_than_the_release_is_cut_off(tmp_path, serve, action):
    server = serve(b"", [action])
    with pytest.raises(data.CIFAR10Error, match=r"sends more than 1048576 bytes.*not the dataset"):
        _download(tmp_path / "dest", server, "0" * 32, max_bytes=2**20)
    assert server.requests == 1 and list((tmp_path / "dest").iterdir()) == []


def test_a_download_that_takes_too_long_is_given_up(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload, ["trickle"])
    started = time.monotonic()
    with pytest.raises(data.CIFAR10Error, match=r"takes too long.*CIFAR10_DIR"):
        _download(tmp_path / "dest", server, md5, max_seconds=0.5)
    assert time.monotonic() - started < 5
    assert server.requests == 1 and list((tmp_path / "dest").iterdir()) == []


def test_a_download_deletes_what_killed_downloads_left_behind_and_nothing_else(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    old = time.time() - 2 * download.STALE_SECONDS
    theirs = [".cifar-10-notes.txt", ".cifar-10-backup", ".cifar-10-abcd1234.tar.gz.part.keep", ".cifar-10-ab"]
    (dest / "elsewhere").mkdir()
    (dest / ".cifar-10-unpack-linked_1").symlink_to(dest / "elsewhere")
    for name in (".cifar-10-killed_1.tar.gz.part", ".cifar-10-unpack-killed_2", *theirs):
        leftover = dest / name
        leftover.mkdir() if "unpack" in name or "backup" in name else leftover.write_bytes(b"x" * 1000)
        os.utime(leftover, (old, old))
    (dest / ".cifar-10-running1.tar.gz.part").write_bytes(b"another download, still going")
    _download(dest, serve(payload), md5)
    assert _leftovers(dest) == sorted(
        [".cifar-10-running1.tar.gz.part", ".cifar-10-unpack-linked_1", "elsewhere", *theirs]
    )


def _notes_beside(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_notes.txt").write_text("what I found")


def test_a_complete_copy_already_there_is_kept_and_not_downloaded_again(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    folder = _write_batches(tmp_path / "dest" / release.BATCHES_DIRNAME)
    _notes_beside(folder)
    server = serve(payload)
    assert _download(tmp_path / "dest", server, md5) == folder
    assert server.requests == 0 and (folder / "my_notes.txt").read_text() == "what I found"


def test_an_incomplete_folder_it_did_not_write_is_left_as_it_is(tmp_path, serve):
    payload, md5 = _tarball(tmp_path)
    folder = _write_batches(tmp_path / "dest" / release.BATCHES_DIRNAME)
    (folder / "test_batch").unlink()
    _notes_beside(folder)
    server = serve(payload)
    with pytest.raises(data.CIFAR10Error, match="cifar-10-batches-py lacks test_batch.*left as it is: move it away"):
        _download(tmp_path / "dest", server, md5)
    assert (folder / "my_notes.txt").read_text() == "what I found" and (folder / "data_batch_1").is_file()
    assert server.requests == 0


def test_an_archive_that_unpacks_to_more_than_the_release_is_refused(tmp_path, serve, monkeypatch):
    payload, md5 = _tarball(tmp_path)
    monkeypatch.setattr(download, "MAX_UNPACKED_BYTES", 10_000)
    with pytest.raises(data.CIFAR10Error, match="unpacks to more than 10000 bytes"):
        _download(tmp_path / "dest", serve(payload), md5)
    assert list((tmp_path / "dest").iterdir()) == []


@pytest.mark.parametrize("action", ["garbage status", "many headers", "cut chunked"])
def test_a_malformed_answer_is_retried_then_named(tmp_path, serve, action):
    server = serve(b"", [action] * 3)
    with pytest.raises(data.CIFAR10Error, match=r"after 3 attempts \((BadStatusLine|HTTPException|IncompleteRead)"):
        _download(tmp_path / "dest", server, "0" * 32, retries=2)
    assert server.requests == 3 and list((tmp_path / "dest").iterdir()) == []


def test_the_time_limit_holds_while_headers_arrive(tmp_path, serve):
    server = serve(b"", ["slow headers"])
    started = time.monotonic()
    with pytest.raises(data.CIFAR10Error, match=r"takes too long.*CIFAR10_DIR"):
        _download(tmp_path / "dest", server, "0" * 32, max_seconds=1)
    assert time.monotonic() - started < 3
    assert server.requests == 1 and list((tmp_path / "dest").iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
def test_a_full_disk_is_reported_as_such_not_as_offline(tmp_path, serve, monkeypatch):
    payload, md5 = _tarball(tmp_path)
    server = serve(payload)
    real_open = open
    monkeypatch.setattr(download, "open", lambda path, mode: real_open("/dev/full", mode), raising=False)
    with pytest.raises(data.CIFAR10Error, match="No space left on device.*Free some space") as caught:
        _download(tmp_path / "dest", server, md5)
    assert "offline" not in str(caught.value) and server.requests == 1
    assert list((tmp_path / "dest").iterdir()) == []


def test_offline_error_names_cifar10_dir_and_url(tmp_path):
    with pytest.raises(data.CIFAR10Error, match="CIFAR10_DIR") as caught:
        data.download_cifar10(tmp_path, url="http://127.0.0.1:9/none.tar.gz", retries=0, progress=False)
    assert release.CIFAR10_URL in str(caught.value)


def test_an_unwritable_cache_is_named_with_the_fix(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(
        data.CIFAR10Error, match=r"cannot write the download into .*a-file/cifar_lessons.*XDG_CACHE_HOME"
    ):
        data.download_cifar10(
            tmp_path / "a-file" / "cifar_lessons", url="http://127.0.0.1:9/none.tar.gz", retries=0, progress=False
        )


def _evil_tarball(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo("../outside.txt")
        member.size = 4
        archive.addfile(member, io.BytesIO(b"evil"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "payload",
    [b"plain text, not an archive", b"\x1f\x8b\x08truncated gzip", None],
    ids=["not gzip", "truncated gzip", "member outside"],
)
def test_an_archive_that_cannot_be_unpacked_is_named_and_nothing_is_left(tmp_path, serve, payload):
    payload = payload or _evil_tarball(tmp_path)
    server = serve(payload)
    with pytest.raises(data.CIFAR10Error, match=r"archive downloaded from http://127\.0\.0\.1.* cannot be unpacked"):
        _download(tmp_path / "dest", server, hashlib.md5(payload).hexdigest())
    assert list((tmp_path / "dest").iterdir()) == [] and not (tmp_path / "outside.txt").exists()


def test_load_downloads_into_the_cache_when_nothing_is_configured(tmp_path, serve, monkeypatch):
    payload, md5 = _tarball(tmp_path, rows=1000)
    server = serve(payload)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(
        find,
        "download_cifar10",
        functools.partial(data.download_cifar10, url=server.url, md5=md5, backoff=0.01, timeout=5, progress=False),
    )
    loaded = data.load_cifar10(num_val=100)
    assert loaded["X_train"].shape == (4900, 3, 32, 32) and loaded["X_test"].shape == (500, 3, 32, 32)
    assert (data.default_cache_dir() / release.BATCHES_DIRNAME).is_dir()


# ---------------------------------------------------------------------------------------------
# Reading files safely


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": _Exploit(), "labels": []}, protocol=2))
    with pytest.raises(data.CIFAR10Error, match=r"refusing to load '(posix|os)\.system'"):
        data.read_batch(path)


def test_truncated_batch_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch_pickle(12)[:5000])
    with pytest.raises(
        data.CIFAR10Error, match=r"data_batch_1 is not a CIFAR-10 batch: it is truncated or corrupt.*Delete"
    ):
        data.read_batch(path)


@pytest.mark.parametrize(
    "batch, problem",
    [
        ({"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4}, r"shape \(n, 3072\)"),
        ({"data": np.zeros((4, 3072), np.int16), "labels": [0] * 4}, "should be uint8"),
        ({"data": np.zeros((4, 3072), np.float32), "labels": [0] * 4}, "refusing dtype 'f4'"),
        ({"data": np.zeros((4, 3072), np.uint8), "labels": [0] * 3}, "4 images but 3 labels"),
        ({"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 10]}, r"labels outside 0\.\.9"),
        ({"labels": [0]}, "no 'data' and 'labels'"),
    ],
)
def test_malformed_batches_are_rejected(tmp_path, batch, problem):
    path = tmp_path / "data_batch_3"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(data.CIFAR10Error, match=problem):
        data.read_batch(path)


@pytest.mark.parametrize(
    "labels, problem",
    [
        ([0, 1, float("nan"), 2], r"found nan \(float\)"),  # was read as -9223372036854775808
        ([0, 1, 6.7, 2], r"found 6\.7 \(float\)"),  # was read as 6
        ([0, 1, True, 2], r"found True \(bool\)"),
        ([0, None, 1, 2], r"found None \(NoneType\)"),
        (["cat", "dog", "cat", "dog"], r"found 'cat' \(str\)"),
        (np.array([0, 1, 2, 3.0]), "refusing dtype 'f8'"),
        (np.array([0, 1, 2, 2**63], np.uint64), r"found 9223372036854775808"),
        (np.zeros((4, 1), np.int64), r"'labels' should be a list of integers, got ndarray \(4, 1\)"),
    ],
    ids=["nan", "float", "bool", "none", "str", "float array", "uint64 array", "2-d array"],
)
def test_labels_that_are_not_class_indices_are_refused(tmp_path, labels, problem):
    path = tmp_path / "data_batch_3"
    path.write_bytes(pickle.dumps({"data": np.zeros((4, 3072), np.uint8), "labels": labels}, protocol=2))
    with pytest.raises(data.CIFAR10Error, match=f"data_batch_3.*{problem}.*Delete"):
        data.read_batch(path)


@pytest.mark.parametrize("source", ["CIFAR10_DIR", "path"])
def test_an_empty_setting_is_an_error_not_the_default(monkeypatch, source):
    monkeypatch.setenv("CIFAR10_DIR", "/unused")
    if source == "CIFAR10_DIR":
        monkeypatch.setenv("CIFAR10_DIR", "")
    with pytest.raises(data.CIFAR10Error, match=f"{source} is empty.*unset it"):
        data.find_cifar10("" if source == "path" else None, download=False)


def test_a_folder_missing_a_batch_names_it(tmp_path, monkeypatch):
    folder = _write_batches(tmp_path / "copy" / release.BATCHES_DIRNAME)
    (folder / "data_batch_3").unlink()
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "copy"))
    with pytest.raises(data.CIFAR10Error, match=r"copy/cifar-10-batches-py lacks data_batch_3 \("):
        data.find_cifar10()


def test_a_wrong_cifar10_dir_is_an_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "typo"))
    with pytest.raises(data.CIFAR10Error, match="CIFAR10_DIR=.*typo.*holds no CIFAR-10.*typo does not exist"):
        data.load_cifar10()


# ---------------------------------------------------------------------------------------------
# The lesson subset


@pytest.fixture
def subset(monkeypatch):
    if not release.batches_folder(SUBSET_DIR):
        pytest.skip(f"no CIFAR-10 at {SUBSET_DIR}: set CIFAR10_DIR")
    monkeypatch.setenv("CIFAR10_DIR", str(SUBSET_DIR))


def test_lesson_subset_shapes_and_first_labels(subset):
    loaded = data.load_cifar10()
    assert loaded["X_train"].shape == (4500, 3, 32, 32) and loaded["X_train"].dtype == np.float32
    assert loaded["X_val"].shape == (500, 3, 32, 32) and loaded["X_test"].shape == (500, 3, 32, 32)
    assert loaded["y_train"][:5].tolist() == [6, 9, 9, 4, 1]
    assert loaded["X_train"].min() == 0 and loaded["X_train"].max() == 255
    assert set(np.unique(loaded["y_test"])) == set(range(10))


def test_explicit_path_accepts_the_folder_or_its_parent(subset):
    inner = data.load_cifar10(SUBSET_DIR / release.BATCHES_DIRNAME, num_val=0, dtype=np.float64)
    outer = data.load_cifar10(SUBSET_DIR, num_val=0, dtype=np.float64)
    assert inner["X_train"].shape == (5000, 3, 32, 32) and inner["X_train"].dtype == np.float64
    np.testing.assert_array_equal(inner["X_train"], outer["X_train"])


def test_full_mode_refuses_the_lesson_subset_folder(subset):
    with pytest.raises(data.CIFAR10Error, match="fewer than the 10000.*subset='full'.*or unset CIFAR_LESSONS_DATA"):
        data.load_cifar10(subset="full")


def test_a_lesson_batch_short_of_rows_is_named_as_damaged_not_as_the_wrong_data(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch_pickle(999))
    with pytest.raises(data.CIFAR10Error, match="holds 999 images, fewer than the 1000 asked for.*Delete") as caught:
        data.read_batch(path, rows=1000)
    assert "full" not in str(caught.value)


def test_one_setting_chooses_the_data_and_its_validation_split(subset, monkeypatch):
    assert data.chosen_subset() == "lesson"
    loaded = data.load_cifar10()
    assert (len(loaded["y_val"]), len(loaded["y_train"])) == (500, 4_500)
    monkeypatch.setenv(data.DATA_SETTING, "full")
    assert data.chosen_subset() == "full" and data.for_data(lesson=10, full=30) == 30
    assert data.for_data("lesson", lesson=10, full=30) == 10
    with pytest.raises(data.CIFAR10Error, match="or unset CIFAR_LESSONS_DATA"):
        data.load_cifar10()
    monkeypatch.setenv(data.DATA_SETTING, " ")
    assert data.chosen_subset() == "lesson"


@pytest.mark.parametrize("value", ["Full", "all", "lessons"])
def test_a_mistyped_data_setting_names_the_choices(monkeypatch, value):
    monkeypatch.setenv(data.DATA_SETTING, value)
    with pytest.raises(ValueError, match=f"CIFAR_LESSONS_DATA='{value}' names no data: unset it.*'full'"):
        data.chosen_subset()


def test_for_data_needs_a_value_for_every_subset():
    with pytest.raises(ValueError, match="one value per subset"):
        data.for_data(lesson=10)
    with pytest.raises(ValueError, match="one value per subset"):
        data.for_data(lesson=10, full=30, huge=90)


def test_each_subset_is_described_with_its_sizes_and_the_way_to_switch():
    assert data.describe("lesson") == (
        "Data: the lesson subset, 5,000 training and 500 test images. For all of CIFAR-10, set "
        "CIFAR_LESSONS_DATA=full before starting Jupyter (a hub admin can set it for everyone)."
    )
    assert data.describe("full").startswith("Data: all of CIFAR-10, 50,000 training and 10,000 test images")


def test_normalize_uses_training_statistics_only(subset):
    loaded = data.load_cifar10()
    centered, stats = data.normalize(loaded, "mean_image")
    np.testing.assert_allclose(centered["X_train"].mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(centered["X_test"], loaded["X_test"] - stats["mean"], rtol=1e-6)
    scaled, stats = data.normalize(loaded, "per_channel")
    np.testing.assert_allclose(scaled["X_train"].std(axis=(0, 2, 3)), 1, rtol=1e-4)
    assert stats["std"].shape == (1, 3, 1, 1)
    with pytest.raises(ValueError, match="mean_image"):
        data.normalize(loaded, "zca")


# ---------------------------------------------------------------------------------------------
# Is it the official release?


def _batches_starting_with(tmp_path, first_row):
    folder = _write_batches(tmp_path / "copy")
    images = (np.arange(4 * 3072) % 251).astype(np.uint8).reshape(4, 3072)
    images[0, :32] = first_row
    (folder / "data_batch_1").write_bytes(pickle.dumps({"labels": [0] * 4, "data": images}, protocol=2))
    return folder


def test_release_fingerprint_accepts_the_release_and_names_a_shift(tmp_path):
    first_row = np.array(release.RELEASE_FIRST_ROW)
    assert data.release_mismatch(_batches_starting_with(tmp_path / "a", first_row)) is None
    shifted = np.concatenate([[1], first_row[:-1]])
    assert "shifted by one byte" in data.release_mismatch(_batches_starting_with(tmp_path / "b", shifted))
    assert "differ from the release" in data.release_mismatch(_batches_starting_with(tmp_path / "c", first_row[::-1]))


def test_lesson_subset_is_the_official_release(subset):
    """The data every stored output of the book was computed on: the release's own pixels."""
    assert data.release_mismatch(SUBSET_DIR) is None
    assert data.release_mismatch(SUBSET_DIR / release.BATCHES_DIRNAME) is None
    loaded = data.load_cifar10(SUBSET_DIR, num_val=0, dtype=np.float64)
    assert loaded["X_test"][0, 0, 0, :6].tolist() == [158, 159, 165, 166, 160, 156]  # as published
    assert loaded["y_train"][:5].tolist() == [6, 9, 9, 4, 1]


def test_mirror_images_double_the_training_split_only():
    X = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    split = {"X_train": X, "y_train": np.array([3, 5]), "X_val": X[:1], "y_val": np.array([3])}
    doubled = data.with_mirror_images(split)
    assert doubled["y_train"].tolist() == [3, 5, 3, 5] and doubled["X_val"] is split["X_val"]
    np.testing.assert_array_equal(doubled["X_train"][2, 0, 0], X[0, 0, 0, ::-1])
