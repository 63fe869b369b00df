"""govcrawl command line: the one place that wires spiders, pipelines and the archive together.

Exit codes (documented in README.md):
  0  success
  1  the crawl ran but did not finish normally (interrupted, or a fatal error inside)
  2  unusable input (bad URL, bad option, unreadable seeds file)
  3  the archive is locked by a running crawl
  4  the archive folder is unusable (not writable, not an archive)
  5  nothing could be fetched (every seed failed: network or proxy down)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from crawler.run import first_line, run_crawl
from govcrawl.run import (
    EXIT_ARCHIVE,
    EXIT_CRAWL_FAILED,
    EXIT_NOTHING_FETCHED,
    EXIT_OK,
    EXIT_USAGE,
    every_seed_blocked,
    summary_line,
)

logger = logging.getLogger("govcrawl")


class UsageError(Exception):
    """Bad command-line input: exit 2 with a one-line message."""


class ArchiveMissing(Exception):
    """The archive folder a command reads does not exist or is not an archive: exit 4."""


def _fail(code: int, message: str) -> int:
    print(f"govcrawl: {message}", file=sys.stderr)
    return code


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r}")
    return url


def _read_seeds(args: argparse.Namespace) -> list[str]:
    seeds = list(args.seeds)
    if args.seeds_file:
        try:
            text = Path(args.seeds_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read seeds file: {exc}") from None
        seeds += [
            ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
        ]
    return [_check_url(s) for s in seeds]


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse exits 2 with one line otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _check_store(uri: str | None) -> str | None:
    """A typo'd store URI is bad input (exit 2), found before any archive is touched."""
    if uri:
        from govcrawl.store import STORE_SCHEMES

        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if len(scheme) > 1 and scheme not in STORE_SCHEMES:  # one letter: a Windows drive
            raise UsageError(f"unsupported store {uri!r}: use s3://bucket/prefix or a path")
        # botocore's own rule for bucket names (S3-compatible stores allow more than AWS).
        if scheme == "s3" and not re.fullmatch(r"[a-zA-Z0-9.\-_]{1,255}", parts.netloc):
            raise UsageError(f"bad store {uri!r}: no usable bucket name; use s3://bucket/prefix")
    return uri


def _check_endpoint(url: str | None) -> str | None:
    """A typo'd --endpoint-url is bad input (exit 2), not an unreadable store (exit 4)."""
    if url:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise UsageError(f"bad --endpoint-url {url!r}: use http(s)://host[:port]")
    return url


def _existing_archive(archive: str) -> Any:
    """The ArchiveLayout of an archive folder that exists (readers never create one).

    Raises ArchiveMissing (exit 4) naming the folder as typed."""
    from govcrawl.archive.layout import ArchiveLayout

    path = Path(archive).expanduser()
    if not path.is_dir():
        raise ArchiveMissing(f"no archive folder {archive!r} ({path.absolute()})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ArchiveMissing(f"cannot read the archive folder {archive!r}")
    layout = ArchiveLayout(path.absolute())
    if not (layout.warc_dir.is_dir() or (layout.root / "store.json").is_file()):
        raise ArchiveMissing(f"{archive!r} is not a govcrawl archive (no warc/ folder)")
    return layout


def _port(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def _parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--set wants NAME=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


# -- crawl --------------------------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    seeds = _read_seeds(args)
    overrides = _parse_sets(args.set)
    _check_store(args.store or os.environ.get("GOVCRAWL_STORE"))
    _check_endpoint(args.endpoint_url)
    from govcrawl.archive.layout import ArchiveError, ArchiveLayout

    try:  # before Scrapy starts: an unusable folder is one line, exit 4
        ArchiveLayout.open(args.archive)
    except ArchiveError as exc:
        return _fail(EXIT_ARCHIVE, str(exc))
    code, summary = run_crawl(
        Path(args.archive),
        seeds,
        max_pages=args.max_pages,
        store=args.store or os.environ.get("GOVCRAWL_STORE"),
        endpoint_url=args.endpoint_url,
        overrides=overrides,
        verbose=args.verbose,
    )
    return crawl_outcome(code, summary)


def crawl_outcome(code: int, summary: dict[str, Any]) -> int:
    """Print a finished crawl's summary line (or its one-line error); the exit code."""
    if "error" in summary:
        return _fail(code, summary["error"])
    print(summary_line(summary))
    if summary.get("write_error"):
        return _fail(
            code,
            f"{summary['write_error']}: the crawl stopped; what it archived is kept "
            "(free some space and crawl again)",
        )
    if code == EXIT_NOTHING_FETCHED and every_seed_blocked(summary):
        hosts = ", ".join(summary["blocked"]["hosts"])
        return _fail(code, f"nothing could be fetched: anti-bot challenge pages only ({hosts})")
    if code == EXIT_NOTHING_FETCHED:
        return _fail(code, "nothing could be fetched: check the network, the proxy and the seeds")
    return code


# -- demo ---------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Crawl the replica portal through its proxy: the offline end-to-end demo.

    The replica is test data, not part of the installed package: it runs as a child process
    (`python -m replica.server`) from the source checkout this module lives in.
    """
    checkout = Path(__file__).resolve().parent.parent
    if not (checkout / "replica" / "server.py").is_file():
        return _fail(
            EXIT_USAGE,
            "the demo needs a source checkout (the replica portal is not installed with "
            "govcrawl): run `bash scripts/run` in a clone of the repository",
        )
    cmd = [sys.executable, "-m", "replica.server", "--port", "0", "--round", str(args.round)]
    server = subprocess.Popen(cmd, cwd=checkout, stdout=subprocess.PIPE, text=True)
    try:
        ready = (server.stdout.readline() if server.stdout else "").split()
        if ready[:1] != ["READY"]:
            return _fail(EXIT_CRAWL_FAILED, "the replica portal did not start")
        os.environ["http_proxy"] = ready[1]
        os.environ.pop("no_proxy", None)
        os.environ.pop("NO_PROXY", None)
        print(f"govcrawl: replica portal serving at {ready[1]} (used as http_proxy)")
        code, summary = run_crawl(
            Path(args.archive),
            [],
            overrides=REPLICA_SETTINGS,
            verbose=args.verbose,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    if "error" in summary:
        return _fail(code, summary["error"])
    print(summary_line(summary))
    from govcrawl.archive.reports import read_reports

    layout_reports = read_reports(Path(args.archive) / "reports.jsonl")
    for rec in sorted(
        layout_reports.values(), key=lambda r: (r.get("agency") or "", r.get("year") or 0)
    ):
        print(
            f"  {rec.get('year')}  {rec.get('agency')}  {rec.get('published')}  "
            f"clicks={rec.get('clicks')}  {rec['url']}"
        )
    print(f"govcrawl: {len(layout_reports)} reports in {Path(args.archive) / 'reports.jsonl'}")
    return code


# The replica answers at once and locally: no politeness delays needed there.
REPLICA_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    # One second: WARC dates have one-second resolution (see tests/conftest.py FAST).
    "GOVCRAWL_RETRY_BACKOFF": 1.0,
}


# -- history / export / parse / archivist tools ------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from govcrawl.archive.captures import CaptureIndex
    from govcrawl.archive.layout import ArchiveLayout

    layout = ArchiveLayout(Path(args.archive))
    if not args.index and not layout.captures_db.exists():
        return _fail(EXIT_ARCHIVE, f"no capture index in {args.archive}")
    url = _check_url(args.url)
    try:
        index = CaptureIndex.open(args.index or layout.captures_db, schema=args.index_schema)
    except Exception as exc:  # psycopg/sqlite3: server down, no such role; the DSN is not shown
        return _fail(EXIT_CRAWL_FAILED, f"cannot open the capture index: {first_line(exc)}")
    try:
        rows = index.history(url)
        for row in rows:
            print(
                json.dumps(
                    {
                        "fetched": row.fetched,
                        "status": row.status,
                        "http_status": row.http_status,
                        "record_type": row.record_type,
                        "digest": row.digest,
                        "published": row.published,
                        "clicks": row.clicks,
                        "warc": row.warc,
                        "offset": row.offset,
                    },
                    ensure_ascii=False,
                )
            )
    finally:
        index.close()
    if not rows:
        return _fail(EXIT_USAGE, f"no captures of {args.url}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from govcrawl.publish.export import export_reports

    try:
        count = export_reports(Path(args.archive), args.format, args.output)
    except FileNotFoundError as exc:
        return _fail(EXIT_ARCHIVE, str(exc))
    if args.output:
        print(f"govcrawl: {count} records written to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    from govcrawl.extract.attachments import AttachmentError, parse_file

    try:
        result = parse_file(args.file)
    except (OSError, AttachmentError) as exc:
        return _fail(EXIT_USAGE, first_line(exc))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    from govcrawl.publish.cdxj import index_archive

    path = index_archive(_existing_archive(args.archive))
    print(f"govcrawl: CDXJ index written to {path}")
    return EXIT_OK


def cmd_wacz(args: argparse.Namespace) -> int:
    from govcrawl.archive.reports import read_reports
    from govcrawl.publish.wacz import build_wacz
    from govcrawl.store import StoreError

    layout = _existing_archive(args.archive)
    reports = list(read_reports(layout.reports_jsonl).values())
    try:
        out = build_wacz(layout, Path(args.output), reports)
    except ValueError as exc:  # nothing sealed to package
        return _fail(EXIT_ARCHIVE, str(exc))
    except StoreError as exc:  # a WARC only in the store, which cannot be read now
        return _fail(EXIT_CRAWL_FAILED, str(exc).splitlines()[0])
    except OSError as exc:
        return _fail(EXIT_USAGE, f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"govcrawl: WACZ written to {out}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from govcrawl.archive.reports import read_reports
    from govcrawl.publish.replay import PywbNotFound, serve_forever
    from govcrawl.store import warc_names

    if not Path(args.archive).expanduser().is_dir():
        return _fail(EXIT_ARCHIVE, f"no WARCs in {args.archive}: run `govcrawl crawl` first")
    layout = _existing_archive(args.archive)
    if not layout.warc_dir.is_dir() and not warc_names(layout):
        return _fail(EXIT_ARCHIVE, f"no WARCs in {args.archive}: run `govcrawl crawl` first")
    reports = list(read_reports(layout.reports_jsonl).values())
    try:
        serve_forever(layout, args.port, reports)
    except (PywbNotFound, RuntimeError) as exc:
        return _fail(EXIT_CRAWL_FAILED, str(exc))
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from govcrawl.archive.layout import ArchiveLayout
    from govcrawl.store import open_store, read_manifest, store_from_manifest, sync_archive

    layout = ArchiveLayout(Path(args.archive))
    if not layout.root.is_dir():
        return _fail(EXIT_ARCHIVE, f"no archive in {args.archive}")
    # Without --store: the store earlier crawls recorded in ARCHIVE/store.json (and its endpoint).
    store_uri = args.store or os.environ.get("GOVCRAWL_STORE") or read_manifest(layout)["store"]
    if not store_uri:
        return _fail(
            EXIT_USAGE,
            f"no store given and none recorded in {layout.root / 'store.json'}: "
            "use --store s3://bucket/prefix (or GOVCRAWL_STORE)",
        )
    try:
        if store_uri == read_manifest(layout)["store"] and not args.endpoint_url:
            store = store_from_manifest(layout, store_uri)
        else:
            store = open_store(store_uri, endpoint_url=args.endpoint_url)
    except ValueError as exc:
        return _fail(EXIT_USAGE, str(exc))
    assert store is not None
    if args.verify:
        return _verify_store(layout, store, args)
    report = sync_archive(layout, store)
    print(f"govcrawl: {report.uploaded} uploaded, {report.failed} failed, {report.bytes} bytes")
    return EXIT_OK if report.failed == 0 else EXIT_CRAWL_FAILED


def _verify_store(layout: Any, store: Any, args: argparse.Namespace) -> int:
    """`sync --verify`: list the store against store.json and the capture index."""
    from govcrawl.archive.captures import CaptureIndex
    from govcrawl.store import StoreError
    from govcrawl.store.sync import verify_store

    target = args.capture_index or (layout.captures_db if layout.captures_db.exists() else None)
    names: set[str] = set()
    if target is not None:
        with CaptureIndex.open(target, schema=args.capture_schema) as index:
            names = index.warc_names()
    try:
        report = verify_store(layout, store, names)
    except StoreError as exc:  # unreachable, access denied: it says which store
        return _fail(EXIT_CRAWL_FAILED, str(exc))
    except Exception as exc:  # the store's own errors: unreachable, access denied
        return _fail(EXIT_CRAWL_FAILED, f"cannot list {store.describe()}: {exc}")
    for key in report.missing:
        print(f"missing {store.describe()}/{key}")
    for line in report.mismatched:
        print(f"mismatch {store.describe()}/{line}")
    print(
        f"govcrawl: {report.checked} objects checked, {len(report.missing)} missing, "
        f"{len(report.mismatched)} mismatching"
    )
    return EXIT_OK if report.ok else EXIT_CRAWL_FAILED


# -- coverage -----------------------------------------------------------------------------------


def cmd_coverage(args: argparse.Namespace) -> int:
    """Agency x year coverage of the archive's reports: an HTML heat map and a CSV."""
    from govcrawl.publish.coverage import coverage_for_archive

    archive = Path(args.archive)
    replay_base = _check_url(args.replay_base)
    out_html = Path(args.output) if args.output else archive / "coverage.html"
    out_csv = Path(args.csv) if args.csv else archive / "coverage.csv"
    try:
        coverage = coverage_for_archive(archive, out_html, out_csv, replay_base)
    except FileNotFoundError as exc:
        return _fail(EXIT_ARCHIVE, str(exc))
    except ValueError as exc:  # a torn or hand-edited reports.jsonl
        return _fail(EXIT_ARCHIVE, f"unreadable reports.jsonl in {archive}: {exc}")
    except OSError as exc:
        return _fail(EXIT_USAGE, f"cannot write the coverage report: {exc}")
    print(f"govcrawl: {coverage.summary_line()}")
    print(f"govcrawl: coverage written to {out_html} and {out_csv}")
    return EXIT_OK


# -- entry point --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2); the usage stays behind --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="govcrawl", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser("crawl", help="crawl portals into an archive (incremental)")
    crawl.add_argument("seeds", nargs="*", metavar="SEED_URL")
    crawl.add_argument(
        "--seeds", dest="seeds_file", metavar="FILE", help="file with one seed URL a line"
    )
    crawl.add_argument("--archive", default="archive", help="archive folder (default ./archive)")
    crawl.add_argument("--max-pages", type=_positive_int, help="stop after this many responses")
    crawl.add_argument("--store", help="s3://bucket/prefix to upload sealed files to")
    crawl.add_argument("--endpoint-url", help="S3-compatible endpoint (default: AWS_ENDPOINT_URL)")
    crawl.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="Scrapy setting"
    )
    crawl.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    crawl.set_defaults(func=cmd_crawl)

    demo = sub.add_parser("demo", help="offline demo: crawl the bundled replica portal")
    demo.add_argument("--archive", default="archive")
    demo.add_argument(
        "--round", type=int, default=1, choices=(1, 2), help="replica state (2: a later year)"
    )
    demo.add_argument("-v", "--verbose", action="store_true")
    demo.set_defaults(func=cmd_demo)

    export = sub.add_parser("export", help="export report records")
    export.add_argument("--archive", default="archive")
    export.add_argument("--format", choices=["jsonl", "csv", "parquet"], default="jsonl")
    export.add_argument(
        "-o", "--output", help="output file (default: standard output; jsonl/csv only)"
    )
    export.set_defaults(func=cmd_export)

    history = sub.add_parser("history", help="captures of one URL, oldest first")
    history.add_argument("url")
    history.add_argument("--archive", default="archive")
    history.add_argument("--index", help="capture index DSN (a fleet's postgresql://...)")
    history.add_argument("--index-schema", help="its PostgreSQL schema")
    history.set_defaults(func=cmd_history)

    replay = sub.add_parser("replay", help="serve the archive with pywb on 127.0.0.1")
    replay.add_argument("--archive", default="archive")
    replay.add_argument("--port", type=_port, default=8080)
    replay.set_defaults(func=cmd_replay)

    index = sub.add_parser("index", help="write ARCHIVE/indexes/index.cdxj")
    index.add_argument("--archive", default="archive")
    index.set_defaults(func=cmd_index)

    wacz = sub.add_parser("wacz", help="package the archive as a WACZ")
    wacz.add_argument("--archive", default="archive")
    wacz.add_argument("-o", "--output", required=True)
    wacz.set_defaults(func=cmd_wacz)

    parse = sub.add_parser("parse", help="text and tables of one saved page or attachment")
    parse.add_argument("file")
    parse.set_defaults(func=cmd_parse)

    sync = sub.add_parser("sync", help="upload sealed files still on local disk to the store")
    sync.add_argument("--archive", default="archive")
    sync.add_argument("--store")
    sync.add_argument("--endpoint-url")
    sync.add_argument(
        "--verify",
        action="store_true",
        help="list the store and report objects missing or differing from what the archive "
        "recorded (exit 1 if any); uploads nothing",
    )
    sync.add_argument("--capture-index", help="capture index DSN (default ARCHIVE's SQLite)")
    sync.add_argument("--capture-schema", help="PostgreSQL schema of the capture index")
    sync.set_defaults(func=cmd_sync)

    coverage = sub.add_parser(
        "coverage", help="agency x year coverage of the reports (HTML heat map and CSV)"
    )
    coverage.add_argument("--archive", default="archive")
    coverage.add_argument(
        "-o", "--output", metavar="FILE", help="HTML page (default ARCHIVE/coverage.html)"
    )
    coverage.add_argument("--csv", metavar="FILE", help="CSV (default ARCHIVE/coverage.csv)")
    coverage.add_argument(
        "--replay-base",
        default="http://127.0.0.1:8080",
        metavar="URL",
        help="where `govcrawl replay` serves (default http://127.0.0.1:8080)",
    )
    coverage.set_defaults(func=cmd_coverage)

    from crawler.fleetcmd import add_fleet_commands  # it imports this module

    add_fleet_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except ArchiveMissing as exc:
        return _fail(EXIT_ARCHIVE, str(exc))
    except OSError as exc:  # a file the command needs cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(EXIT_CRAWL_FAILED, f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        return _fail(130, "interrupted")


if __name__ == "__main__":
    sys.exit(main())
