"""WarcFileWriter: write records, read them back with warcio, check what replay tools rely on."""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.cli import main as warcio_main

from govcrawl.archive.dedupe import IDENTICAL, NOT_MODIFIED
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.archive.reader import read_payload
from govcrawl.archive.warc import (
    RecordLocation,
    WarcFileWriter,
    payload_digest,
    read_record_at,
    warc_date,
)

FIXED = datetime(2026, 11, 28, 4, 30, 0, 123456, tzinfo=UTC)
NAME_RE = re.compile(r"^govcrawl-(\d{20})-(\d{5})-([A-Za-z0-9._]+)\.warc\.gz$")
HTML = (
    "<html><head><title>兴安盟公安局2021政府信息公开工作年度报告</title></head>"
    "<body>正文</body></html>"
)


class FrozenWriter(WarcFileWriter):
    """Deterministic ids and dates so whole files can be compared byte for byte."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ids = itertools.count(1)

    def _new_record_id(self) -> str:
        return f"<urn:uuid:00000000-0000-4000-8000-{next(self._ids):012d}>"

    def _now(self) -> datetime:
        return FIXED


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def warcio_check(*paths: Path) -> int:
    with pytest.raises(SystemExit) as exit_info:
        warcio_main(["check", *map(str, paths)])
    return int(exit_info.value.code or 0)


def records(path: Path) -> list[tuple[int, int, object, bytes]]:
    """(offset, length, record, raw block after HTTP headers) for every record in a file."""
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            raw = record.raw_stream.read()
            out.append((it.get_record_offset(), it.get_record_length(), record, raw))
    return out


def gzip_members(path: Path) -> list[tuple[int, int]]:
    data = path.read_bytes()
    members, pos = [], 0
    while pos < len(data):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        inflater.decompress(data[pos:])
        assert inflater.eof, f"torn gzip member at {pos}"
        end = len(data) - len(inflater.unused_data)
        members.append((pos, end - pos))
        pos = end
    return members


def write_exchange(writer: WarcFileWriter, url: str, body: bytes, headers=None) -> RecordLocation:
    headers = headers or [(b"Content-Type", b"text/html; charset=utf-8")]
    with writer.group():
        loc = writer.write_response(url, status=200, headers=headers, payload=body)
        writer.write_request(
            url, headers=[(b"Host", b"www.xam.gov.cn")], concurrent_to=loc.record_id
        )
    return loc


def test_response_and_request_round_trip(tmp_path):
    body = gzip.compress(HTML.encode("utf-8"), mtime=0)
    url = "http://www.xam.gov.cn/xam/list.jsp?page=2&col=%E5%B9%B4%E6%8A%A5"
    gbk_name = "附件.pdf".encode("gbk")
    headers = [
        (b"Content-Type", b"text/html; charset=utf-8"),
        (b"Content-Encoding", b"gzip"),
        (b"Set-Cookie", b"a=1; Path=/"),
        (b"Set-Cookie", b"b=2; Path=/"),
        (b"Content-Disposition", b'attachment; filename="' + gbk_name + b'"'),
    ]
    layout = ArchiveLayout.open(tmp_path)
    with FrozenWriter(layout.warc_dir, warcinfo={"operator": "tests"}) as writer:
        with writer.group():
            resp = writer.write_response(
                url, status=200, headers=headers, payload=body, ip_address="127.0.0.1"
            )
            req = writer.write_request(
                url,
                headers=[(b"Host", b"www.xam.gov.cn"), (b"Accept-Encoding", b"gzip, deflate")],
                concurrent_to=resp.record_id,
            )
        assert writer.current_path is not None and writer.current_path.name.endswith(".open")
    [path] = writer.sealed
    assert path.name == resp.warc == req.warc and NAME_RE.match(path.name)
    assert not list(layout.warc_dir.glob("*.open"))
    assert warcio_check(path) == 0

    got = records(path)
    assert [r.rec_type for _, _, r, _ in got] == ["warcinfo", "response", "request"]
    info = got[0][3].decode()
    assert f"WARC-Filename: {path.name}" in got[0][2].rec_headers.to_str()
    assert "operator: tests" in info and "format: WARC File Format 1.1" in info

    (r_off, r_len, response, raw), (q_off, q_len, request, _) = got[1][:4], got[2][:4]
    assert (r_off, r_len, resp.record_id) == (
        resp.offset,
        resp.length,
        response.rec_headers["WARC-Record-ID"],
    )
    assert (q_off, q_len) == (req.offset, req.length)
    assert response.rec_headers.protocol == "WARC/1.1"
    assert response.rec_headers["WARC-Date"] == "2026-11-28T04:30:00Z"
    assert response.rec_headers["WARC-IP-Address"] == "127.0.0.1"
    # The body is stored exactly as received: still gzip, Content-Encoding kept.
    assert raw == body
    assert response.rec_headers["WARC-Payload-Digest"] == sha1_b32(body) == payload_digest(body)
    assert response.http_headers.get_statuscode() == "200"
    assert response.http_headers.protocol == "HTTP/1.1"
    assert response.http_headers.statusline == "200 OK"
    assert response.http_headers["Content-Encoding"] == "gzip"
    assert [v for k, v in response.http_headers.headers if k == "Set-Cookie"] == [
        "a=1; Path=/",
        "b=2; Path=/",
    ]
    # Non-ASCII header bytes are kept as received (warcio would %-encode them).
    with open(path, "rb") as fh:
        fh.seek(resp.offset)
        block = gzip.decompress(fh.read(resp.length))
    assert b'filename="' + gbk_name + b'"' in block
    assert response.rec_headers["WARC-Block-Digest"] == sha1_b32(
        block.split(b"\r\n\r\n", 1)[1][:-4]
    )

    assert request.rec_headers["WARC-Concurrent-To"] == resp.record_id
    assert request.rec_headers["WARC-Target-URI"] == url
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline == "/xam/list.jsp?page=2&col=%E5%B9%B4%E6%8A%A5 HTTP/1.1"

    # read_payload undoes the Content-Encoding.
    assert read_payload(layout, resp) == HTML.encode()
    with pytest.raises(ValueError, match="request record"):
        read_payload(layout, req)


def test_every_record_is_one_gzip_member(tmp_path):
    with FrozenWriter(tmp_path) as writer:
        for i in range(5):
            write_exchange(writer, f"http://www.xam.gov.cn/p{i}.html", f"page {i}".encode() * 50)
    [path] = writer.sealed
    members = gzip_members(path)
    offsets = [(off, length) for off, length, _, _ in records(path)]
    assert members == offsets and len(members) == 11
    data = path.read_bytes()
    for off, length in members:  # each member alone decompresses to exactly one record
        alone = gzip.decompress(data[off : off + length])
        assert alone.startswith(b"WARC/1.1\r\n") and alone.count(b"WARC/1.1\r\n") == 1


def test_frozen_writer_is_byte_for_byte_deterministic(tmp_path):
    outputs = []
    for run in ("a", "b"):
        with FrozenWriter(tmp_path / run) as writer:
            loc = write_exchange(writer, "http://www.xam.gov.cn/", HTML.encode())
            writer.write_conversion("http://www.xam.gov.cn/", "正文", refers_to=loc.record_id)
        outputs.append(writer.sealed[0])
    assert outputs[0].name == outputs[1].name
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_rotation_seals_several_files_each_with_warcinfo(tmp_path):
    sealed_events: list[Path] = []
    writer = FrozenWriter(tmp_path, max_size=3000, on_sealed=[sealed_events.append])
    locations = []
    for i in range(30):
        body = hashlib.sha256(str(i).encode()).hexdigest().encode() * 8  # barely compressible
        locations.append(write_exchange(writer, f"http://www.xam.gov.cn/p{i}.html", body))
        # Until sealed, the file being written only exists under its .open name.
        assert writer.current_path is not None and writer.current_path.exists()
        assert not (tmp_path / writer.current_name).exists()
    writer.close()

    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 4 and files == sorted(sealed_events) == sorted(writer.sealed)
    assert not list(tmp_path.glob("*.open"))
    assert warcio_check(*files) == 0
    serials = sorted(int(NAME_RE.match(f.name).group(2)) for f in files)
    assert serials == list(range(len(files)))
    for f in files:
        got = records(f)
        assert got[0][2].rec_type == "warcinfo"
        assert [r.rec_type for _, _, r, _ in got[1:]] == ["response", "request"] * (
            (len(got) - 1) // 2
        )
        # A file passes max_size only by the group that was already under way.
        assert f.stat().st_size <= 3000 + max(length for _, length, _, _ in got)
    for loc in locations:  # every location points at its response, in the file it names
        record, _ = read_record_at(tmp_path / loc.warc, loc.offset)
        assert record.rec_headers["WARC-Record-ID"] == loc.record_id


def test_revisit_profiles(tmp_path):
    url = "http://www.xam.gov.cn/a.html"
    body = HTML.encode()
    with FrozenWriter(tmp_path) as writer:
        original = write_exchange(writer, url, body)
        same = writer.write_revisit(
            url,
            status=200,
            headers=[(b"Content-Type", b"text/html"), (b"Content-Length", str(len(body)).encode())],
            refers_to_uri=url,
            refers_to_date="2026-11-01T00:00:00Z",
            refers_to=original.record_id,
            digest=payload_digest(body),
            profile=IDENTICAL,
        )
        not_modified = writer.write_revisit(
            url,
            status=304,
            headers=[(b"ETag", b'"v1"')],
            refers_to_uri=url,
            refers_to_date="2026-11-01T00:00:00Z",
            refers_to=original.record_id,
            digest=payload_digest(body),
            profile=NOT_MODIFIED,
        )
        with pytest.raises(ValueError):
            writer.write_revisit(
                url,
                status=200,
                headers=[],
                refers_to_uri=url,
                refers_to_date="x",
                digest="d",
                profile="bogus",
            )
    [path] = writer.sealed
    assert warcio_check(path) == 0
    by_id = {r.rec_headers["WARC-Record-ID"]: (r, raw) for _, _, r, raw in records(path)}
    for loc, profile, status in (
        (same, "identical-payload-digest", "200"),
        (not_modified, "server-not-modified", "304"),
    ):
        record, raw = by_id[loc.record_id]
        h = record.rec_headers
        assert record.rec_type == "revisit"
        assert h["WARC-Profile"] == f"http://netpreserve.org/warc/1.1/revisit/{profile}"
        assert h["WARC-Refers-To-Target-URI"] == url
        assert h["WARC-Refers-To-Date"] == "2026-11-01T00:00:00Z"
        assert h["WARC-Refers-To"] == original.record_id
        assert h["WARC-Payload-Digest"] == sha1_b32(body)
        assert record.http_headers.get_statuscode() == status
        assert raw == b""  # headers only
        assert int(h["Content-Length"]) == len(record.http_headers.to_bytes())


def test_metadata_and_conversion_refer_to_response(tmp_path):
    url = "http://www.xam.gov.cn/a.html"
    with FrozenWriter(tmp_path) as writer:
        resp = write_exchange(writer, url, HTML.encode())
        meta = writer.write_metadata(
            url,
            {
                "clicks": 1234,
                "published": "2022-01-21T18:27:17+08:00",
                "outlink": ["http://www.xam.gov.cn/b.html", "http://www.xam.gov.cn/c.pdf"],
                "note": "two\nlines",
                "skipped": None,
            },
            refers_to=resp.record_id,
        )
        conv = writer.write_conversion(
            url, "兴安盟公安局2021政府信息公开工作年度报告", refers_to=resp.record_id
        )
    [path] = writer.sealed
    assert warcio_check(path) == 0
    by_id = {r.rec_headers["WARC-Record-ID"]: (r, raw) for _, _, r, raw in records(path)}
    record, raw = by_id[meta.record_id]
    assert record.rec_type == "metadata"
    assert record.rec_headers["Content-Type"] == "application/warc-fields"
    assert record.rec_headers["WARC-Refers-To"] == resp.record_id
    assert raw.decode().splitlines() == [
        "clicks: 1234",
        "published: 2022-01-21T18:27:17+08:00",
        "outlink: http://www.xam.gov.cn/b.html",
        "outlink: http://www.xam.gov.cn/c.pdf",
        'note: "two\\nlines"',
    ]
    record, raw = by_id[conv.record_id]
    assert record.rec_type == "conversion"
    assert record.rec_headers["Content-Type"] == "text/plain; charset=utf-8"
    assert record.rec_headers["WARC-Refers-To"] == resp.record_id
    assert raw.decode("utf-8") == "兴安盟公安局2021政府信息公开工作年度报告"
    assert record.rec_headers["WARC-Block-Digest"] == sha1_b32(raw)


def test_group_is_never_split_by_rotation(tmp_path):
    writer = FrozenWriter(tmp_path, max_size=1)  # every group wants a new file
    for i in range(3):
        write_exchange(writer, f"http://www.xam.gov.cn/{i}", b"x" * 100)
    writer.close()
    for f in writer.sealed:
        assert [r.rec_type for _, _, r, _ in records(f)] == ["warcinfo", "response", "request"]
    assert len(writer.sealed) == 3


def test_dates_are_utc_and_must_be_aware():
    from datetime import timedelta, timezone

    china = timezone(timedelta(hours=8))
    assert warc_date(datetime(2026, 11, 28, 12, 30, 0, tzinfo=china)) == "2026-11-28T04:30:00Z"
    with pytest.raises(ValueError):
        warc_date(datetime(2026, 11, 28, 4, 30))


def test_nothing_written_leaves_no_file(tmp_path):
    writer = WarcFileWriter(tmp_path)
    writer.close()
    assert list(tmp_path.iterdir()) == [] and writer.sealed == []
