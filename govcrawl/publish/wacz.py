"""WACZ 1.1.1 packages of an archive, and the project's own structural check of them.

Layout written (https://specs.webrecorder.net/wacz/1.1.1/):

    archive/<warc name>.warc.gz   STORED (already gzip per record; random access needs it raw)
    indexes/index.cdx.gz          CDXJ in gzip blocks of 1024 lines, STORED
    indexes/index.idx             the block index (ZipNum), DEFLATED
    pages/pages.jsonl             header line, then one line per report page (url, ts, title, text)
    datapackage.json              profile, wacz_version, resources with sha256 and bytes, relation
    datapackage-digest.json       sha256 of datapackage.json

The index is written with cdxj-indexer the way py-wacz's ``wacz create`` does it (sorted,
``post_append``, compressed blocks, per-record sha256). ``wacz create`` itself is not used: it
drops pages it cannot match silently, writes no pages.jsonl when none match, cannot add the
revisit relation to datapackage.json, writes the output in place, and importing py-wacz's
WACZIndexer appends "warcinfo" to cdxj-indexer's DEFAULT_RECORDS for the whole process.

Revisits and their originals (the choice made here): a WACZ must replay on its own, so by default
the WARCs that hold the originals of the selected WARCs' revisit records are included too. They
are found through each revisit's WARC-Refers-To-Target-URI/-Date and payload digest in the CDXJ
of the whole archive, repeated until no new WARC is needed, and listed in datapackage.json under
``relation.includedForRevisits``. With ``include_originals=False`` they are left out and listed
under ``relation.requires`` (WARC name, sha256, bytes) instead, so a reader knows which earlier
archive file to load alongside. Originals found nowhere in the archive are listed under
``relation.unresolvedRevisits``. A page whose URL has no line in the chosen WARCs (its crawl got
a 304, and 304 revisits are not indexed: see govcrawl.publish.cdxj) brings in the WARC of its latest
earlier capture, listed under ``relation.includedForPages``.

WARCs uploaded to a store and let go locally are packaged too: each WARC is streamed into the
zip through ``govcrawl.store.open_warc`` (local file, else one streaming GET; never whole in
memory), checked against the size and SHA-256 that ARCHIVE/store.json recorded at upload, and the
package's index is then built from the bytes inside the zip being written, read back through a
seekable window on the temporary file. So each WARC is read once, whether local or remote, and
the index describes exactly the bytes packaged. Revisit records are read by ranged reads at their
CDXJ offsets; the sha256 of a WARC listed under ``relation.requires`` comes from store.json when
the WARC lives only in the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import os
import struct
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, BinaryIO

import surt
from wacz.util import WACZ_VERSION
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp, timestamp_to_iso_date

from govcrawl.archive.layout import WARC_SUFFIX, ArchiveLayout
from govcrawl.publish.cdxj import (
    PUBLISHED_MODE,
    GovcrawlIndexer,
    archive_warcs,
    as_layout,
    index_archive,
    parse_line,
)
from govcrawl.store import open_warc, read_manifest

logger = logging.getLogger(__name__)

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
INDEX_BLOCK_LINES = 1024  # py-wacz's (and archiveweb.page's) block size
CHUNK = 1 << 20
SPOOL_MAX = 16 << 20  # index data kept in memory up to this size, then spilled to disk
# ZIP local file header (APPNOTE 4.3.7): signature, version, flags, method, time, date, crc-32,
# sizes, then the lengths of the file name and the extra field that precede the data.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _software() -> str:
    try:
        return f"govcrawl {version('govcrawl')} (cdxj-indexer {version('cdxj-indexer')})"
    except PackageNotFoundError:  # running from a source tree without metadata
        return "govcrawl"


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _urlkey(url: str) -> str:
    try:
        return surt.surt(url)
    except Exception:  # malformed URL: cdxj-indexer falls back to the URL too
        return url


# -- revisit originals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Revisit:
    warc: str
    url: str
    ts: str
    digest: str
    refers_to_url: str
    refers_to_ts: str | None


def _revisits_in(index_path: Path, layout: ArchiveLayout, names: set[str]) -> list[_Revisit]:
    """Revisit records of the named WARCs, found through the archive CDXJ (mime warc/revisit)
    and read at their offsets (ranged reads), so the WARCs are not decompressed end to end."""
    where: list[tuple[str, int, int | None]] = []
    with open(index_path, "rb") as fh:
        for line in fh:
            if b'"warc/revisit"' not in line:
                continue
            _, _, data = parse_line(line)
            if data.get("mime") == "warc/revisit" and data.get("filename") in names:
                length = int(data["length"]) if data.get("length") else None
                where.append((data["filename"], int(data["offset"]), length))
    found = []
    for name, offset, length in sorted(where):
        with contextlib.closing(open_warc(layout, name, offset, length)) as fh:
            record = next(iter(ArchiveIterator(fh)))
            h = record.rec_headers
            url = h.get_header("WARC-Target-URI") or ""
            ref_date = h.get_header("WARC-Refers-To-Date")
            found.append(
                _Revisit(
                    warc=name,
                    url=url,
                    ts=iso_date_to_timestamp(h.get_header("WARC-Date")),
                    digest=h.get_header("WARC-Payload-Digest") or "",
                    refers_to_url=h.get_header("WARC-Refers-To-Target-URI") or url,
                    refers_to_ts=iso_date_to_timestamp(ref_date) if ref_date else None,
                )
            )
    return found


Capture = tuple[str, str, str]  # (timestamp, payload digest, WARC name)


def _originals(
    index_path: Path, keys: set[str], digests: set[str]
) -> tuple[dict[str, list[Capture]], dict[str, list[Capture]]]:
    """Non-revisit captures in the archive CDXJ, by urlkey (of keys) and by digest (of digests)."""
    by_key: dict[str, list[Capture]] = {}
    by_digest: dict[str, list[Capture]] = {}
    if not (keys or digests) or not index_path.exists():
        return by_key, by_digest
    with open(index_path, "rb") as fh:
        for line in fh:
            key, ts, data = parse_line(line)
            if data.get("mime") == "warc/revisit":
                continue
            digest = data.get("digest", "")
            capture = (ts, digest, data["filename"])
            if key in keys:
                by_key.setdefault(key, []).append(capture)
            if digest in digests:
                by_digest.setdefault(digest, []).append(capture)
    return by_key, by_digest


def _pick_original(rev: _Revisit, candidates: list[Capture]) -> str | None:
    """The WARC holding the revisit's original: exact date first, else latest earlier capture."""
    same = [c for c in candidates if c[1] == rev.digest]
    if not same:
        return None
    exact = [c for c in same if c[0] == rev.refers_to_ts]
    if exact:
        return exact[0][2]
    earlier = sorted(c for c in same if c[0] <= rev.ts)
    return (earlier[-1] if earlier else sorted(same)[0])[2]


@dataclass
class _Selection:
    warcs: list[str]  # names, in archive order
    included_for_revisits: dict[str, int]  # name -> revisits it resolves
    requires: dict[str, int]
    unresolved: list[_Revisit]
    included_for_pages: dict[str, int] = field(default_factory=dict)


def _page_captures(
    index_path: Path, pages: list[dict[str, Any]], chosen: set[str]
) -> dict[str, int]:
    """WARCs to add so every page has a capture: name -> pages it serves.

    A page can lack a line in the chosen WARCs when that crawl got a 304 for it (such revisits
    are not indexed, see govcrawl.publish.cdxj); its latest capture at or before the page's time is
    then taken from the archive index.
    """
    wanted: dict[str, str] = {}
    for page in pages:
        if page.get("url"):
            ts = _page_ts(page)
            wanted[_urlkey(page["url"])] = iso_date_to_timestamp(ts) if ts else "99999999999999"
    best: dict[str, tuple[str, str]] = {}  # urlkey -> (ts, filename) of the capture to use
    covered: set[str] = set()
    with open(index_path, "rb") as fh:
        for line in fh:
            key = line.split(b" ", 1)[0].decode("utf-8")
            if key not in wanted:
                continue
            _, ts, data = parse_line(line)
            if data["filename"] in chosen:
                covered.add(key)
            elif ts <= wanted[key] and (key not in best or ts > best[key][0]):
                best[key] = (ts, data["filename"])
    added: dict[str, int] = {}
    for key, (_, name) in best.items():
        if key not in covered:
            added[name] = added.get(name, 0) + 1
    return added


def _select(layout: ArchiveLayout, chosen: list[str], include_originals: bool) -> _Selection:
    index_path = index_archive(layout)
    selected = list(dict.fromkeys(chosen))
    asked = set(selected)
    extra: dict[str, int] = {}
    unresolved: list[_Revisit] = []
    todo = list(selected)
    while todo:
        revisits = _revisits_in(index_path, layout, set(todo))
        todo = []
        by_key, by_digest = _originals(
            index_path, {_urlkey(r.refers_to_url) for r in revisits}, {r.digest for r in revisits}
        )
        for rev in revisits:
            # Same URL first (what pywb does); else any capture with that payload, which also
            # covers POST captures whose index key carries the request body.
            name = _pick_original(rev, by_key.get(_urlkey(rev.refers_to_url), []))
            if name is None:
                name = _pick_original(rev, by_digest.get(rev.digest, []))
            if name is None:
                unresolved.append(rev)
            elif name not in asked:
                extra[name] = extra.get(name, 0) + 1
                if include_originals and name not in selected:
                    selected.append(name)
                    todo.append(name)  # its own revisits may point further back
    if include_originals:
        return _Selection(sorted(selected), extra, {}, unresolved)
    return _Selection(sorted(selected), {}, extra, unresolved)


# -- writing --------------------------------------------------------------------------------


class _HashingWriter(io.RawIOBase):
    """Passes writes through while counting bytes and hashing them."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.sha.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)


class _Package:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.resources: list[dict[str, Any]] = []

    def _add(self, path: str, sha: str, size: int) -> None:
        name = os.path.basename(path).lower()
        self.resources.append({"name": name, "path": path, "hash": "sha256:" + sha, "bytes": size})

    @contextlib.contextmanager
    def open(self, path: str, compress: int, size: int | None = None) -> Iterator[_HashingWriter]:
        info = zipfile.ZipInfo(path, date_time=dt.datetime.now(dt.UTC).timetuple()[:6])
        info.compress_type = compress
        if size is not None:
            info.file_size = size  # lets zipfile choose ZIP64 up front for big WARCs
        with self.zf.open(info, "w") as raw:
            hw = _HashingWriter(raw)
            yield hw
        self._add(path, hw.sha.hexdigest(), hw.size)

    def write_bytes(self, path: str, data: bytes, compress: int = zipfile.ZIP_DEFLATED) -> None:
        with self.open(path, compress, len(data)) as out:
            out.write(data)

    def copy_warc(self, layout: ArchiveLayout, name: str, size: int, sha256: str | None) -> None:
        """Stream a WARC of the archive (local, else from the store) into archive/<name>,
        STORED; ``size`` and ``sha256`` ("sha256:<hex>", when known) must match what arrives."""
        path = "archive/" + name
        with (
            contextlib.closing(open_warc(layout, name)) as src,
            self.open(path, zipfile.ZIP_STORED, size) as out,
        ):
            while chunk := src.read(CHUNK):
                out.write(chunk)
        got = self.resources[-1]
        if got["bytes"] != size or (sha256 and got["hash"] != sha256):
            raise ValueError(
                f"WARC {name} read back as {got['bytes']} bytes {got['hash']}, "
                f"expected {size} bytes {sha256 or ''}".rstrip()
            )

    def member_reader(self, fh: BinaryIO, path: str) -> BinaryIO:
        """A seekable reader over a STORED member already written, on a separate read handle
        ``fh`` of the zip file (zipfile's own reader re-reads from the start on every backward
        seek, and cdxj-indexer seeks back once per record to digest it)."""
        info = self.zf.getinfo(path)
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{path} is not STORED")
        assert self.zf.fp is not None
        self.zf.fp.flush()  # the member's bytes may still sit in zipfile's write buffer
        fh.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
        if fields[0] != b"PK\x03\x04":
            raise ValueError(f"{path}: no local file header at {info.header_offset}")
        # The data follows the fixed header, the file name and the extra field.
        start = info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
        window = _Window(fh, start, info.file_size, os.path.basename(path))
        return io.BufferedReader(window, CHUNK)  # type: ignore[return-value]


class _Window(io.RawIOBase):
    """Bytes ``start`` .. ``start + size`` of a shared read handle, seekable, named."""

    def __init__(self, fh: BinaryIO, start: int, size: int, name: str) -> None:
        self._fh = fh
        self._start = start
        self._size = size
        self._pos = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        self._fh.seek(self._start + self._pos)
        n = self._fh.readinto(view[:want])  # type: ignore[attr-defined]
        self._pos += n
        return int(n)


def _write_index(pkg: _Package, warcs: list[BinaryIO]) -> set[str]:
    """indexes/index.cdx.gz (+ .idx) over the WARCs (seekable streams named by the WARC's base
    name); returns the urlkeys indexed."""
    keys: set[str] = set()
    with (
        tempfile.SpooledTemporaryFile(SPOOL_MAX, mode="w+t", encoding="utf-8") as idx,
        tempfile.SpooledTemporaryFile(SPOOL_MAX) as cdx,
    ):
        GovcrawlIndexer(
            idx,
            warcs,
            post_append=True,
            sort=True,
            compress=cdx,
            lines=INDEX_BLOCK_LINES,
            digest_records=True,
            data_out_name="index.cdx.gz",
        ).process_all()
        cdx.seek(0)
        with pkg.open("indexes/index.cdx.gz", zipfile.ZIP_STORED, cdx.seek(0, os.SEEK_END)) as out:
            cdx.seek(0)
            while chunk := cdx.read(CHUNK):
                out.write(chunk)
        cdx.seek(0)
        with gzip.GzipFile(
            fileobj=cdx, mode="rb"
        ) as lines:  # the blocks are gzip members back to back
            for line in lines:
                keys.add(line.split(b" ", 1)[0].decode("utf-8"))
        idx.seek(0)
        pkg.write_bytes("indexes/index.idx", idx.read().encode("utf-8"))
    return keys


def _page_ts(page: dict[str, Any]) -> str | None:
    value = page.get("ts") or page.get("fetched")
    if not value:
        return None
    value = str(value)
    if value.isdigit():
        return timestamp_to_iso_date(value)
    # Normalise to RFC 3339 UTC without fractions, as reports.jsonl writes it.
    return timestamp_to_iso_date(iso_date_to_timestamp(value))


def _pages_jsonl(pages: list[dict[str, Any]], indexed: set[str]) -> bytes:
    lines = [json.dumps(PAGES_HEADER, ensure_ascii=False)]
    for page in pages:
        url = page.get("url")
        if not url:
            logger.warning("page without url left out of pages.jsonl: %r", page)
            continue
        if _urlkey(url) not in indexed:
            logger.warning("page %s has no capture in the WACZ; left out of pages.jsonl", url)
            continue
        ts = _page_ts(page)
        entry: dict[str, Any] = {
            "id": hashlib.sha1(f"{ts} {url}".encode()).hexdigest()[:16],
            "url": url,
            "ts": ts,
        }
        if page.get("title"):
            entry["title"] = page["title"]
        if page.get("text"):
            entry["text"] = page["text"]
        lines.append(json.dumps(entry, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _warc_names(
    layout: ArchiveLayout, warcs: Iterable[str | os.PathLike[str]], known: dict[str, int]
) -> list[str]:
    names = []
    for w in warcs:
        name = Path(w).name
        if not name.endswith(WARC_SUFFIX) or name not in known:
            raise ValueError(f"not a sealed WARC of {layout.root}: {w}")
        names.append(name)
    return names


def _stored_digest(layout: ArchiveLayout, name: str) -> tuple[str, int] | None:
    """("sha256:<hex>", size) that store.json recorded (and the store confirmed) for a WARC
    that lives only in the store; None for a local WARC."""
    if layout.warc_path(name).is_file():
        return None
    entry = read_manifest(layout)["objects"].get(f"warc/{name}") or {}
    if not entry.get("sha256"):
        return None
    return str(entry["sha256"]), int(entry["size"])


def build_wacz(
    layout: ArchiveLayout | str | os.PathLike[str],
    out: Path,
    pages: list[dict[str, Any]],
    *,
    warcs: Iterable[str | os.PathLike[str]] | None = None,
    include_originals: bool = True,
    title: str | None = None,
    description: str | None = None,
) -> Path:
    """Package WARCs of the archive as a WACZ at ``out`` (temp name, then rename).

    ``warcs``: WARC names (or paths) of the archive to package, local or uploaded to the store;
    default all sealed WARCs. The WARCs named by the pages' ``warc`` keys are added, and the
    WARCs holding the originals of revisit records (see the module docstring). ``pages``: report
    records (url, fetched or ts, title, text); pages with no capture in the package are logged
    and left out.
    """
    layout = as_layout(layout)
    out = Path(out)
    known = archive_warcs(layout)
    if warcs is None:
        chosen = sorted(known)
    else:
        chosen = _warc_names(layout, warcs, known)
    for page in pages:
        name = page.get("warc")
        if name and str(name) in known and name not in chosen:
            chosen.append(str(name))
    if not chosen:
        raise ValueError(f"no sealed WARC to package in {layout.warc_dir} or its store")
    for_pages = _page_captures(index_archive(layout), pages, set(chosen))
    sel = _select(layout, chosen + sorted(set(for_pages) - set(chosen)), include_originals)
    sel.included_for_pages = for_pages

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix="." + out.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf, open(tmp, "rb") as reread:
            pkg = _Package(zf)
            # WARCs first, each read once; the index is then made from the packaged bytes.
            for name in sel.warcs:
                stored = _stored_digest(layout, name)
                pkg.copy_warc(layout, name, known[name], stored[0] if stored else None)
            with contextlib.ExitStack() as readers:
                indexed = _write_index(
                    pkg,
                    [
                        readers.enter_context(pkg.member_reader(reread, "archive/" + name))
                        for name in sel.warcs
                    ],
                )
            pkg.write_bytes("pages/pages.jsonl", _pages_jsonl(pages, indexed))
            datapackage = _datapackage(layout, pkg.resources, sel, pages, title, description)
            pkg.zf.writestr(
                zipfile.ZipInfo("datapackage.json", dt.datetime.now(dt.UTC).timetuple()[:6]),
                datapackage,
                compress_type=zipfile.ZIP_DEFLATED,
            )
            digest = {
                "path": "datapackage.json",
                "hash": "sha256:" + hashlib.sha256(datapackage).hexdigest(),
            }
            pkg.zf.writestr(
                zipfile.ZipInfo("datapackage-digest.json", dt.datetime.now(dt.UTC).timetuple()[:6]),
                json.dumps(digest, indent=2).encode(),
                compress_type=zipfile.ZIP_DEFLATED,
            )
        os.chmod(tmp, PUBLISHED_MODE)  # mkstemp makes 0600; web servers run as other users
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    logger.info("wrote %s: %d WARC file(s), %d page(s)", out, len(sel.warcs), len(pages))
    return out


def _warc_sha256(layout: ArchiveLayout, name: str) -> tuple[str, int]:
    """(sha256 hex, size) of a WARC: from store.json when it lives only in the store (the
    store confirmed both at upload), else read from the local file."""
    stored = _stored_digest(layout, name)
    if stored:
        return stored[0].split(":", 1)[1], stored[1]
    sha = hashlib.sha256()
    size = 0
    with contextlib.closing(open_warc(layout, name)) as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _datapackage(
    layout: ArchiveLayout,
    resources: list[dict[str, Any]],
    sel: _Selection,
    pages: list[dict[str, Any]],
    title: str | None,
    description: str | None,
) -> bytes:
    now = _now_rfc3339()
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title or "govcrawl archive",
        "created": now,
        "modified": now,
        "software": _software(),
        "resources": resources,
    }
    if description:
        package["description"] = description
    first = next((p for p in pages if p.get("url")), None)
    if first:
        package["mainPageUrl"] = first["url"]
        ts = _page_ts(first)
        if ts:
            package["mainPageDate"] = ts
    relation: dict[str, Any] = {
        "includedForPages": [
            {"path": "archive/" + name, "pages": n}
            for name, n in sorted(sel.included_for_pages.items())
        ],
        "includedForRevisits": [
            {"path": "archive/" + name, "revisits": n}
            for name, n in sorted(sel.included_for_revisits.items())
        ],
        "requires": [],
        "unresolvedRevisits": [
            {
                "url": r.url,
                "ts": r.ts,
                "digest": r.digest,
                "warc": r.warc,
                "refersToUrl": r.refers_to_url,
                "refersToTs": r.refers_to_ts,
            }
            for r in sel.unresolved
        ],
    }
    for name, n in sorted(sel.requires.items()):
        sha, size = _warc_sha256(layout, name)
        relation["requires"].append(
            {"warc": name, "hash": "sha256:" + sha, "bytes": size, "revisits": n}
        )
    package["relation"] = relation
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")


# -- checking -------------------------------------------------------------------------------


def _rfc3339(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _index_lines_of(zf: zipfile.ZipFile, names: set[str], problems: list[str]) -> list[bytes]:
    """All CDXJ lines of the package's indexes (plain .cdxj/.cdx or ZipNum .cdx.gz + .idx)."""
    lines: list[bytes] = []
    for name in sorted(n for n in names if n.startswith("indexes/")):
        if name.endswith(".cdx.gz"):
            data = zf.read(name)
            idx_name = name[: -len(".cdx.gz")] + ".idx"
            if idx_name in names:
                blocks = []
                for raw in zf.read(idx_name).splitlines():
                    if not raw or raw.startswith(b"!meta"):
                        continue
                    _, _, meta = parse_line(raw)
                    blocks.append((int(meta["offset"]), int(meta["length"]), raw))
                keys = [b[2].split(b" {", 1)[0] for b in blocks]
                if keys != sorted(keys):
                    problems.append(f"{idx_name}: block index not sorted")
                for offset, length, _raw in blocks:
                    try:
                        lines.extend(gzip.decompress(data[offset : offset + length]).splitlines())
                    except (OSError, EOFError) as exc:
                        problems.append(f"{idx_name}: block at {offset} does not decompress: {exc}")
            else:
                try:
                    lines.extend(gzip.decompress(data).splitlines())
                except (OSError, EOFError) as exc:
                    problems.append(f"{name}: does not decompress: {exc}")
        elif name.endswith((".cdxj", ".cdx")):
            lines.extend(zf.read(name).splitlines())
    return [line for line in lines if line and not line.startswith(b"!")]


def check_wacz(path: Path) -> list[str]:
    """Structural problems of a WACZ file; an empty list when it is sound.

    Checks: required files and folders; every datapackage resource present with matching
    sha256 and size, and every file listed; datapackage-digest.json matches; archive/ WARCs and
    .cdx.gz indexes STORED; the CDXJ parses and is sorted bytewise, its lines name packaged
    WARCs; pages.jsonl has the header and parseable pages whose URLs have a capture; every
    revisit has its original in the package unless datapackage.json declares it missing.
    """
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"not a readable zip file: {exc}"]
    with zf:
        infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
        names = set(infos)
        warcs = sorted(n for n in names if n.startswith("archive/"))
        for required in ("datapackage.json", "datapackage-digest.json", "pages/pages.jsonl"):
            if required not in names:
                problems.append(f"missing {required}")
        if not any(n.endswith((".warc", ".warc.gz")) for n in warcs):
            problems.append("missing archive/ folder with WARC files")
        index_names = [n for n in names if n.startswith("indexes/")]
        if not any(n.endswith((".cdx.gz", ".cdxj", ".cdx")) for n in index_names):
            problems.append("missing indexes/ folder with a CDXJ index")

        for n in warcs:
            if infos[n].compress_type != zipfile.ZIP_STORED:
                problems.append(f"{n} is compressed in the zip (must be STORED)")
            if not n.endswith((".warc", ".warc.gz")):
                problems.append(f"{n}: unexpected file in archive/")
        for n in index_names:
            if n.endswith(".cdx.gz") and infos[n].compress_type != zipfile.ZIP_STORED:
                problems.append(f"{n} is compressed in the zip (must be STORED)")

        package: dict[str, Any] = {}
        if "datapackage.json" in names:
            raw_package = zf.read("datapackage.json")
            try:
                package = json.loads(raw_package)
            except ValueError as exc:
                problems.append(f"datapackage.json does not parse: {exc}")
            if "datapackage-digest.json" in names:
                try:
                    digest = json.loads(zf.read("datapackage-digest.json"))
                    want = "sha256:" + hashlib.sha256(raw_package).hexdigest()
                    if digest.get("path") != "datapackage.json" or digest.get("hash") != want:
                        problems.append("datapackage-digest.json does not match datapackage.json")
                except ValueError as exc:
                    problems.append(f"datapackage-digest.json does not parse: {exc}")
        if package:
            if package.get("profile") != "data-package":
                problems.append("datapackage.json: profile is not data-package")
            if not package.get("wacz_version"):
                problems.append("datapackage.json: wacz_version missing")
            listed = set()
            for res in package.get("resources") or []:
                rpath = res.get("path")
                listed.add(rpath)
                if rpath not in names:
                    problems.append(f"datapackage.json lists {rpath}, not in the zip")
                    continue
                sha = hashlib.sha256()
                size = 0
                with zf.open(rpath) as fh:
                    while chunk := fh.read(CHUNK):
                        sha.update(chunk)
                        size += len(chunk)
                if res.get("hash") != "sha256:" + sha.hexdigest():
                    problems.append(f"{rpath}: sha256 does not match datapackage.json")
                if res.get("bytes") != size:
                    problems.append(
                        f"{rpath}: size {size} != {res.get('bytes')} in datapackage.json"
                    )
            for n in sorted(names - listed - {"datapackage.json", "datapackage-digest.json"}):
                problems.append(f"{n} is not listed in datapackage.json")

        lines = _index_lines_of(zf, names, problems)
        if lines != sorted(lines):
            problems.append("CDXJ index is not sorted bytewise")
        keys: set[str] = set()
        originals: set[str] = set()  # payload digests of non-revisit captures
        revisits: list[tuple[str, str, str]] = []
        for line in lines:
            try:
                key, ts, data = parse_line(line)
            except ValueError:
                problems.append(f"CDXJ line does not parse: {line[:120]!r}")
                continue
            keys.add(key)
            if "archive/" + str(data.get("filename")) not in names:
                problems.append(f"CDXJ line names a WARC not in archive/: {data.get('filename')}")
            if data.get("mime") == "warc/revisit":
                revisits.append((key, ts, data.get("digest", "")))
            else:
                originals.add(data.get("digest", ""))

        relation = package.get("relation") or {}
        declared = {
            (_urlkey(r.get("url", "")), r.get("ts")) for r in relation.get("unresolvedRevisits", [])
        }
        requires = relation.get("requires") or []
        for key, ts, digest in revisits:
            # By digest alone: a revisit may refer to a capture of another URL.
            if digest in originals or (key, ts) in declared:
                continue
            if requires:
                continue  # originals are declared to live in the required WARCs
            problems.append(
                f"revisit {key} {ts} has no original in the package and none is declared"
            )

        if "pages/pages.jsonl" in names:
            raw_pages = zf.read("pages/pages.jsonl").decode("utf-8", "replace").splitlines()
            if not raw_pages:
                problems.append("pages/pages.jsonl is empty (needs a header line)")
            for lineno, text in enumerate(raw_pages, 1):
                try:
                    obj = json.loads(text)
                except ValueError:
                    problems.append(f"pages/pages.jsonl line {lineno} does not parse")
                    continue
                if lineno == 1:
                    if obj.get("format") != "json-pages-1.0" or "id" not in obj:
                        problems.append(
                            "pages/pages.jsonl: first line is not a json-pages-1.0 header"
                        )
                    continue
                url, ts = obj.get("url"), obj.get("ts")
                if not url or not _rfc3339(ts):
                    problems.append(
                        f"pages/pages.jsonl line {lineno}: needs url and an RFC 3339 ts"
                    )
                elif _urlkey(url) not in keys:
                    problems.append(
                        f"pages/pages.jsonl line {lineno}: {url} has no capture in the index"
                    )
    return problems
