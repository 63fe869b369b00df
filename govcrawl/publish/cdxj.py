"""CDXJ index of an archive's WARC files, built with cdxj-indexer.

Lines are ``<surt urlkey> <14-digit timestamp> {json}`` with url, mime, status, digest, length,
offset and filename (the WARC's file name inside ARCHIVE/warc/), sorted bytewise so pywb and
ReplayWeb.page can binary-search them.

What is indexed: response, revisit and resource records (revisits carry mime ``warc/revisit``),
except anti-bot challenge pages (``WARC-Govcrawl-Challenge``: replay would show them in the page's
place) and server-not-modified revisits whose HTTP status is 304: pywb 2.10 replays such a record
as an empty 304 (it takes status and headers from the revisit, and skips the payload of any 3xx),
so a browser shows a blank page. Instead the 304 gets a line at its own time that points at the
full response it confirmed (same URL and payload digest): replay at that time shows that content,
not a nearer capture such as a retried error page. The 304 record stays in its WARC and in the
capture index (``govcrawl history``).
Request records get no line of their own: cdxj-indexer (with ``post_append``) reads each request
next to its response only to append the method and body of POST/PUT captures to the urlkey, the
way pywb looks them up. warcinfo, metadata and conversion records are left out on purpose: the
project's metadata records share the page's target URI, and a line for them would compete with the
response in replay.

The archive index (ARCHIVE/indexes/index.cdxj) is brought up to date incrementally: WARCs are
immutable once sealed, so only sealed WARCs not yet named in the index are indexed and merged in;
a full rebuild happens when the index is missing or names a WARC that is gone. Writers take an
flock on ARCHIVE/indexes/.index.lock and replace the index by rename, so readers (pywb opens the
file per lookup) never see a partial index.

The archive's WARCs are those in ARCHIVE/warc/ and those uploaded to a store and let go locally
(``govcrawl.store.warc_names``: ARCHIVE/store.json lists them). Uploaded WARCs are read through
``govcrawl.store.open_warc``, a streaming GET that is indexed as it arrives, never held whole
in memory; offsets and lengths count from the start of the object, which is the original file
byte for byte (the store confirmed its size and SHA-256 before the local copy went).
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from cdxj_indexer.main import CDXJIndexer

from govcrawl.archive.layout import WARC_SUFFIX, ArchiveLayout
from govcrawl.archive.recorder import CHALLENGE_HEADER
from govcrawl.store import open_warc, read_manifest, warc_names
from govcrawl.store.stores import is_unreachable

logger = logging.getLogger(__name__)

# Record types that get an index line (see module docstring for why not metadata/request).
INDEXED_RECORDS = "response,revisit,resource"
LOCK_NAME = ".index.lock"
# Published files (CDXJ, WACZ) are world-readable: replay tools often run as another user.
PUBLISHED_MODE = 0o644
MERGE_FANOUT = 128  # sorted runs merged at once (open files)
_FILENAME_RX = re.compile(rb'"filename": "((?:[^"\\]|\\.)*)"')

# (index path, WARC name, size) of sealed WARCs that produced no index line.
_lineless: set[tuple[str, str, int]] = set()
# index path -> store-only WARC names the last call could not read (one warning per change).
_unreadable_seen: dict[str, frozenset[str]] = {}
# index path -> (stat signature, WARC names it covers): spares re-reading a large index on every
# poll of the replay watcher while nobody has replaced the file.
_covered_cache: dict[str, tuple[tuple[int, int, int], frozenset[str]]] = {}


def as_layout(layout: ArchiveLayout | str | os.PathLike[str]) -> ArchiveLayout:
    """Accept an ArchiveLayout or a plain archive directory; the root is made absolute, since
    pywb and other children run in other working directories."""
    if isinstance(layout, ArchiveLayout):
        return layout if layout.root.is_absolute() else ArchiveLayout(layout.root.absolute())
    return ArchiveLayout(Path(layout).expanduser().absolute())


def archive_warcs(layout: ArchiveLayout) -> dict[str, int]:
    """Every sealed WARC of the archive, local or uploaded, with its size in bytes.

    Local files win (their size is stat'ed); uploaded ones take the size the store confirmed,
    recorded in ARCHIVE/store.json.
    """
    sizes: dict[str, int] = {}
    objects = read_manifest(layout)["objects"]
    for name in warc_names(layout):
        if not name.endswith(WARC_SUFFIX):
            continue
        try:
            sizes[name] = layout.warc_path(name).stat().st_size
        except FileNotFoundError:
            entry = objects.get(f"warc/{name}")
            if entry is None:  # shipped and recorded between the two looks: read it again
                entry = read_manifest(layout)["objects"].get(f"warc/{name}", {})
            sizes[name] = int(entry.get("size", -1))
    return sizes


# A WARC to index: its file name (written into the lines) and how to open it from byte 0.
WarcSource = tuple[str, Callable[[], BinaryIO]]


def _path_source(path: Path) -> WarcSource:
    return Path(path).name, lambda: open(path, "rb")


def _archive_source(layout: ArchiveLayout, name: str) -> WarcSource:
    # Local file when present, else a streaming GET of the whole object from the store.
    return name, lambda: open_warc(layout, name)


class GovcrawlIndexer(CDXJIndexer):
    """cdxj-indexer with the project's record selection (see the module docstring)."""

    def __init__(self, output: Any, inputs: Any, **kwargs: Any) -> None:
        kwargs.setdefault("records", INDEXED_RECORDS)
        super().__init__(output, inputs, **kwargs)
        self.not_modified: list[tuple[str, str, str]] = []  # (urlkey, 14-digit ts, digest)

    def _resolve_rel_path(self, filename: Any) -> str:
        # Inputs may be open streams (WARCs read from a store or from inside a WACZ being
        # written): lines name them by the stream's ``name``, the WARC's base name.
        if hasattr(filename, "read"):
            return os.path.basename(str(filename.name))
        return str(super()._resolve_rel_path(filename))

    def _create_record_iter(self, input_: Any) -> Any:
        # cdxj-indexer copies every record's *decoded* payload to a temporary file, only to read
        # request bodies (POST/PUT urlkeys) later: a gzip bomb would inflate to disk. Responses
        # and the rest are indexed from their headers; their content stream is left unread
        # (warcio then skips the raw bytes without decompressing them).
        it = super()._create_record_iter(input_)
        it.the_iter = (_unbuffered(record) for record in it.the_iter)
        return it

    def filter_record(self, record: Any) -> bool:
        if not super().filter_record(record):
            return False
        if record.rec_headers.get_header(CHALLENGE_HEADER):
            return False  # an anti-bot challenge page must never replay in the page's place
        if (
            record.rec_type == "revisit"
            and record.http_headers is not None
            and record.http_headers.get_statuscode() == "304"
        ):
            # Indexed later as the original it confirmed, at the 304's time (module docstring).
            url = record.rec_headers.get_header("WARC-Target-URI")
            self.not_modified.append(
                (
                    self.get_url_key(url),
                    _ts14(record.rec_headers.get_header("WARC-Date")),
                    record.rec_headers.get_header("WARC-Payload-Digest"),
                )
            )
            return False
        return True


def _unbuffered(record: Any) -> Any:
    if record.rec_type != "request":
        record.content_stream = _EMPTY_STREAM
    return record


def _EMPTY_STREAM() -> io.BytesIO:
    return io.BytesIO(b"")


def _warc_lines(
    source: WarcSource, pending: list[tuple[str, str, str]] | None = None
) -> list[bytes]:
    """Sorted CDXJ lines (bytes, newline-terminated) of one WARC, via cdxj-indexer.

    The stream is read once from its first byte; warcio counts offsets itself when the stream
    cannot tell() (a store's response body), so they are the original file's offsets.
    """
    name, opener = source
    out = io.StringIO()
    with contextlib.closing(opener()) as fh:
        indexer = GovcrawlIndexer(
            out,
            [fh],
            post_append=True,
            filename=name,  # lines name the WARC by its base name
        )
        indexer.process_all()
    lines = [line.encode("utf-8") + b"\n" for line in out.getvalue().splitlines()]
    lines.sort()
    if pending is not None:
        pending.extend(indexer.not_modified)
    return lines


def _ts14(warc_date: str) -> str:
    return re.sub(r"\D", "", warc_date)[:14]


def _confirmed_lines(pending: list[tuple[str, str, str]], sources: list[Path]) -> list[bytes]:
    """For each 304 (urlkey, ts, digest): a line at the 304's time pointing at the full response
    it confirmed (same URL and payload digest, the latest one captured before it)."""
    wanted: dict[str, list[tuple[str, str]]] = {}
    for urlkey, ts, digest in pending:
        wanted.setdefault(urlkey, []).append((ts, digest))
    best: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}
    for line in _merge_files(sources):
        urlkey, ts, blob = line.decode("utf-8").rstrip("\n").split(" ", 2)
        if urlkey not in wanted:
            continue
        fields = json.loads(blob)
        if fields.get("mime") == "warc/revisit" or fields.get("status") != "200":
            continue
        for ts304, digest in wanted[urlkey]:
            if fields.get("digest") == digest and ts <= ts304:
                key = (urlkey, ts304, digest)
                if key not in best or best[key][0] <= ts:
                    best[key] = (ts, fields)
    return sorted(
        f"{urlkey} {ts304} {json.dumps(fields)}\n".encode()
        for (urlkey, ts304, _digest), (_ts, fields) in best.items()
    )


def _sorted_unique(lines: Iterable[bytes]) -> Iterator[bytes]:
    last = None
    for line in lines:
        if line != last:
            yield line
        last = line


def _write_atomic(out_path: Path, lines: Iterable[bytes]) -> int:
    """Write lines to a temp file beside out_path, fsync, rename; return the number written."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix="." + out_path.name + ".", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for line in lines:
                fh.write(line)
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, PUBLISHED_MODE)  # mkstemp makes 0600; pywb may run as another user
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return count


def _merge_files(paths: list[Path]) -> Iterator[bytes]:
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(p, "rb")) for p in paths]
        yield from _sorted_unique(heapq.merge(*files))


def _merge_into(
    out_path: Path,
    warcs: list[WarcSource],
    sorted_inputs: list[Path],
    unreadable: dict[str, str] | None = None,
    layout: ArchiveLayout | None = None,
) -> dict[str, int]:
    """Index the WARCs and merge with already sorted CDXJ files into out_path (atomically).

    Memory holds one WARC's lines at a time: each WARC becomes a sorted run on disk, and the
    runs are merged (in rounds when there are many). Returns lines per WARC name.

    With ``unreadable`` (a dict) and ``layout``, a WARC that is not in ARCHIVE/warc/ and cannot
    be read from its store is left out and recorded there (name -> reason) instead of failing
    the whole index; once the store looks unreachable the remaining store-only WARCs are left
    out without trying (each try would only time out again).
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    per_warc: dict[str, int] = {}
    down: str | None = None
    pending: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".cdxj-runs-") as tmp:
        runs: list[Path] = []
        for n, warc in enumerate(warcs):
            store_only = layout is not None and not layout.warc_path(warc[0]).exists()
            if store_only and unreadable is not None and down is not None:
                unreadable[warc[0]] = down
                continue
            try:
                lines = _warc_lines(warc, pending)
            except Exception as exc:
                if not store_only or unreadable is None:
                    raise
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                unreadable[warc[0]] = reason
                if is_unreachable(exc):
                    down = reason
                continue
            per_warc[warc[0]] = len(lines)
            run = Path(tmp) / f"run-{n}"
            run.write_bytes(b"".join(lines))
            runs.append(run)
        if pending:
            confirmed = Path(tmp) / "confirmed-304"
            confirmed.write_bytes(b"".join(_confirmed_lines(pending, sorted_inputs + runs)))
            runs.append(confirmed)
        round_no = 0
        while len(runs) + len(sorted_inputs) > MERGE_FANOUT:
            round_no += 1
            merged = []
            for i in range(0, len(runs), MERGE_FANOUT):
                dest = Path(tmp) / f"merge-{round_no}-{i}"
                with open(dest, "wb") as fh:
                    fh.writelines(_merge_files(runs[i : i + MERGE_FANOUT]))
                merged.append(dest)
            runs = merged
        count = _write_atomic(out_path, _merge_files(sorted_inputs + runs))
    logger.info("indexed %d WARC file(s) into %s (%d lines in all)", len(per_warc), out_path, count)
    return per_warc


def build_index(warc_paths: list[Path], out_path: Path) -> int:
    """Index the WARCs into a bytewise-sorted CDXJ file (temp name, then rename).

    Filenames in the lines are the WARCs' base names. Returns the number of lines written.
    """
    out_path = Path(out_path)
    _merge_into(out_path, [_path_source(Path(p)) for p in warc_paths], [])
    with open(out_path, "rb") as fh:
        return sum(1 for _ in fh)


def covered_warcs(index_path: Path) -> frozenset[str]:
    """WARC file names that have at least one line in a CDXJ index (empty if it is missing)."""
    try:
        st = os.stat(index_path)
    except FileNotFoundError:
        return frozenset()
    sig = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _covered_cache.get(str(index_path))
    if cached and cached[0] == sig:
        return cached[1]
    names: set[str] = set()
    with open(index_path, "rb") as fh:
        for line in fh:
            m = _FILENAME_RX.search(line)
            if m:
                names.add(json.loads(b'"' + m.group(1) + b'"'))
    result = frozenset(names)
    _covered_cache[str(index_path)] = (sig, result)
    return result


@contextlib.contextmanager
def _index_lock(layout: ArchiveLayout) -> Iterator[None]:
    layout.indexes_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.indexes_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the flock


def index_archive(layout: ArchiveLayout | str | os.PathLike[str], *, full: bool = False) -> Path:
    """Bring ARCHIVE/indexes/index.cdxj in step with the archive's sealed WARCs.

    The WARCs are the sealed ARCHIVE/warc/*.warc.gz files and the ones uploaded to the store
    (read back through ``open_warc``). ``.open`` files (still being written) are never indexed.
    Incremental unless ``full`` is set, the index is missing, or it names WARCs that no longer
    exist anywhere. Returns the index path.
    """
    layout = as_layout(layout)
    index_path = layout.cdxj_path
    with _index_lock(layout):
        sealed = archive_warcs(layout)
        covered = covered_warcs(index_path) | {
            name
            for key, name, size in _lineless
            if key == str(index_path) and sealed.get(name) == size
        }
        unreadable: dict[str, str] = {}
        if full or not index_path.exists() or not covered <= sealed.keys():
            build = [_archive_source(layout, n) for n in sorted(sealed)]
            _merge_into(index_path, build, [], unreadable, layout)
        else:
            new = sorted(set(sealed) - covered)
            if new:
                per_warc = _merge_into(
                    index_path,
                    [_archive_source(layout, n) for n in new],
                    [index_path],
                    unreadable,
                    layout,
                )
                # A WARC with no indexable record (only warcinfo) has no line to show it was
                # seen; remember it so polls do not index it again.
                for name, count in per_warc.items():
                    if not count:
                        _lineless.add((str(index_path), name, sealed[name]))
        _covered_cache.pop(str(index_path), None)
    # Not named in the index, the unreadable WARCs are tried again by the next index_archive
    # (crawl, replay poll, `govcrawl index`); warn once per change, not on every replay poll.
    previous = _unreadable_seen.get(str(index_path), frozenset())
    _unreadable_seen[str(index_path)] = frozenset(unreadable)
    if unreadable and frozenset(unreadable) != previous:
        logger.warning(
            "%d WARC file(s) in the store could not be read and are not indexed yet (%s); "
            "run `govcrawl index` when the store answers",
            len(unreadable),
            next(iter(unreadable.values())),
        )
    return index_path


def iter_index(index_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Parse a CDXJ file: (urlkey, timestamp, fields) per line."""
    with open(index_path, "rb") as fh:
        for line in fh:
            yield parse_line(line)


def parse_line(line: bytes | str) -> tuple[str, str, dict[str, str]]:
    if isinstance(line, bytes):
        line = line.decode("utf-8")
    urlkey, ts, data = line.rstrip("\n").split(" ", 2)
    return urlkey, ts, json.loads(data)
