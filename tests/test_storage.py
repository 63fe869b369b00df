"""Storage stage against moto's standalone S3 server over real HTTP (boto3 unchanged)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from govcrawl.archive.layout import ArchiveLayout
from govcrawl.store import (
    LocalStore,
    S3Store,
    Spool,
    StoreVerificationError,
    open_store,
    open_warc,
    read_manifest,
    store_from_manifest,
    sync_archive,
    warc_names,
)
from govcrawl.store.stores import MiB, file_digests, verify_checksum
from tests.s3server import (  # noqa: F401
    Bucket,
    MotoServer,
    aws_env,
    free_port,
    own_s3_server,
    s3_bucket,
    s3_server,
)

WARC_NAME = "govcrawl-20261128043000000000-00000-test.warc.gz"


def warc_name(serial: int) -> str:
    return f"govcrawl-20261128043000{serial:06d}-{serial:05d}-test.warc.gz"


def write_warc(path: Path, pages: dict[str, bytes]) -> dict[str, int]:
    """A gzipped WARC with one response record per URL; returns each record's offset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages.items():
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers
            )
            writer.write_record(record)
            record.raw_stream.close()  # warcio may spool the payload to a temporary file
    offsets = {}
    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            offsets[record.rec_headers.get_header("WARC-Target-URI")] = it.get_record_offset()
    return offsets


def random_file(path: Path, size: int, seed: int = 0) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = hashlib.shake_256(f"{path.name}-{seed}".encode()).digest(size)
    path.write_bytes(data)
    return data


@pytest.fixture
def layout(tmp_path: Path) -> ArchiveLayout:
    return ArchiveLayout.open(tmp_path / "archive")


def s3(bucket: Bucket, **options: object) -> S3Store:
    store = open_store(bucket.uri(), endpoint_url=bucket.server.url, **options)  # type: ignore[arg-type]
    assert isinstance(store, S3Store)
    return store


def storage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("govcrawl.store") and r.levelno == logging.WARNING
    ]


# -- store URIs --------------------------------------------------------------------------------


def test_open_store_picks_the_store_by_scheme(tmp_path: Path, aws_env: None) -> None:  # noqa: F811
    for uri, root in [(None, None), (str(tmp_path), tmp_path), (tmp_path.as_uri(), tmp_path)]:
        local = open_store(uri)
        assert isinstance(local, LocalStore) and local.root == (root and root.resolve())
    store = open_store("s3://my-bucket/some/prefix/")
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("my-bucket", "some/prefix")
    assert store.describe() == "s3://my-bucket/some/prefix"
    with pytest.raises(ValueError, match="unsupported store scheme"):
        open_store("ftp://host/x")
    with pytest.raises(ValueError) as excinfo:
        open_store("s3://AKIDINURI:VerySecretInUri@my-bucket/x")
    assert "VerySecretInUri" not in str(excinfo.value) and "AKIDINURI" not in str(excinfo.value)
    with pytest.raises(ValueError, match="at least"):
        open_store("s3://my-bucket/x", part_size=1 * MiB)


# -- upload, verification, local deletion ----------------------------------------------------


def test_ship_uploads_verifies_records_and_deletes_the_warc(
    layout: ArchiveLayout,
    s3_bucket: Bucket,  # noqa: F811
) -> None:
    path = layout.warc_path(WARC_NAME)
    write_warc(path, {"http://www.xam.gov.cn/a.html": "政府信息公开工作年度报告".encode()})
    original = path.read_bytes()
    spool = Spool(layout, s3(s3_bucket))

    assert spool.ship(path) is True

    assert not path.exists(), "a confirmed WARC is deleted locally"
    assert s3_bucket.server.read(s3_bucket.name, f"archive/warc/{WARC_NAME}") == original
    manifest = json.loads((layout.root / "store.json").read_text())
    entry = manifest["objects"][f"warc/{WARC_NAME}"]
    assert manifest["store"] == s3_bucket.uri() == entry["store"]
    assert manifest["stores"][s3_bucket.uri()]["endpoint_url"] == s3_bucket.server.url
    assert entry["size"] == len(original)
    assert entry["sha256"] == "sha256:" + hashlib.sha256(original).hexdigest()
    b64 = base64.b64encode(hashlib.sha256(original).digest()).decode()
    assert entry["checksum"] == f"SHA256:{b64}"
    leftovers = [p.name for p in layout.root.glob(".store.json.*") if p.name != ".store.json.lock"]
    assert leftovers == [], "no temporary manifest left behind"


def test_multipart_upload_is_verified_against_the_composite_checksum(
    tmp_path: Path,
    s3_bucket: Bucket,  # noqa: F811
) -> None:
    data = random_file(tmp_path / "big.warc.gz", 12 * MiB + 12345)
    store = s3(s3_bucket, multipart_threshold=5 * MiB, part_size=5 * MiB)

    result = store.upload(tmp_path / "big.warc.gz", "warc/big.warc.gz")

    head = store.client.head_object(Bucket=s3_bucket.name, Key="archive/warc/big.warc.gz")
    assert head["ETag"].strip('"').endswith("-3"), "uploaded in three parts"
    parts = [hashlib.sha256(data[i : i + 5 * MiB]).digest() for i in range(0, len(data), 5 * MiB)]
    composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert result.checksum.split(":", 1)[1].partition("-")[0] == composite
    assert result.size == len(data)
    assert result.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert s3_bucket.server.read(s3_bucket.name, "archive/warc/big.warc.gz") == data


def test_open_range_streams_only_the_requested_bytes(
    tmp_path: Path,
    s3_bucket: Bucket,  # noqa: F811
) -> None:
    data = random_file(tmp_path / "big.bin", 12 * MiB)
    store = s3(s3_bucket, multipart_threshold=5 * MiB, part_size=5 * MiB)
    store.upload(tmp_path / "big.bin", "warc/big.bin")
    lengths: list[int] = []
    store.client.meta.events.register(
        "after-call.s3.GetObject", lambda parsed, **_: lengths.append(parsed["ContentLength"])
    )

    start = 7 * MiB + 3
    with store.open_range("warc/big.bin", start, 1000) as body:
        assert body.read() == data[start : start + 1000]
    assert lengths == [1000], "the GET asked for the range, not the whole object"

    with store.open_range("warc/big.bin", len(data) - 10, None) as body:
        assert body.read() == data[-10:]
    assert store.size("warc/big.bin") == len(data) and store.size("warc/none") is None
    assert store.exists("warc/big.bin") and not store.exists("warc/none")
    assert list(store.list("warc/")) == ["warc/big.bin"]


def test_a_bad_checksum_keeps_the_file(
    layout: ArchiveLayout,
    s3_bucket: Bucket,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = layout.warc_path(WARC_NAME)
    random_file(path, 4096)
    store = s3(s3_bucket)

    def corrupt(parsed: dict, **_: object) -> None:  # the store answers with another checksum
        parsed["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    store.client.meta.events.register("after-call.s3.HeadObject", corrupt)
    with pytest.raises(StoreVerificationError):
        store.upload(path, "warc/x")

    assert Spool(layout, store).ship(path) is False
    assert path.exists()
    assert read_manifest(layout)["objects"] == {}
    assert any("checksum differs" in r.getMessage() for r in caplog.records)


# -- outage -------------------------------------------------------------------------------------


def test_store_outage_keeps_files_and_sync_sends_them_later(
    layout: ArchiveLayout,
    own_s3_server: MotoServer,  # noqa: F811
    aws_env: None,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    bucket = Bucket(own_s3_server, own_s3_server.create_bucket())
    store = s3(bucket, max_attempts=1)
    spool = Spool(layout, store)
    originals = {}
    for serial in range(4):
        originals[warc_name(serial)] = random_file(
            layout.warc_path(warc_name(serial)), 3000 + serial
        )
    writing = layout.warc_path(warc_name(9) + ".open")
    random_file(writing, 100)
    summary = layout.runs_dir / "20261128T043000Z.json"
    summary.write_text('{"pages": 3}')

    assert spool.ship(layout.warc_path(warc_name(0))) is True  # before the outage
    own_s3_server.stop()
    caplog.clear()

    assert spool.ship(layout.warc_path(warc_name(1))) is False
    assert spool.ship(layout.warc_path(warc_name(2))) is False
    report = spool.ship_pending()
    assert report.uploaded == 0 and report.failed >= 1
    for serial in (1, 2, 3):
        assert layout.warc_path(warc_name(serial)).exists(), (
            "nothing deleted while the store is down"
        )
    warnings = storage_warnings(caplog)
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    assert bucket.uri() in warnings[0].getMessage()

    own_s3_server.start()  # same port; stored objects kept, as a real outage would
    assert own_s3_server.port == int(store.client.meta.endpoint_url.rsplit(":", 1)[1])
    report = sync_archive(layout, store)

    assert report.failed == 0
    assert report.uploaded == 4  # three WARCs and the run summary
    assert (
        report.bytes
        == sum(len(originals[warc_name(s)]) for s in (1, 2, 3)) + summary.stat().st_size
    )
    assert writing.exists() and f"warc/{writing.name}" not in read_manifest(layout)["objects"]
    assert summary.exists(), "run summaries stay local"
    # Nothing lost: every sealed WARC is local or confirmed in the store, byte for byte.
    for name, data in originals.items():
        assert not layout.warc_path(name).exists()
        assert own_s3_server.read(bucket.name, f"archive/warc/{name}") == data
        assert read_manifest(layout)["objects"][f"warc/{name}"]["size"] == len(data)
    assert sync_archive(layout, store).uploaded == 0, "nothing left to send"


def test_unreachable_store_stops_the_batch_quickly(
    layout: ArchiveLayout,
    aws_env: None,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="botocore.endpoint")
    for serial in range(5):
        random_file(layout.warc_path(warc_name(serial)), 100)
    store = open_store(
        "s3://nowhere/x", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1
    )

    report = Spool(layout, store).ship_pending()

    assert report == type(report)(uploaded=0, failed=5, bytes=0)
    assert len(layout.sealed_warcs()) == 5
    assert len(storage_warnings(caplog)) == 1
    sent = [r for r in caplog.records if r.name == "botocore.endpoint" and "Sending" in r.msg]
    assert len(sent) == 1, "one connection attempt, not one per file"


# -- what is shipped -------------------------------------------------------------------------


def test_sync_ships_sealed_files_once_and_the_capture_index_last(
    layout: ArchiveLayout,
    s3_bucket: Bucket,  # noqa: F811
) -> None:
    random_file(layout.warc_path(warc_name(1)), 500)
    random_file(layout.warc_path(warc_name(2) + ".open"), 500)
    (layout.runs_dir / "r1.json").write_text("{}")
    layout.cdxj_path.write_text('org,xam)/ 20261128043000 {"url": "http://www.xam.gov.cn/"}\n')
    (layout.indexes_dir / "index.cdxj.tmp").write_text("half")
    layout.reports_jsonl.write_text('{"url": "http://www.xam.gov.cn/a.html"}\n')
    (layout.root / "portal.wacz").write_bytes(b"PK\x05\x06" + bytes(18))
    db = sqlite3.connect(layout.captures_db, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE captures (url TEXT)")
    db.execute("INSERT INTO captures VALUES ('http://www.xam.gov.cn/a.html')")  # still in the WAL
    store = s3(s3_bucket)
    puts: list[str] = []
    store.client.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: puts.append(params["Key"])
    )

    first = sync_archive(layout, store)

    expected = [
        f"archive/warc/{warc_name(1)}",
        "archive/runs/r1.json",
        "archive/indexes/index.cdxj",
        "archive/reports.jsonl",
        "archive/wacz/portal.wacz",
        "archive/captures.sqlite3",
    ]
    assert puts == expected and first.uploaded == 6 and first.failed == 0
    assert s3_bucket.server.keys(s3_bucket.name) == sorted(expected)
    snapshot = layout.root.parent / "snapshot.sqlite3"
    snapshot.write_bytes(s3_bucket.server.read(s3_bucket.name, "archive/captures.sqlite3"))
    rows = sqlite3.connect(snapshot).execute("SELECT url FROM captures").fetchall()
    assert rows == [("http://www.xam.gov.cn/a.html",)]
    assert layout.cdxj_path.exists() and layout.reports_jsonl.exists()
    assert not list(layout.root.glob(".captures-snapshot-*")), "snapshot temp file removed"

    puts.clear()
    assert sync_archive(layout, store).uploaded == 0 and puts == [], "unchanged files not re-sent"
    layout.cdxj_path.write_text(layout.cdxj_path.read_text() * 2)
    again = sync_archive(layout, store)
    assert puts == ["archive/indexes/index.cdxj"] and again.uploaded == 1
    db.close()


def test_open_files_are_never_shipped(layout: ArchiveLayout, tmp_path: Path) -> None:
    path = layout.warc_path(warc_name(1) + ".open")
    random_file(path, 10)
    with pytest.raises(ValueError, match="still being written"):
        Spool(layout, open_store(str(tmp_path / "elsewhere"))).ship(path)


# -- reading back --------------------------------------------------------------------------------


def test_open_warc_reads_a_record_back_from_s3(
    layout: ArchiveLayout,
    s3_bucket: Bucket,  # noqa: F811
) -> None:
    pages = {
        "http://www.xam.gov.cn/xxgk/1.html": "2021年政府信息公开工作年度报告".encode(),
        "http://www.xam.gov.cn/xxgk/2.html": "兴安盟公安局2022年政府信息公开工作年度报告".encode(),
    }
    path = layout.warc_path(WARC_NAME)
    offsets = write_warc(path, pages)
    local_names = warc_names(layout)
    assert Spool(layout, s3(s3_bucket)).ship(path) and not path.exists()

    url = "http://www.xam.gov.cn/xxgk/2.html"
    with open_warc(layout, WARC_NAME, offsets[url]) as stream:
        record = next(iter(ArchiveIterator(stream)))
        assert record.rec_headers.get_header("WARC-Target-URI") == url
        assert record.content_stream().read() == pages[url]
    assert warc_names(layout) == local_names == [WARC_NAME]
    recorded = store_from_manifest(layout)
    assert recorded is not None and recorded.describe() == s3_bucket.uri()
    with pytest.raises(FileNotFoundError):
        open_warc(layout, "missing.warc.gz")
    with pytest.raises(ValueError):
        open_warc(layout, "../store.json")


def test_local_folder_store_moves_warcs_and_reads_them_back(
    layout: ArchiveLayout, tmp_path: Path
) -> None:
    path = layout.warc_path(WARC_NAME)
    offsets = write_warc(path, {"http://www.xam.gov.cn/a.html": b"<html>a</html>"})
    original = path.read_bytes()
    nas = tmp_path / "nas"
    store = open_store(nas.as_uri())

    assert sync_archive(layout, store).uploaded == 1
    assert not path.exists() and (nas / "warc" / WARC_NAME).read_bytes() == original
    with open_warc(layout, WARC_NAME, offsets["http://www.xam.gov.cn/a.html"]) as stream:
        record = next(iter(ArchiveIterator(stream)))
        assert record.content_stream().read() == b"<html>a</html>"
    # The archive folder as its own store: nothing to do, nothing deleted.
    random_file(path, 10)
    assert sync_archive(layout, open_store(None)).uploaded == 0 and path.exists()


def test_a_relative_archive_path_works_like_an_absolute_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    layout = ArchiveLayout(Path("archive"))  # as `govcrawl sync --archive archive` builds it
    data = random_file(layout.warc_path(WARC_NAME), 100)
    assert sync_archive(layout, open_store("nas")).uploaded == 1
    assert not layout.warc_path(WARC_NAME).exists()
    assert (tmp_path / "nas" / "warc" / WARC_NAME).read_bytes() == data
    assert warc_names(layout) == [WARC_NAME]


def test_open_warc_reads_local_ranges_without_the_store(layout: ArchiveLayout) -> None:
    path = layout.warc_path(WARC_NAME + ".open")
    data = random_file(path, 5000)
    with open_warc(layout, WARC_NAME, 100, 50) as stream:
        assert stream.read() == data[100:150]
    assert file_digests(path, 1024).size == 5000


# -- endpoint and credentials -------------------------------------------------------------------


def test_aws_endpoint_url_is_honoured_without_endpoint_url(
    layout: ArchiveLayout,
    s3_bucket: Bucket,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_bucket.server.url)
    path = layout.warc_path(warc_name(1))
    data = random_file(path, 2000)
    store = open_store(s3_bucket.uri())

    assert Spool(layout, store).ship(path)
    assert s3_bucket.server.read(s3_bucket.name, f"archive/warc/{warc_name(1)}") == data

    # The service-specific variable wins over the global one (boto3's own precedence).
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_bucket.server.url)
    path = layout.warc_path(warc_name(2))
    random_file(path, 10)
    assert Spool(layout, open_store(s3_bucket.uri(), max_attempts=1)).ship(path)
    assert warc_names(layout) == [warc_name(1), warc_name(2)]


def test_credentials_never_reach_logs_or_files(
    layout: ArchiveLayout,
    s3_bucket: Bucket,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key_id, secret = "AKIAGOVCRAWLTESTKEY7", "Zq8+distinctive/secret+Zq8wJalrXUtnFEMI"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    caplog.set_level(logging.DEBUG)
    offsets = write_warc(layout.warc_path(WARC_NAME), {"http://www.xam.gov.cn/a.html": b"a"})
    random_file(layout.warc_path(warc_name(1)), 6 * MiB)
    (layout.runs_dir / "r.json").write_text("{}")
    sqlite3.connect(layout.captures_db).execute("CREATE TABLE t (x)").connection.commit()
    store = s3(s3_bucket, multipart_threshold=5 * MiB, part_size=5 * MiB)

    assert sync_archive(layout, store).failed == 0
    with open_warc(layout, WARC_NAME, offsets["http://www.xam.gov.cn/a.html"]) as stream:
        stream.read()
    assert store.exists(f"warc/{WARC_NAME}") and list(store.list())
    random_file(layout.warc_path(warc_name(2)), 10)
    dead = open_store(
        s3_bucket.uri(), endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1
    )
    assert sync_archive(layout, dead).failed >= 1

    assert any(r.name == "botocore.endpoint" for r in caplog.records), "DEBUG was captured"
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert key_id not in text and secret not in text
    files = [p for p in layout.root.rglob("*") if p.is_file()]
    assert layout.root / "store.json" in files
    for path in files:
        content = path.read_bytes()
        assert key_id.encode() not in content and secret.encode() not in content, path


def test_store_json_is_written_atomically_by_concurrent_shippers(
    layout: ArchiveLayout, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = open_store(str(tmp_path / "nas"))
    names = [warc_name(i) for i in range(12)]
    for name in names:
        random_file(layout.warc_path(name), 64)
    spools = [Spool(layout, store) for _ in range(3)]  # as separate processes would
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda i: spools[i % 3].ship(layout.warc_path(names[i])), range(len(names)))
        )
    assert all(results)
    assert sorted(read_manifest(layout)["objects"]) == sorted(f"warc/{n}" for n in names)


def test_file_digests_match_hashlib_for_every_part_boundary(tmp_path: Path) -> None:
    for size in (0, 1, 1023, 1024, 1025, 4096):
        data = random_file(tmp_path / f"f{size}", size)
        digests = file_digests(tmp_path / f"f{size}", 1024)
        chunks = [data[i : i + 1024] for i in range(0, len(data), 1024)] or [b""]
        assert digests.size == size
        assert digests.sha256 == hashlib.sha256(data).digest()
        assert digests.sha256_parts == tuple(hashlib.sha256(c).digest() for c in chunks)
        assert digests.md5_parts == tuple(hashlib.md5(c).digest() for c in chunks)


def test_verify_checksum_follows_s3s_single_composite_and_etag_forms(tmp_path: Path) -> None:
    # moto answers composite checksums without the "-<parts>" suffix real S3 adds, and always
    # reports checksums; these are the answers a real S3 or an older S3-compatible store gives.
    data = random_file(tmp_path / "f", 12 * MiB)
    local = file_digests(tmp_path / "f", 5 * MiB)
    parts = [data[i : i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    md5_composite = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    b64 = base64.b64encode(composite).decode()
    whole = base64.b64encode(hashlib.sha256(data).digest()).decode()

    assert verify_checksum("x", {"ChecksumSHA256": f"{b64}-3"}, local) == f"SHA256:{b64}-3"
    assert verify_checksum("x", {"ChecksumSHA256": whole}, local) == f"SHA256:{whole}"
    assert verify_checksum("x", {"ETag": f'"{md5_composite}-3"'}, local).startswith("etag:")
    single = file_digests(tmp_path / "f", 16 * MiB)
    assert verify_checksum("x", {"ETag": f'"{hashlib.md5(data).hexdigest()}"'}, single)
    bad = [
        {"ChecksumSHA256": f"{b64}-4"},  # other part count
        {"ChecksumSHA256": f"{whole}-3"},  # whole-object value where a composite belongs
        {"ETag": f'"{md5_composite}-2"'},
        {"ETag": f'"{hashlib.md5(b"other").hexdigest()}"'},
        {"ETag": '"not-an-md5"'},  # e.g. SSE-KMS: nothing to confirm against
        {},
    ]
    for head in bad:
        with pytest.raises(StoreVerificationError, match="^where-it-is: "):
            verify_checksum("where-it-is", head, local)
