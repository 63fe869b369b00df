"""One crawl into one archive: lock, recovery, the capture index, WARC writing, the run summary.

``CrawlRun`` is the run itself, without Scrapy: ``start()`` opens the archive folder, takes its
lock, opens the capture index, repairs what a killed crawl left (``govcrawl.archive.recovery``)
and records the run; ``open_recorder()`` starts the WARC files; ``finish()`` brings the CDXJ index
up to date, writes ``ARCHIVE/runs/<ts>.json``, closes the run row, ships what is left to the
store and lets the lock go.

The Scrapy side (crawler/run.py) starts one run per crawler and registers it with
``attach(crawler, run)``; every component of that crawl (middlewares, extensions, pipelines)
finds it with ``run_of(crawler)``, without importing the component that made it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import weakref
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from govcrawl.archive.captures import CaptureIndex, CaptureRow
from govcrawl.archive.layout import ArchiveError, ArchiveLayout
from govcrawl.archive.lock import ArchiveLock
from govcrawl.archive.reader import RecordReader
from govcrawl.archive.recorder import Recorder
from govcrawl.archive.recovery import RecoveryReport, recover_archive
from govcrawl.archive.reports import iter_reports
from govcrawl.archive.warc import WarcFileWriter
from govcrawl.clock import clock

logger = logging.getLogger(__name__)

# Page roles remembered between crawls (the capture index's page table), for scheduling.
LIST, LEAF, REPORT, NOT_FOUND = "list", "leaf", "report", "not_found"

GONE_STATUSES = {404, 410}

_RUNS: weakref.WeakKeyDictionary[Any, CrawlRun] = weakref.WeakKeyDictionary()

# Exit codes of `govcrawl` (README "Exit codes"); a crawl's is in its run summary too.
EXIT_OK, EXIT_CRAWL_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_ARCHIVE, EXIT_NOTHING_FETCHED = range(6)
# Finish reasons of a run that ended normally (--max-pages is asked for).
NORMAL_FINISH = ("finished", "closespider_pagecount")


def gone_evidence(
    index: CaptureIndex,
    page: str,
    fetched_now: Callable[[CaptureRow], bool],
    redirected_from: Container[str],
    judged_since: float,
) -> dict[str, Any] | None:
    """Evidence that the report once recorded at ``page`` is gone, from this crawl's capture of
    it (``fetched_now`` says whether a capture is this crawl's): 404/410, a redirect to a page
    that is not a report (``redirected_from``: pages that moved to a report), or a page answered
    200 that is no longer a report (a soft 404, the portal's home). A 200 counts only when the
    spider judged the page this crawl (its page state was marked at or after ``judged_since``,
    epoch seconds of the crawl clock, and not as a report): a crawl cut short (``--max-pages``,
    a signal) fetches pages it never parses. None when it was not fetched by this crawl or the
    answer says nothing (304, 5xx, a failed fetch)."""
    last = index.last_capture(page)
    if last is None or not fetched_now(last):
        return None
    if last.http_status in GONE_STATUSES:
        reason = f"HTTP {last.http_status}"
    elif 300 <= last.http_status < 400 and last.http_status != 304:
        if page in redirected_from:
            return None  # moved to a page that is still a report
        reason = "redirected to a page that is not a report"
    elif last.http_status == 200:
        state = index.page_state(page)
        if state is None or state[1] < judged_since or state[0] == REPORT:
            return None  # not judged by this crawl, or judged a report
        if state[0] == NOT_FOUND:
            reason = "the page says it does not exist (soft 404)"
        else:
            reason = "the page is no longer a report"
    else:
        return None
    return {
        "reason": reason,
        "fetched": last.fetched,
        "http_status": last.http_status,
        "warc": last.warc,
        "offset": last.offset,
    }


def attach(owner: Any, run: CrawlRun) -> None:
    """Register ``run`` as the crawl run of ``owner`` (a Scrapy crawler)."""
    _RUNS[owner] = run


def run_of(owner: Any) -> CrawlRun | None:
    """The crawl run registered for ``owner``, or None."""
    return _RUNS.get(owner)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CrawlRun:
    """An archive opened for one crawl. Use ``CrawlRun.start(...)``."""

    def __init__(
        self,
        layout: ArchiveLayout,
        lock: ArchiveLock,
        index: CaptureIndex,
        recovery: RecoveryReport,
        store_uri: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.layout = layout
        self.lock = lock
        self.index = index
        self.recovery = recovery
        self.store_uri = store_uri
        self.endpoint_url = endpoint_url
        self.reader = RecordReader(self._open_warc)
        self.started_at = clock.now()
        self.run_id = index.start_run(archive=layout.root)
        # The last crawl died: what it fetched last (a report's stylesheet, say) may be missing,
        # so this run rechecks everything once instead of trusting the schedule.
        self.recheck_all = recovery.changed or (layout.root / "reports.journal.jsonl").exists()
        self.sealed_warcs: list[str] = []
        # URLs answered with a body cut short this run (WARC-Truncated): such a capture never
        # replaces a recorded report nor proves it gone (pipelines/record.py).
        self.truncated_urls: set[str] = set()
        self.summary: dict[str, Any] | None = None
        # A fleet worker's run: the archive's publications (reports.jsonl, CDXJ) are written by
        # `govcrawl publish` for the whole fleet, never by one worker.
        self.shared = False
        self.writer: WarcFileWriter | None = None
        self.recorder: Recorder | None = None
        _reserve_space(layout)

    @classmethod
    def start(
        cls,
        archive_dir: str | os.PathLike[str],
        *,
        index_target: str | None = None,
        schema: str | None = None,
        store_uri: str | None = None,
        endpoint_url: str | None = None,
    ) -> CrawlRun:
        """Open ``archive_dir`` for a crawl.

        Raises ArchiveError (folder unusable), ArchiveLocked (another crawl holds it) and the
        capture index's connection errors; on any error nothing stays locked.
        """
        layout = ArchiveLayout.open(archive_dir)
        lock = ArchiveLock(layout.lock_path).acquire()
        try:
            if store_uri:
                _restore_from_store(layout, store_uri, endpoint_url, sqlite=not index_target)
            index = CaptureIndex.open(index_target or layout.captures_db, schema=schema)
            try:
                recovery = recover_archive(layout, index)
                return cls(layout, lock, index, recovery, store_uri, endpoint_url)
            except BaseException:
                index.close()
                raise
        except BaseException:
            lock.release()
            raise

    def open_recorder(
        self,
        *,
        prefix: str,
        max_size: int,
        warcinfo: Mapping[str, Any],
        on_sealed: Iterable[Callable[[Path], None]] = (),
    ) -> Recorder:
        """Start writing WARCs into the archive; returns the run's Recorder."""
        self.writer = WarcFileWriter(
            self.layout.warc_dir,
            prefix=prefix,
            max_size=max_size,
            warcinfo=warcinfo,
            on_sealed=on_sealed,
        )
        self.recorder = Recorder(self.writer, self.index, self.reader, self.run_id)
        return self.recorder

    def close_recorder(self) -> None:
        """Seal the WARC being written (once every record of the crawl is in)."""
        if self.writer is not None:
            self.writer.close()
            self.sealed_warcs = [p.name for p in self.writer.sealed]

    def mark_pages(self, urls: Iterable[str], kind: str) -> None:
        """Remember what the pages at ``urls`` turned out to be (``LIST``, ``LEAF``, ``REPORT``,
        ``NOT_FOUND``), for later crawls' schedules."""
        now = clock.time()
        for url in set(urls):
            self.index.mark_page(url, kind, now)

    def previous_reports(self) -> Iterator[dict[str, Any]]:
        """The report records of earlier crawls (ARCHIVE/reports.jsonl), read one at a time and
        cut to what a crawl's start needs (``url``, ``landing_url``, ``status``, ``title``,
        ``published``): texts and tables stay on disk."""
        for rec in iter_reports(self.layout.reports_jsonl):
            yield {k: rec.get(k) for k in ("url", "landing_url", "status", "title", "published")}

    def _open_warc(self, name: str, offset: int, length: int | None) -> Any:
        from govcrawl.store import open_warc

        return open_warc(self.layout, name, offset, length)

    def finish(self, stats: dict[str, Any], seeds: list[str]) -> dict[str, Any]:
        """End the run: CDXJ, run summary, store; returns the summary. Releases the lock."""
        try:
            if not self.shared:
                self._refresh_cdxj()
            summary = build_summary(stats, self, seeds)
            summary["exit_code"] = exit_code(summary)  # "finished" may still mean exit 5
            self.summary = summary
            # Space kept since the start: the summary is written even on a full disk.
            with contextlib.suppress(OSError):
                os.unlink(self.layout.runs_dir / RESERVE_NAME)
            try:
                _write_run_summary(self.layout, summary)
            except OSError as exc:
                logger.error("cannot write the run summary: %s", exc.strerror or exc)
            try:
                self.index.finish_run(self.run_id, summary)
            except Exception as exc:  # a full disk: SQLite's "database or disk is full"
                logger.error("cannot close the run in the capture index: %s", exc)
            if self.store_uri and not self.layout.sealed_warcs():
                # Every WARC reached the store: ship the run summary and final indexes too.
                # WARCs still local mean the store failed (said once already); the next crawl
                # or `govcrawl sync` sends everything.
                self._ship()
            if summary["finish_reason"] == "finished" and self.layout.jobdir.exists():
                shutil.rmtree(self.layout.jobdir, ignore_errors=True)
            return summary
        finally:
            self.close()

    def close(self) -> None:
        """Let the archive go without a summary (a crawl that never started)."""
        try:
            self.index.close()
        finally:
            self.lock.release()

    def _refresh_cdxj(self) -> None:
        """Keep ARCHIVE/indexes/index.cdxj in step with the sealed WARCs (incremental)."""
        from govcrawl.publish.cdxj import index_archive

        try:
            index_archive(self.layout)
        except OSError as exc:  # a full disk: the captures are safe, `govcrawl index` rebuilds
            logger.error("could not update the CDXJ index: %s", exc.strerror or exc)
        except Exception:  # the captures are safe; `govcrawl index` rebuilds the index
            logger.exception("could not update the CDXJ index")

    def _ship(self) -> None:
        from govcrawl.store import open_store, sync_archive

        try:
            assert self.store_uri is not None
            sync_archive(self.layout, open_store(self.store_uri, endpoint_url=self.endpoint_url))
        except Exception as exc:
            logger.warning("could not ship the run summary to %s: %s", self.store_uri, exc)


def _restore_from_store(
    layout: ArchiveLayout, store_uri: str, endpoint_url: str | None, *, sqlite: bool
) -> None:
    """A fresh archive folder with a store: the store is the archive; take it over."""
    from govcrawl.store import open_store
    from govcrawl.store.sync import needs_restore, restore_archive

    if not needs_restore(layout):
        return
    try:
        restore_archive(
            layout, open_store(store_uri, endpoint_url=endpoint_url), capture_index=sqlite
        )
    except Exception as exc:
        # Crawling on without the store's history would start a second, diverging archive there.
        raise ArchiveError(
            f"cannot restore the archive from {store_uri}: {type(exc).__name__}: {exc}"
        ) from None


def build_summary(stats: dict[str, Any], run: CrawlRun, seeds: list[str]) -> dict[str, Any]:
    """The run summary (ARCHIVE/runs/*.json, README "Run summary") from the crawl's stats."""

    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    finished = clock.now()
    return {
        "started": _iso(run.started_at),
        "finished": _iso(finished),
        "duration_seconds": round((finished - run.started_at).total_seconds(), 3),
        "seeds": seeds,
        "finish_reason": stats.get("finish_reason", "unknown"),
        "pages": n("response_received_count"),
        "requests": n("downloader/request_count"),
        "reports": {
            "seen": n("govcrawl/reports/seen"),
            "new": n("govcrawl/reports/new"),
            "changed": n("govcrawl/reports/changed"),
            "unchanged": n("govcrawl/reports/unchanged"),
            "gone": n("govcrawl/reports/gone"),
            "redated": n("govcrawl/reports/redated"),
        },
        # Report extraction (pipelines/extract.py): run, reused from the last record, failed.
        "extraction": {
            "extracted": n("govcrawl/extract/extracted"),
            "reused": n("govcrawl/extract/reused"),
            "failed": n("govcrawl/extract/failed"),
            # Report pages whose parse facts came from their record (crawler/spiders/portal.py).
            "pages_not_reparsed": n("govcrawl/parse/reused"),
        },
        # The recorder's own counts: they include the records pipelines wrote last.
        "records": run.recorder.stats.records if run.recorder else n("govcrawl/warc/records"),
        "revisits": run.recorder.stats.revisits if run.recorder else n("govcrawl/warc/revisits"),
        "bytes": run.recorder.stats.bytes if run.recorder else n("govcrawl/warc/bytes"),
        "errors": n("log_count/ERROR"),
        "http_errors": {
            k.rsplit("/", 1)[-1]: v
            for k, v in stats.items()
            if k.startswith("downloader/response_status_count/4")
            or k.startswith("downloader/response_status_count/5")
        },
        "traps_dropped": n("govcrawl/traps/dropped"),
        # Redirect stubs in script (or a <noscript> meta refresh) the spider followed.
        "script_redirects": n("govcrawl/redirects/script"),
        # What discovery's budgets turned away (site profiles' [discovery]).
        "budget": {
            "pages_cut": n("govcrawl/budget/cut"),
            "by_host": _by_suffix(stats, "govcrawl/budget/cut_host/"),
            "by_role": _by_suffix(stats, "govcrawl/budget/cut_role/"),
            "column_pages_cut": n("govcrawl/budget/column_pages_cut"),
        },
        "robots_forbidden": n("robotstxt/forbidden"),
        # Why the crawl stopped writing (a full disk), or None.
        "write_error": stats.get("govcrawl/warc/write_error"),
        # Bodies shorter than announced (server closed early), archived with WARC-Truncated.
        "truncated": n("govcrawl/truncated"),
        # What became of what was asked for, beyond the pages: README "Hostile servers".
        "outcomes": {
            "archived": n("downloader/response_count"),
            "archived_truncated": n("govcrawl/truncated"),
            "skipped": _skipped(stats),
            "retried": n("retry/count"),
            "blocked": n("govcrawl/blocked"),
        },
        # Anti-bot challenge pages (never content); hosts that answered nothing else.
        "blocked": {
            "pages": n("govcrawl/blocked"),
            "by_signature": _by_suffix(stats, "govcrawl/blocked/"),
            "hosts": blocked_hosts(stats),
        },
        "recovered": dataclasses.asdict(run.recovery),
        "warcs": run.sealed_warcs,
        "run_id": run.run_id,
    }


def every_seed_blocked(summary: Mapping[str, Any]) -> bool:
    """True when every seed's host answered only anti-bot challenges (run summary ``blocked``)."""
    blocked = set((summary.get("blocked") or {}).get("hosts") or ())
    hosts = {(urlsplit(seed).hostname or "").lower() for seed in summary.get("seeds") or ()}
    return bool(hosts) and hosts <= blocked


def exit_code(summary: Mapping[str, Any]) -> int:
    """The crawl's exit code from its run summary: 5 when nothing could be fetched (no page, or
    every seed blocked), 1 when it did not finish normally (a full disk among others), else 0."""
    if summary["pages"] == 0 or every_seed_blocked(summary):
        return EXIT_NOTHING_FETCHED
    if summary["finish_reason"] not in NORMAL_FINISH:
        return EXIT_CRAWL_FAILED
    return EXIT_OK


def blocked_hosts(stats: Mapping[str, Any]) -> dict[str, int]:
    """Hosts that answered only anti-bot challenges this run: {host: challenge pages}."""
    prefix = "govcrawl/blocked_host/"
    return {
        key[len(prefix) :]: int(value)
        for key, value in sorted(stats.items())
        if key.startswith(prefix) and not stats.get("govcrawl/answered_host/" + key[len(prefix) :])
    }


# Download failures by exception (Scrapy's downloader/exception_type_count/<class path>).
_FAILURES = {
    "DownloadCancelledError": "too_large",  # DOWNLOAD_MAXSIZE, announced or received
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
}


def _skipped(stats: Mapping[str, Any]) -> dict[str, int]:
    """Requests that gave no usable response, by reason: {reason: count}. Download failures
    count every attempt (a retried timeout twice)."""
    out = _by_suffix(stats, "govcrawl/skipped/")
    for key, value in _by_suffix(stats, "downloader/exception_type_count/").items():
        reason = _FAILURES.get(key.rsplit(".", 1)[-1], "connection_failed")
        out[reason] = out.get(reason, 0) + value
    return dict(sorted(out.items()))


def _by_suffix(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}


# ARCHIVE/runs/<RESERVE_NAME>: space taken when a run starts and given back just before its
# summary is written, so a crawl that filled the disk still leaves its summary.
RESERVE_NAME = ".summary-reserve"
RESERVE_BYTES = 256 * 1024


def _reserve_space(layout: ArchiveLayout) -> None:
    try:
        layout.runs_dir.mkdir(parents=True, exist_ok=True)
        with open(layout.runs_dir / RESERVE_NAME, "wb") as fh:
            fh.write(b"\0" * RESERVE_BYTES)  # written, not sparse: the blocks are allocated
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        logger.warning("cannot reserve space for the run summary: %s", exc.strerror or exc)


def _write_run_summary(layout: ArchiveLayout, summary: dict[str, Any]) -> Path:
    layout.runs_dir.mkdir(parents=True, exist_ok=True)
    name = clock.now().strftime("%Y%m%dT%H%M%S%fZ") + ".json"
    path = layout.runs_dir / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


def summary_line(summary: dict[str, Any]) -> str:
    r = summary["reports"]
    return (
        f"govcrawl: {summary['pages']} pages, reports {r['new']} new / {r['changed']} changed / "
        f"{r['unchanged']} unchanged / {r['gone']} gone, {summary['bytes']} bytes archived, "
        f"{summary['errors']} errors, {summary['duration_seconds']:.1f}s "
        f"({summary['finish_reason']})" + _trouble(summary)
    )


def _trouble(summary: dict[str, Any]) -> str:
    """What the operator must see on the summary line: blocked hosts, truncated bodies."""
    parts = []
    blocked = summary.get("blocked") or {}
    if blocked.get("hosts"):
        parts.append("blocked by anti-bot challenge: " + ", ".join(blocked["hosts"]))
    elif blocked.get("pages"):
        parts.append(f"{blocked['pages']} anti-bot challenge pages")
    if summary.get("truncated"):
        parts.append(f"{summary['truncated']} truncated bodies")
    return "; " + "; ".join(parts) if parts else ""
