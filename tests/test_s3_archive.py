"""The archivists' tools on an archive whose WARCs live in S3 (moto's server over real HTTP), after
real crawls of the replica portal run as subprocesses: index, history, export, WACZ and pywb
replay read the uploaded WARCs back by ranged GETs; a store outage mid-crawl loses nothing and
`govcrawl sync` finishes the job; credentials never reach the archive or the logs.

Crawls reach the replica through http_proxy and S3 (127.0.0.1) directly: boto3 honours
http_proxy too, so no_proxy=127.0.0.1,localhost is part of the set-up, as README advises.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.archive.reports import read_reports
from govcrawl.extract.decode import decode_body
from govcrawl.publish import cdxj
from govcrawl.publish.replay import WarcRangeServer
from govcrawl.publish.wacz import build_wacz, check_wacz
from govcrawl.store import Spool, open_store, open_warc, read_manifest, warc_names
from replica import expected
from tests import warcfixtures as fx
from tests.conftest import FAST, GOVCRAWL, REPO, Replica, crawl_env, start_replica
from tests.s3server import (  # noqa: F401
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    REGION,
    Bucket,
    MotoServer,
    aws_env,
    free_port,
    own_s3_server,
    s3_bucket,
    s3_server,
)

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PREFIX = "crawls/xam"
# Small WARCs, so several seal (and ship) while a crawl runs; retries a second apart (FAST's
# reason) without doubling, which spares seconds on the replica's dead host.
SMALL_WARCS = ["--set", "GOVCRAWL_WARC_MAX_SIZE=200000", "--set", "GOVCRAWL_RETRY_BACKOFF_MAX=1.0"]


# -- helpers ------------------------------------------------------------------------------------


def s3_env(
    tmp: Path,
    proxy: str | None,
    *,
    key_id: str = DUMMY_ACCESS_KEY_ID,
    secret: str = DUMMY_SECRET_ACCESS_KEY,
    no_proxy: str = "127.0.0.1,localhost",
    **extra: str,
) -> dict[str, str]:
    """A subprocess environment: the replica as http_proxy, S3 credentials from the environment
    only (no ~/.aws of the developer's), no endpoint variables unless given."""
    env = crawl_env(proxy)
    for name in list(env):
        if name.startswith(("AWS_", "GOVCRAWL_STORE")):
            del env[name]
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        no_proxy=no_proxy,
        **extra,
    )
    return env


def govcrawl(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GOVCRAWL, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def crawl_args(archive: Path, store: str, endpoint: str) -> list[str]:
    return ["crawl", "--archive", str(archive), "--store", store, "--endpoint-url", endpoint]


def sha256_hex(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def warc_objects(server: MotoServer, bucket: str) -> dict[str, bytes]:
    """WARC name -> bytes of every WARC object under the prefix."""
    base = f"{PREFIX}/warc/"
    return {
        key[len(base) :]: server.read(bucket, key)
        for key in server.keys(bucket)
        if key.startswith(base)
    }


def record_set(layout: ArchiveLayout) -> Counter[tuple[str, str]]:
    """(type, target URI) of every record of every WARC, read through open_warc (warcinfo aside:
    there is one per file, and file boundaries differ between crawls)."""
    found: Counter[tuple[str, str]] = Counter()
    for name in warc_names(layout):
        with contextlib.closing(open_warc(layout, name)) as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "warcinfo":
                    rec_type = "response" if record.rec_type == "revisit" else record.rec_type
                    found[(rec_type, record.rec_headers.get_header("WARC-Target-URI"))] += 1
    return found


def read_record(layout: ArchiveLayout, warc: str, offset: int, length: int | None = None):
    with contextlib.closing(open_warc(layout, warc, offset, length)) as fh:
        record = next(iter(ArchiveIterator(fh)))
        return record.rec_type, record.rec_headers.get_header("WARC-Target-URI")


def http_get(url: str) -> tuple[int, str, bytes]:
    try:
        with OPENER.open(url, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


class Gate:
    """A TCP forwarder in front of moto. ``close()`` cuts the store off at once (listener and
    open connections), so no upload can land while moto's objects are being snapshotted for its
    restart; ``open()`` serves again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class S3Crawl:
    archive: Path
    bucket: str
    server: MotoServer
    proc: subprocess.CompletedProcess[str]

    @property
    def layout(self) -> ArchiveLayout:
        return ArchiveLayout(self.archive)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    # This module's own replica: its crawls add counter hits that other modules must not see.
    rep = start_replica(tmp_path_factory.mktemp("s3-replica"))
    yield rep
    rep.stop()


@pytest.fixture
def gate(own_s3_server: MotoServer) -> Iterator[Gate]:  # noqa: F811
    """The way to own_s3_server: the crawl that meets an outage talks to moto through it."""
    gate = Gate(own_s3_server.port)
    gate.open()
    yield gate
    gate.close()


@pytest.fixture(scope="module")
def s3_crawl(
    replica: Replica,
    s3_server: MotoServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> S3Crawl:
    """One uninterrupted crawl of the replica straight into S3 (small WARCs, several files)."""
    tmp = tmp_path_factory.mktemp("s3-crawl")
    bucket = s3_server.create_bucket()
    archive = tmp / "archive"
    proc = govcrawl(
        [*crawl_args(archive, f"s3://{bucket}/{PREFIX}", s3_server.url), *FAST, *SMALL_WARCS],
        s3_env(tmp, replica.url),
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr[-5000:]}"
    return S3Crawl(archive, bucket, s3_server, proc)


# -- 1. every archivist tool on an S3-backed archive --------------------------------------------


def test_crawl_into_s3_then_index_history_export_wacz_and_replay_from_s3(
    s3_crawl: S3Crawl,
    aws_env: None,  # noqa: F811
    tmp_path: Path,
) -> None:
    layout, server, bucket = s3_crawl.layout, s3_crawl.server, s3_crawl.bucket
    env = s3_env(tmp_path, None)

    # Nothing sealed stays local; every WARC is in the bucket, as store.json recorded it.
    assert list(layout.warc_dir.iterdir()) == []
    objects = warc_objects(server, bucket)
    manifest = read_manifest(layout)["objects"]
    recorded = {k[len("warc/") :]: v for k, v in manifest.items() if k.startswith("warc/")}
    assert len(objects) >= 3, "small WARCs: several files sealed during the crawl"
    assert set(objects) == set(recorded) == set(warc_names(layout))
    for name, data in objects.items():
        assert recorded[name]["sha256"] == sha256_hex(data) and recorded[name]["size"] == len(data)
    # The run summary and the final index reached the store in the same run.
    keys = server.keys(bucket)
    runs = [p.name for p in layout.runs_dir.iterdir()]
    assert runs and all(f"{PREFIX}/runs/{name}" in keys for name in runs)
    assert server.read(bucket, f"{PREFIX}/indexes/index.cdxj") == layout.cdxj_path.read_bytes()

    # `govcrawl index` rebuilds the CDXJ from S3: the same lines as from the downloaded WARCs.
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    for name, data in objects.items():
        (downloaded / name).write_bytes(data)
    oracle = tmp_path / "oracle.cdxj"
    n_lines = cdxj.build_index(sorted(downloaded.iterdir()), oracle)
    assert n_lines > 150
    layout.cdxj_path.unlink()
    proc = govcrawl(["index", "--archive", str(layout.root)], env)
    assert proc.returncode == 0, proc.stderr
    assert layout.cdxj_path.read_bytes() == oracle.read_bytes()
    # Offsets and lengths are those of the original files: each range is exactly its record.
    lines = list(cdxj.iter_index(layout.cdxj_path))
    for _, _, data in lines[:: max(1, len(lines) // 40)]:
        rec_type, uri = read_record(
            layout, data["filename"], int(data["offset"]), int(data["length"])
        )
        assert uri == data["url"] and rec_type in ("response", "revisit", "resource")

    # `history` and `export` work on the S3-backed archive.
    reports = read_reports(layout.reports_jsonl)
    seed = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4862348/index.html"
    assert seed in reports
    proc = govcrawl(["history", seed, "--archive", str(layout.root)], env)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["warc"] in objects
    assert read_record(layout, rows[0]["warc"], rows[0]["offset"]) == ("response", seed)
    proc = govcrawl(["export", "--archive", str(layout.root)], env)
    assert proc.returncode == 0, proc.stderr
    exported = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["url"] for r in exported} == set(reports)
    assert {r["warc"] for r in exported} <= set(objects)

    # A WACZ packs the WARCs streamed from S3, byte for byte, and passes the structural check.
    wacz = build_wacz(layout, tmp_path / "s3.wacz", list(reports.values()))
    assert check_wacz(wacz) == []
    with zipfile.ZipFile(wacz) as zf:
        packed = {
            n[len("archive/") :]: zf.read(n) for n in zf.namelist() if n.startswith("archive/")
        }
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()[1:]]
    assert packed == objects
    assert {p["url"] for p in pages} == set(reports)

    # Replay: pywb reads the S3 WARCs through govcrawl's range server. The environment is the
    # awkward one: a proxy that answers nothing, S3 reached as "localhost" (in no_proxy), and
    # 127.0.0.1 (where the range server listens) NOT in no_proxy: pywb must bypass it anyway.
    port = free_port()
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    replay_env = s3_env(
        tmp_path,
        dead_proxy,
        no_proxy="localhost",
        AWS_ENDPOINT_URL=f"http://localhost:{server.port}",
    )
    proc_replay = subprocess.Popen(
        [*GOVCRAWL, "replay", "--archive", str(layout.root), "--port", str(port)],
        cwd=REPO,
        env=replay_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc_replay.stdout is not None
        first = proc_replay.stdout.readline()
        assert first.startswith(f"replaying {layout.root} at http://127.0.0.1:{port}/"), first + (
            proc_replay.stderr.read() if proc_replay.poll() is not None else ""
        )
        base = f"http://127.0.0.1:{port}/govcrawl/"
        want = {r["url"]: r for r in expected.expected_reports(1)}
        checked = 0
        for url, rec in sorted(reports.items()):
            exp = want.get(url)
            if (
                not exp
                or not exp["key_sentences"]
                or exp["counter"] != "A"
                or not url.endswith(".html")
            ):
                continue
            ts = rec["fetched"].replace("-", "").replace("T", "").replace(":", "").rstrip("Z")
            status, ctype, body = http_get(f"{base}{ts}/{url}")
            assert status == 200, (url, status, body[:300])
            text = "".join(decode_body(body, ctype)[0].split())
            assert "".join(exp["key_sentences"][0].split()) in text, url
            # The page's click counter, as archived in this crawl.
            status, _, body = http_get(f"{base}{ts}id_/{exp['counter_url']}")
            assert status == 200, exp["counter_url"]
            assert json.loads(body)["clicks"] == rec["clicks"]
            checked += 1
            if checked == 2:
                break
        assert checked == 2
        assert list(layout.warc_dir.iterdir()) == [], "replay read S3, it downloaded nothing"
    finally:
        stop_process(proc_replay)
    assert proc_replay.returncode == 0


def stop_process(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 30 s; its pipes closed."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# -- 2. a store outage in the middle of a crawl -------------------------------------------------


def test_store_down_mid_crawl_keeps_files_and_sync_from_the_manifest_sends_them(
    replica: Replica,
    s3_crawl: S3Crawl,
    own_s3_server: MotoServer,  # noqa: F811
    gate: Gate,
    aws_env: None,  # noqa: F811
    tmp_path: Path,
) -> None:
    server = own_s3_server
    bucket = server.create_bucket()
    archive = tmp_path / "archive"
    layout = ArchiveLayout(archive)
    env = s3_env(tmp_path, replica.url)
    out, err = (tmp_path / "crawl.out").open("w+"), (tmp_path / "crawl.err").open("w+")
    with out, err:
        crawl = subprocess.Popen(
            [
                *GOVCRAWL,
                *crawl_args(archive, f"s3://{bucket}/{PREFIX}", gate.url),
                *FAST,
                *SMALL_WARCS,
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
        try:
            # Once the first WARC is confirmed and recorded, the store goes down: cut off at
            # once, then moto stops (its objects kept for the restart) while the crawl goes on.
            deadline = time.monotonic() + 120
            while not any(k.startswith("warc/") for k in read_manifest(layout)["objects"]):
                assert crawl.poll() is None, "the crawl ended before its first WARC was stored"
                assert time.monotonic() < deadline
                time.sleep(0.01)
            gate.close()
            server.stop(keep_data=True)
            code = crawl.wait(timeout=300)
        finally:
            if crawl.poll() is None:
                crawl.kill()
                crawl.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    assert code == 0, f"{stdout}\n{stderr[-5000:]}"
    assert "Traceback" not in stderr, stderr[-5000:]

    # Unshipped WARCs stayed local, and the crawl said so once.
    local = {p.name: p.read_bytes() for p in layout.sealed_warcs()}
    shipped = {
        k[len("warc/") :]: v
        for k, v in read_manifest(layout)["objects"].items()
        if k.startswith("warc/")
    }
    assert local, "the outage must have kept WARCs local (it began after the first upload)"
    assert shipped and not set(local) & set(shipped)
    assert not layout.open_warcs()
    failing = [line for line in stderr.splitlines() if "WARNING" in line and "is failing" in line]
    assert len(failing) == 1, stderr[-5000:]
    assert f"s3://{bucket}/{PREFIX}" in failing[0] and f"keeping files in {archive}" in failing[0]

    # Later: the store is back; `govcrawl sync` finds it in store.json and sends everything.
    server.start()
    gate.open()
    proc = govcrawl(["sync", "--archive", str(archive)], s3_env(tmp_path, None))
    assert proc.returncode == 0, proc.stderr
    uploaded = re.match(r"govcrawl: (\d+) uploaded, 0 failed", proc.stdout)
    assert uploaded and int(uploaded.group(1)) > len(local), proc.stdout
    assert layout.sealed_warcs() == [], "every WARC confirmed in S3 and let go locally"

    # Every WARC is in S3, byte-identical to what was written: the local ones as the test read
    # them before the sync, the early ones as store.json recorded them at their upload.
    objects = warc_objects(server, bucket)
    recorded = {
        k[len("warc/") :]: v
        for k, v in read_manifest(layout)["objects"].items()
        if k.startswith("warc/")
    }
    assert set(objects) == set(recorded) == set(local) | set(shipped)
    for name, data in objects.items():
        assert recorded[name]["sha256"] == sha256_hex(data)
        if name in local:
            assert data == local[name]
        else:
            assert shipped[name]["sha256"] == sha256_hex(data)
    assert f"{PREFIX}/captures.sqlite3" in server.keys(bucket)

    # The index the crawl left out the WARCs it could not read back; `govcrawl index` completes it.
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    for name, data in objects.items():
        (downloaded / name).write_bytes(data)
    oracle = tmp_path / "oracle.cdxj"
    cdxj.build_index(sorted(downloaded.iterdir()), oracle)
    assert cdxj.covered_warcs(layout.cdxj_path) < set(objects)
    proc = govcrawl(["index", "--archive", str(archive)], s3_env(tmp_path, None))
    assert proc.returncode == 0, proc.stderr
    assert layout.cdxj_path.read_bytes() == oracle.read_bytes()

    # No capture lost: every capture-index row points at its record, and the records read back
    # through open_warc are those of the uninterrupted crawl.
    with CaptureIndex.open(layout.captures_db) as index:
        rows = list(index.iter_captures())
    assert rows
    for row in rows[:: max(1, len(rows) // 40)]:
        assert read_record(layout, row.warc, row.offset, row.length) == (row.record_type, row.url)
    assert {r.warc for r in rows} <= set(objects)
    got, want = record_set(layout), record_set(s3_crawl.layout)
    assert set(got) == set(want)
    # Same records, same numbers of them; the replica's flaky pages fail their first fetches
    # only (retries are archived too), so the earlier crawl holds more tries of those.
    flaky = set(expected.flaky_urls())
    differ = {k: (got[k], want[k]) for k in set(got) | set(want) if got[k] != want[k]}
    assert differ.keys() <= {k for k in differ if k[1] in flaky}, differ


# -- an incremental crawl into an S3-backed archive ---------------------------------------------


def test_next_crawl_keeps_the_captures_of_uploaded_warcs(
    s3_crawl: S3Crawl, replica: Replica, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(s3_crawl.archive, archive)  # a copy: the module's crawl stays as it was
    with CaptureIndex.open(archive / "captures.sqlite3") as index:
        before = {(r.url, r.fetched, r.warc, r.offset) for r in index.iter_captures()}
    store = f"s3://{s3_crawl.bucket}/{PREFIX}-next"
    proc = govcrawl(
        [*crawl_args(archive, store, s3_crawl.server.url), *FAST, *SMALL_WARCS],
        s3_env(tmp_path, replica.url),
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    with CaptureIndex.open(archive / "captures.sqlite3") as index:
        after = {(r.url, r.fetched, r.warc, r.offset) for r in index.iter_captures()}
    assert before <= after, f"{len(before - after)} of {len(before)} captures lost"


# -- 3. credentials never written or printed -----------------------------------------------------


def _contains_secret(data: bytes, secrets: list[bytes]) -> bool:
    return any(s in data for s in secrets)


def _expanded(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """The bytes of a file and of what it contains (gzip members, zip members)."""
    yield name, data
    if name.endswith(".gz") or data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            yield name + "!gunzip", gzip.decompress(data)
    if name.endswith(".wacz") or data[:4] == b"PK\x03\x04":
        with contextlib.suppress(zipfile.BadZipFile):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.namelist():
                    yield from _expanded(f"{name}!{member}", zf.read(member))


def test_credentials_never_reach_the_archive_the_store_or_the_logs(
    replica: Replica,
    s3_server: MotoServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    key_id = "AKIAGOVCRAWL" + uuid.uuid4().hex[:8].upper()
    secret = "gcSecret/" + uuid.uuid4().hex + "+Zz"
    secrets = [key_id.encode(), secret.encode()]
    bucket = s3_server.create_bucket()
    archive = tmp_path / "archive"
    env = s3_env(tmp_path, replica.url, key_id=key_id, secret=secret)
    procs = [
        govcrawl(
            [
                *crawl_args(archive, f"s3://{bucket}/{PREFIX}", s3_server.url),
                *FAST,
                *SMALL_WARCS,
                "-v",
            ],
            env,
        )
    ]
    assert procs[0].returncode == 0, procs[0].stderr[-5000:]
    assert "uploaded" in procs[0].stderr, "INFO logging of the uploads was on"
    # A WACZ made inside the archive (its WARCs streamed from S3), then shipped by `sync`.
    plain = s3_env(tmp_path, None, key_id=key_id, secret=secret)
    procs.append(
        govcrawl(["wacz", "--archive", str(archive), "-o", str(archive / "all.wacz")], plain)
    )
    procs.append(govcrawl(["sync", "--archive", str(archive)], plain))
    assert [p.returncode for p in procs] == [0, 0, 0], [p.stderr[-2000:] for p in procs]
    assert procs[2].stdout.startswith("govcrawl: 1 uploaded, 0 failed"), procs[2].stdout
    keys = s3_server.keys(bucket)
    assert f"{PREFIX}/wacz/all.wacz" in keys

    for proc in procs:
        assert not _contains_secret(proc.stdout.encode() + proc.stderr.encode(), secrets)
    files = [p for p in archive.rglob("*") if p.is_file()]
    names = {p.relative_to(archive).as_posix() for p in files}
    assert {"store.json", "captures.sqlite3", "reports.jsonl", "all.wacz"} <= names
    assert any(n.startswith("runs/") for n in names)
    scanned = 0
    for path in files:
        for where, data in _expanded(path.relative_to(archive).as_posix(), path.read_bytes()):
            assert not _contains_secret(data, secrets), where
            scanned += 1
    # The WARCs live in S3 only: read every object back (WARC headers included, decompressed).
    warcs = 0
    for key in keys:
        for where, data in _expanded(key, s3_server.read(bucket, key)):
            assert not _contains_secret(data, secrets), where
            warcs += where.endswith(".warc.gz!gunzip")
    assert warcs >= 3 and scanned > len(files)


# -- the pieces, on a small fixture archive half in S3 ------------------------------------------


@pytest.fixture
def half_in_s3(
    tmp_path: Path,
    s3_bucket: Bucket,  # noqa: F811
) -> tuple[ArchiveLayout, dict[str, bytes]]:
    """The fixture archive (crawl 1, crawl 2 with revisits of crawl 1) with crawl 1's WARC
    uploaded and deleted locally. Returns the layout and the original bytes of both WARCs."""
    archive = fx.make_archive(tmp_path / "archive")
    layout = ArchiveLayout(archive.root)
    assert archive.second is not None
    originals = {w.name: w.path.read_bytes() for w in (archive.first, archive.second)}
    store = open_store(s3_bucket.uri(PREFIX), endpoint_url=s3_bucket.server.url)
    assert Spool(layout, store).ship(archive.first.path)
    assert not archive.first.path.exists() and archive.second.path.exists()
    return layout, originals


def test_index_and_wacz_of_a_half_uploaded_archive_match_the_original_files(
    half_in_s3: tuple[ArchiveLayout, dict[str, bytes]], tmp_path: Path
) -> None:
    layout, originals = half_in_s3
    copies = tmp_path / "copies"
    copies.mkdir()
    for name, data in originals.items():
        (copies / name).write_bytes(data)
    oracle = tmp_path / "oracle.cdxj"
    cdxj.build_index(sorted(copies.iterdir()), oracle)
    assert cdxj.index_archive(layout).read_bytes() == oracle.read_bytes()

    first, second = sorted(originals)
    # Crawl 2's revisits bring crawl 1's WARC in, streamed from S3 byte for byte.
    out = build_wacz(layout, tmp_path / "second.wacz", [], warcs=[second])
    assert check_wacz(out) == []
    with zipfile.ZipFile(out) as zf:
        packed = {
            n[len("archive/") :]: zf.read(n) for n in zf.namelist() if n.startswith("archive/")
        }
        package = json.loads(zf.read("datapackage.json"))
    assert packed == originals
    assert package["relation"]["includedForRevisits"][0]["path"] == f"archive/{first}"
    # Left out, it is declared with the sha256 and size the store confirmed at upload.
    out = build_wacz(layout, tmp_path / "alone.wacz", [], warcs=[second], include_originals=False)
    with zipfile.ZipFile(out) as zf:
        requires = json.loads(zf.read("datapackage.json"))["relation"]["requires"]
    assert [(r["warc"], r["hash"], r["bytes"]) for r in requires] == [
        (first, sha256_hex(originals[first]), len(originals[first]))
    ]


def test_warc_range_server_answers_byte_ranges_from_s3_and_disk(
    half_in_s3: tuple[ArchiveLayout, dict[str, bytes]],
) -> None:
    layout, originals = half_in_s3

    def get(path: str, headers: dict[str, str], method: str = "GET") -> tuple[int, dict, bytes]:
        request = urllib.request.Request(server.url + path, headers=headers, method=method)
        try:
            with OPENER.open(request, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    with WarcRangeServer(layout) as server:
        assert server.url.startswith("http://127.0.0.1:")
        for name, data in originals.items():  # store-only and local alike
            size = len(data)
            status, headers, body = get(name, {"Range": "bytes=10-109"})
            assert (status, body) == (206, data[10:110])
            assert headers["Content-Range"] == f"bytes 10-109/{size}"
            assert get(name, {"Range": f"bytes={size - 50}-"})[2] == data[-50:]
            assert get(name, {"Range": "bytes=-7"})[2] == data[-7:]
            assert get(name, {"Range": f"bytes={size - 5}-{size + 100}"})[2] == data[-5:]
            status, _, body = get(name, {})
            assert (status, body) == (200, data)
            assert get(name, {"Range": f"bytes={size}-"})[0] == 416
            status, headers, body = get(name, {"Range": "bytes=0-9"}, method="HEAD")
            assert (status, headers["Content-Length"], body) == (206, "10", b"")
        for bad in ("nope.warc.gz", "..%2Fstore.json", "%2E%2E/store.json", "store.json", ""):
            assert get(bad, {})[0] == 404, bad


def test_sync_without_a_store_given_or_recorded_is_a_one_line_error(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    fx.make_archive(archive, second=False)
    proc = govcrawl(["sync", "--archive", str(archive)], s3_env(tmp_path, None))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"govcrawl: no store given and none recorded in {archive / 'store.json'}: "
        "use --store s3://bucket/prefix (or GOVCRAWL_STORE)\n"
    )
    proc = govcrawl(["sync", "--archive", str(tmp_path / "nowhere")], s3_env(tmp_path, None))
    assert (proc.returncode, proc.stderr.count("\n")) == (4, 1), proc.stderr
