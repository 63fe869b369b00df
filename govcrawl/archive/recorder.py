"""Recording one HTTP exchange: WARC records plus a capture-index row.

``Recorder.record(exchange)`` applies the dedupe rule (``govcrawl.archive.dedupe.decide``),
writes a ``response`` or ``revisit`` record and the ``request`` right after it (one group, so
both reach the disk before the index row that points at them) and adds the capture row.

Server-not-modified revisits (a 304 to a conditional request) carry, as their HTTP block, the
original's status line and headers updated with the 304's (RFC 9111 §3.2), not the 304 itself:
WARC 1.1 §6.7.2 says such a block is to be read like a (truncated) ``response`` record, and
stock replay tools (pywb 2.10 ``ResolvingLoader``) serve a revisit's block status verbatim, so a
``304`` block replays as an empty page. The 304 stays visible in the capture index
(``http_status`` 304), in the record's WARC-Profile and in the request record's validators.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from govcrawl.archive.captures import Capture, CaptureIndex, CaptureRow
from govcrawl.archive.dedupe import IDENTICAL, NOT_MODIFIED, Decision, decide
from govcrawl.archive.reader import ArchivedRecord, RecordNotFound, RecordReader
from govcrawl.archive.warc import RecordLocation, WarcFileWriter, payload_digest, warc_date
from govcrawl.clock import clock

logger = logging.getLogger(__name__)

HeaderList = list[tuple[bytes, bytes]]

# RFC 9111 §3.2: fields a 304 must not replace in the stored response (they describe its body).
_KEEP_FROM_ORIGINAL = {
    b"content-length",
    b"content-encoding",
    b"content-type",
    b"content-range",
    b"transfer-encoding",
    b"x-archive-orig-transfer-encoding",
}


# WARC header of a response that is an anti-bot challenge page (a WARC extension field).
CHALLENGE_HEADER = "WARC-Govcrawl-Challenge"


@dataclass
class Exchange:
    """One downloaded response and the request that got it, as received.

    ``headers``/``request_headers``: (name, value) byte pairs in wire order, every value kept.
    ``body``: the entity body as received (chunking removed, Content-Encoding kept).
    ``truncated``: a WARC-Truncated reason (``length``, ``time``, ``disconnect``,
    ``unspecified``) when the body is incomplete, else None. ``challenge``: the name of the
    anti-bot challenge signature the response matched (written as CHALLENGE_HEADER, always in
    full: replay and the CDXJ index leave such records out), else None.
    """

    url: str
    status: int
    headers: HeaderList
    body: bytes
    method: str = "GET"
    request_headers: HeaderList = field(default_factory=list)
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    truncated: str | None = None
    challenge: str | None = None

    def header(self, name: bytes) -> str | None:
        lower = name.lower()
        value = next((v for k, v in self.headers if k.lower() == lower), None)
        return value.decode("latin-1") if value else None


@dataclass
class RecordStats:
    """What a recorder wrote (the crawl copies these into its stats)."""

    records: int = 0
    revisits: int = 0
    bytes: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Recorder:
    """Writes exchanges into ``writer`` and indexes them in ``index`` (thread-safe through both).

    ``reader`` reads the originals of server-not-modified revisits (for their headers);
    ``run_id`` tags the rows of this crawl run.
    """

    def __init__(
        self,
        writer: WarcFileWriter,
        index: CaptureIndex,
        reader: RecordReader,
        run_id: int | None = None,
    ) -> None:
        self.writer = writer
        self.index = index
        self.reader = reader
        self.run_id = run_id
        self.stats = RecordStats()

    def record(
        self, ex: Exchange, known_original: tuple[CaptureRow, ArchivedRecord] | None = None
    ) -> Capture:
        """Write one exchange, index it and return its Capture. ``known_original``: for a 304,
        the capture row the request's validators came from and its record, already read (used
        when it is the original this revisit refers to, else the original is read here)."""
        fetched_at = clock.now().replace(microsecond=0)
        fetched = warc_date(fetched_at)
        digest = payload_digest(ex.body)
        # Compare like with like: a 200 with the last 200 (not with the 503 a flaky server sent
        # in between), a 304 with the full 200 whose validators were sent.
        last = self.index.last_capture(ex.url, 200 if ex.status == 304 else ex.status)
        decision = decide(last, digest, ex.status)
        if ex.challenge:  # never a revisit: nothing may resolve to a challenge page
            decision = Decision("response", decision.status)
        original: CaptureRow | None = None
        if decision.is_revisit:
            assert decision.refers_to_digest is not None
            original = self.index.original_for(ex.url, decision.refers_to_digest)
            if original is None:
                logger.warning("no original response in the index for %s; writing in full", ex.url)
                decision = Decision("response", decision.status)
        not_modified = original is not None and decision.profile == NOT_MODIFIED
        status, headers = ex.status, _renamed_transfer_encoding(ex.headers)
        if not_modified and original is not None:
            status, headers = self._not_modified_block(original, headers, known_original)
        protocol = ex.protocol if ex.protocol.startswith("HTTP/1.") else "HTTP/1.1"

        with self.writer.group():
            if original is not None:
                loc = self.writer.write_revisit(
                    ex.url,
                    status=status,
                    headers=headers,
                    refers_to_uri=original.url,
                    refers_to_date=original.fetched,
                    refers_to=original.record_id,
                    digest=original.digest,
                    profile=decision.profile or IDENTICAL,
                    protocol=protocol,
                    date=fetched_at,
                    ip_address=ex.ip_address,
                )
            else:
                loc = self.writer.write_response(
                    ex.url,
                    status=status,
                    headers=headers,
                    payload=ex.body,
                    protocol=protocol,
                    date=fetched_at,
                    digest=digest,
                    ip_address=ex.ip_address,
                    truncated=ex.truncated,
                    warc_headers={CHALLENGE_HEADER: ex.challenge} if ex.challenge else None,
                )
            req_loc = self.writer.write_request(
                ex.url,
                method=ex.method,
                headers=ex.request_headers,
                body=ex.request_body,
                concurrent_to=loc.record_id,
                date=fetched_at,
            )

        etag = ex.header(b"ETag")
        last_modified = ex.header(b"Last-Modified")
        content_type = ex.header(b"Content-Type")
        if not_modified and original is not None:
            # A 304 may omit validators and type; they are still the original's.
            etag = etag or original.etag
            last_modified = last_modified or original.last_modified
            content_type = content_type or original.content_type
        capture_digest = original.digest if not_modified and original else digest
        size = original.size if not_modified and original else len(ex.body)
        record_type = "revisit" if original is not None else "response"
        capture_id = self.index.add_capture(
            url=ex.url,
            fetched=fetched,
            http_status=ex.status,
            digest=capture_digest,
            size=size,
            warc=loc.warc,
            offset=loc.offset,
            length=loc.length,
            record_type=record_type,
            status=decision.status,
            refers_to_id=original.id if original is not None else None,
            run_id=self.run_id,
            etag=etag,
            last_modified=last_modified,
            record_id=loc.record_id,
            content_type=content_type,
        )
        self.stats.records += 2
        self.stats.bytes += loc.length + req_loc.length
        self.stats.revisits += record_type == "revisit"
        self.stats.by_status[decision.status] = self.stats.by_status.get(decision.status, 0) + 1
        return Capture(
            url=ex.url,
            fetched=fetched,
            http_status=ex.status,
            digest=capture_digest,
            warc=loc.warc,
            offset=loc.offset,
            length=loc.length,
            record_type=record_type,
            status=decision.status,
            capture_id=capture_id,
        )

    def _not_modified_block(
        self,
        original: CaptureRow,
        headers_304: HeaderList,
        known: tuple[CaptureRow, ArchivedRecord] | None = None,
    ) -> tuple[int, HeaderList]:
        """(status, headers) for a server-not-modified revisit: the original's, updated by the
        304's header fields (RFC 9111 §3.2); the 304's own when the original is unreadable."""
        if known is not None and (known[0].warc, known[0].offset) == (
            original.warc,
            original.offset,
        ):
            rec = known[1]
        else:
            try:
                rec = self.reader.read(
                    original.warc, original.offset, original.length, payload=False
                )
            except RecordNotFound as exc:
                logger.warning("original of %s unreadable (%s); keeping the 304", original.url, exc)
                return 304, headers_304
        if rec.status is None:
            return 304, headers_304
        replaced = {k.lower() for k, _ in headers_304} - _KEEP_FROM_ORIGINAL
        merged = [(k, v) for k, v in rec.http_header_bytes() if k.lower() not in replaced]
        merged += [(k, v) for k, v in headers_304 if k.lower() in replaced]
        return rec.status, merged

    # -- records that describe a capture ---------------------------------------------------

    def _refers_to(self, capture: Capture) -> str:
        row = self.index.get(capture.capture_id) if capture.capture_id is not None else None
        if row is None or not row.record_id:
            raise ValueError(f"capture {capture.capture_id} of {capture.url} is not in the index")
        return row.record_id

    def write_capture_metadata(self, capture: Capture, fields: Mapping[str, Any]) -> RecordLocation:
        """A metadata record (e.g. clicks, published, outlinks) referring to ``capture``."""
        loc = self.writer.write_metadata(capture.url, fields, refers_to=self._refers_to(capture))
        self._count(loc)
        return loc

    def write_text_conversion(self, capture: Capture, text: str) -> RecordLocation:
        """A conversion record with the extracted text of ``capture``'s payload."""
        loc = self.writer.write_conversion(capture.url, text, refers_to=self._refers_to(capture))
        self._count(loc)
        return loc

    def _count(self, loc: RecordLocation) -> None:
        self.stats.records += 1
        self.stats.bytes += loc.length


def _renamed_transfer_encoding(headers: HeaderList) -> HeaderList:
    """The downloader removed the chunk framing: the stored payload is the de-chunked body, so a
    ``Transfer-Encoding: chunked`` header would make readers de-chunk it again. Kept under
    another name for the record."""
    return [
        (b"X-Archive-Orig-Transfer-Encoding", v)
        if k.lower() == b"transfer-encoding" and b"chunked" in v.lower()
        else (k, v)
        for k, v in headers
    ]
