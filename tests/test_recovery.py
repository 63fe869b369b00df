"""Crash recovery: torn WARCs are cut back to their last complete record, sealed, and the index
is made to agree with them."""

from __future__ import annotations

import gzip
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.cli import main as warcio_main

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.archive.recovery import complete_prefix, recover_archive
from govcrawl.archive.warc import WarcFileWriter, payload_digest, read_record_at


def warcio_check(*paths: Path) -> int:
    with pytest.raises(SystemExit) as exit_info:
        warcio_main(["check", *map(str, paths)])
    return int(exit_info.value.code or 0)


def crawl_like(layout: ArchiveLayout, index: CaptureIndex, pages: int) -> tuple[Path, list[int]]:
    """Write ``pages`` response/request pairs with index rows, as the extension does; return the
    sealed file and the end offset of every gzip member in it."""
    writer = WarcFileWriter(layout.warc_dir)
    run = index.start_run(archive=layout.root)
    ends = []
    for i in range(pages):
        url = f"http://www.xam.gov.cn/xam/p{i}.html?x={i}"
        body = (
            f"<html><body>第{i}页 " + "政府信息公开工作年度报告 " * (i % 7 + 1) + "</body></html>"
        ).encode()
        with writer.group():
            loc = writer.write_response(
                url, status=200, headers=[(b"Content-Type", b"text/html")], payload=body
            )
            req = writer.write_request(
                url, headers=[(b"Host", b"www.xam.gov.cn")], concurrent_to=loc.record_id
            )
        index.add_capture(
            url=url,
            fetched="2026-11-28T04:30:00Z",
            http_status=200,
            digest=payload_digest(body),
            size=len(body),
            warc=loc.warc,
            offset=loc.offset,
            length=loc.length,
            record_type="response",
            status="new",
            run_id=run,
            record_id=loc.record_id,
        )
        ends += [loc.offset + loc.length, req.offset + req.length]
    writer.close()
    [path] = writer.sealed
    return path, ends


def assert_consistent(layout: ArchiveLayout, index: CaptureIndex) -> None:
    assert layout.open_warcs() == []
    files = layout.sealed_warcs()
    if files:
        assert warcio_check(*files) == 0
    for row in index.iter_captures():
        record, _ = read_record_at(layout.warc_path(row.warc), row.offset)
        assert record.rec_headers["WARC-Record-ID"] == row.record_id
        assert record.rec_headers["WARC-Target-URI"] == row.url
        with open(layout.warc_path(row.warc), "rb") as fh:  # offset+length is one whole member
            fh.seek(row.offset)
            assert gzip.decompress(fh.read(row.length)).startswith(b"WARC/1.1\r\n")


class Base(tuple):
    """(name, bytes, rows, member boundaries) with a short repr for hypothesis reports."""

    def __repr__(self) -> str:
        return f"Base({self[0]!r}, {len(self[1])} bytes)"


@pytest.fixture(scope="module")
def base_archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("base")
    layout = ArchiveLayout.open(root)
    index = CaptureIndex.open(layout.root)
    path, ends = crawl_like(layout, index, pages=12)
    rows = list(index.iter_captures())
    index.close()
    record, _ = read_record_at(path, 0)
    assert record.rec_type == "warcinfo"
    warcinfo_end = min(r.offset for r in rows)
    return Base((path.name, path.read_bytes(), rows, [warcinfo_end, *ends]))


def torn_copy(base_archive, root: Path, data: bytes) -> tuple[ArchiveLayout, CaptureIndex]:
    name, _, rows, _ = base_archive
    layout = ArchiveLayout.open(root)
    (layout.warc_dir / (name + ".open")).write_bytes(data)
    index = CaptureIndex.open(layout.root)
    for r in rows:
        index.add_capture(
            url=r.url,
            fetched=r.fetched,
            http_status=r.http_status,
            digest=r.digest,
            size=r.size,
            warc=r.warc,
            offset=r.offset,
            length=r.length,
            record_type=r.record_type,
            status=r.status,
            record_id=r.record_id,
        )
    return layout, index


@settings(  # derandomized: the same cut points on every run
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cut_fraction=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_at_any_point_recovers(tmp_path, base_archive, cut_fraction):
    name, data, rows, boundaries = base_archive
    cut = int(len(data) * cut_fraction)
    layout, index = torn_copy(base_archive, tmp_path / uuid.uuid4().hex, data[:cut])
    try:
        report = recover_archive(layout, index)
        keep = max((b for b in boundaries if b <= cut), default=0)
        if keep == 0:  # not even the warcinfo survived: nothing worth keeping
            assert report.removed == [name + ".open"] and layout.sealed_warcs() == []
            assert list(index.iter_captures()) == []
        else:
            assert report.sealed == [name]
            sealed = layout.warc_path(name)
            assert sealed.stat().st_size == keep
            assert sealed.read_bytes() == data[:keep]
            assert report.truncated.get(name, 0) == cut - keep
            expected = [r.record_id for r in rows if r.offset + r.length <= keep]
            assert [r.record_id for r in index.iter_captures()] == expected
            assert report.rows_dropped == len(rows) - len(expected)
        assert_consistent(layout, index)
    finally:
        index.close()


def test_every_record_boundary_and_one_byte_either_side(tmp_path, base_archive):
    name, data, rows, boundaries = base_archive
    for i, b in enumerate(boundaries[1:4]):
        for cut in (b - 1, b, b + 1):
            layout, index = torn_copy(base_archive, tmp_path / f"{i}-{cut}", data[:cut])
            recover_archive(layout, index)
            keep = max(x for x in boundaries if x <= cut)
            assert layout.warc_path(name).stat().st_size == keep
            assert_consistent(layout, index)
            index.close()


def test_corrupt_tail_is_cut(tmp_path, base_archive):
    name, data, rows, boundaries = base_archive
    last_start = boundaries[-2]
    broken = bytearray(data)
    broken[last_start + 40] ^= 0xFF  # damage inside the last member's compressed data
    layout, index = torn_copy(base_archive, tmp_path / "flip", bytes(broken) + b"\x1f\x8b garbage")
    recover_archive(layout, index)
    assert layout.warc_path(name).stat().st_size == last_start
    assert_consistent(layout, index)
    index.close()


def test_complete_file_is_sealed_unchanged(tmp_path, base_archive):
    name, data, rows, _ = base_archive
    layout, index = torn_copy(base_archive, tmp_path / "whole", data)
    assert complete_prefix(layout.warc_dir / (name + ".open")) == (len(data), len(rows) * 2 + 1)
    report = recover_archive(layout, index)
    assert report.sealed == [name] and report.truncated == {} and report.rows_dropped == 0
    assert layout.warc_path(name).read_bytes() == data
    assert_consistent(layout, index)
    # Recovering again finds nothing to do.
    assert not recover_archive(layout, index).changed
    index.close()


def test_rows_of_missing_files_and_unfinished_runs(tmp_path):
    layout = ArchiveLayout.open(tmp_path / "a")
    index = CaptureIndex.open(layout.root)
    path, _ = crawl_like(layout, index, pages=3)
    kept = shutil.copy(path, tmp_path / "elsewhere.warc.gz")
    path.unlink()
    other = crawl_like(layout, index, pages=2)[0]
    foreign_run = index.start_run(archive="/some/other/archive")
    running = index.start_run(archive=layout.root)  # ours, still going: left alone
    with sqlite3.connect(layout.captures_db) as conn:  # the crawl_like runs: a process now dead
        conn.execute(
            "UPDATE runs SET pid = 999999999 WHERE id NOT IN (?, ?)", (foreign_run, running)
        )
    conn.close()
    report = recover_archive(layout, index)
    assert report.rows_dropped == 3
    assert {r.warc for r in index.iter_captures()} == {other.name}
    # Both runs of this archive never finished: closed as interrupted; other archives' runs stay.
    assert len(report.interrupted_runs) == 2
    assert index.get_run(report.interrupted_runs[0])["summary"]["interrupted"] is True
    assert [r["id"] for r in index.unfinished_runs()] == [foreign_run, running]
    assert_consistent(layout, index)
    index.close()
    assert Path(kept).exists()


def test_shared_index_keeps_rows_of_files_it_cannot_see(tmp_path):
    """A PostgreSQL-style shared index (not this archive's SQLite file) holds other workers'
    rows: their files are absent here and must not be dropped by default."""
    layout = ArchiveLayout.open(tmp_path / "a")
    index = CaptureIndex.open(tmp_path / "shared.sqlite3")
    path, _ = crawl_like(layout, index, pages=2)
    path.unlink()
    assert recover_archive(layout, index).rows_dropped == 0
    assert recover_archive(layout, index, drop_missing=True).rows_dropped == 2
    index.close()


WRITER_SCRIPT = textwrap.dedent(
    """
    import sys
    from govcrawl.archive.captures import CaptureIndex
    from govcrawl.archive.layout import ArchiveLayout
    from govcrawl.archive.warc import WarcFileWriter, payload_digest
    layout = ArchiveLayout.open(sys.argv[1])
    index = CaptureIndex.open(layout.root)
    run = index.start_run(archive=layout.root)
    writer = WarcFileWriter(layout.warc_dir, max_size=20_000)
    i = 0
    while True:
        url = f"http://www.xam.gov.cn/p{i}.html"
        body = (f"第{i}页" * (50 + i % 400)).encode()
        with writer.group():
            loc = writer.write_response(url, status=200, headers=[(b"Content-Type", b"text/html")],
                                        payload=body)
            writer.write_request(url, headers=[(b"Host", b"www.xam.gov.cn")],
                                 concurrent_to=loc.record_id)
        index.add_capture(url=url, fetched="2026-11-28T04:30:00Z", http_status=200,
                          digest=payload_digest(body), size=len(body), warc=loc.warc,
                          offset=loc.offset, length=loc.length, record_type="response",
                          status="new", run_id=run, record_id=loc.record_id)
        i += 1
        print(i, flush=True)
    """
)


def test_sigkilled_writer_recovers(tmp_path):
    root = tmp_path / "archive"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stdout:
            if int(line) >= 400:  # several rotations in, mid-write at an arbitrary moment
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    layout = ArchiveLayout(root)
    assert len(layout.open_warcs()) == 1 and len(layout.sealed_warcs()) >= 2
    index = CaptureIndex.open(root)
    try:
        before = len(list(index.iter_captures()))
        report = recover_archive(layout, index)
        assert report.sealed and report.interrupted_runs
        rows = list(index.iter_captures())
        # Rows are written only after their record group is flushed: a kill never orphans one.
        assert report.rows_dropped == 0 and len(rows) == before
        assert len(rows) >= 400
        assert_consistent(layout, index)
    finally:
        index.close()
