"""``govcrawl seed | worker | status | publish``: a named crawl run by a fleet of workers.

A crawl NAME lives in Redis (``govcrawl.fleet``: its rounds, queue, leases and workers) and in a
shared capture index (PostgreSQL); README "Beyond one machine" shows how to run it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Any

from crawler.cli import UsageError, _fail, _parse_sets, _read_seeds, crawl_outcome
from crawler.run import first_line, run_crawl
from govcrawl.fleet import Fleet, FleetError, check_name, connect, status_lines, worker_id
from govcrawl.run import (
    EXIT_ARCHIVE,
    EXIT_LOCKED,
    EXIT_NOTHING_FETCHED,
    EXIT_OK,
    EXIT_USAGE,
    summary_line,
)

# Redis (or the shared index) cannot be reached: the fleet's own exit code.
EXIT_SERVICE = 6
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _fleet(args: argparse.Namespace) -> Fleet:
    try:
        name = check_name(args.crawl)
    except FleetError as exc:
        raise UsageError(str(exc)) from None
    return Fleet(connect(args.redis), name)


def cmd_seed(args: argparse.Namespace) -> int:
    from crawler.fleet import seed_round
    from crawler.spiders.portal import PortalSpider

    seeds = _read_seeds(args)
    fleet = _fleet(args)
    spider = PortalSpider(seeds=seeds)  # no seeds: the bundled profiles' default portals
    known: list[dict[str, Any]] = []
    if args.index:
        from govcrawl.archive.captures import CaptureIndex

        try:
            index = CaptureIndex.open(args.index, schema=args.index_schema)
        except Exception as exc:  # psycopg: server down, no such role; the DSN is not shown
            return _fail(EXIT_SERVICE, f"cannot open the shared capture index: {first_line(exc)}")
        with index:
            known = [record for record, _round in index.report_records()]
    try:
        rnd = fleet.new_round(spider.seeds, force=args.force)
    except FleetError as exc:
        return _fail(EXIT_SERVICE, str(exc))
    queued, _dups = seed_round(fleet, rnd, spider, list(spider.start_requests_for(known)))
    print(
        f"govcrawl: crawl {fleet.keys.name} round {rnd}: {queued} requests queued "
        f"({len(spider.seeds)} seeds, {len(known)} known reports)"
    )
    return EXIT_OK


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def _wait_for_work(fleet: Fleet, wid: str, wait: float | None) -> int | None:
    """Wait until the crawl has work queued or in flight; its round, or None on timeout or a
    signal."""
    deadline = None if wait is None else time.monotonic() + wait
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            fleet.reap()
            rnd = fleet.current_round()
            if rnd and fleet.busy():
                return rnd
            fleet.beat(
                wid,
                {
                    "host": wid.split(":")[0],
                    "pid": os.getpid(),
                    "round": rnd,
                    "state": "waiting",
                    "pages": 0,
                    "reports": 0,
                },
                5.0,
            )
            if deadline is not None and time.monotonic() > deadline:
                return None
            time.sleep(0.5)
    except _Stop:
        return None
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def worker_settings(args: argparse.Namespace, name: str, rnd: int, wid: str) -> dict[str, Any]:
    """The settings that make a crawl a worker of crawl ``name``, round ``rnd``."""
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    project = get_project_settings()
    middlewares = dict(project.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares.update(
        {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.fleet.FleetRobotsTxtMiddleware": 100,
            # Right before the download: the slot is held only while the host is busy.
            "crawler.fleet.FleetHostSlotMiddleware": 990,
        }
    )
    settings: dict[str, Any] = {
        "SCHEDULER": "crawler.fleet.FleetScheduler",
        "REDIS_URL": args.redis,
        "GOVCRAWL_FLEET": name,
        "GOVCRAWL_FLEET_ROUND": rnd,
        "GOVCRAWL_FLEET_WORKER": wid,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "SPIDER_MIDDLEWARES": {
            **project.getdict("SPIDER_MIDDLEWARES"),
            "crawler.fleet.FleetFollowUpMiddleware": 950,
        },
    }
    if args.index:
        settings["GOVCRAWL_CAPTURE_INDEX"] = args.index
    if args.index_schema:
        settings["GOVCRAWL_CAPTURE_SCHEMA"] = args.index_schema
    return settings


def _recover_folder(args: argparse.Namespace, store: str | None) -> None:
    """A worker killed earlier left WARCs being written in its folder: seal what is whole (and
    drop index rows past it), then ship them, before waiting for work."""
    from pathlib import Path

    from govcrawl.archive.layout import OPEN_SUFFIX
    from govcrawl.run import CrawlRun

    warcs = Path(args.archive) / "warc"
    if not warcs.is_dir() or not any(warcs.glob("*" + OPEN_SUFFIX)):
        return
    run = CrawlRun.start(
        args.archive,
        index_target=args.index,
        schema=args.index_schema,
        store_uri=store,
        endpoint_url=args.endpoint_url,
    )
    run.close()
    if store:
        from govcrawl.store import open_store, sync_archive

        sync_archive(run.layout, open_store(store, endpoint_url=args.endpoint_url))


def cmd_worker(args: argparse.Namespace) -> int:
    overrides = _parse_sets(args.set)
    fleet = _fleet(args)
    wid = worker_id()
    store = args.store or os.environ.get("GOVCRAWL_STORE")
    from govcrawl.archive.layout import ArchiveError
    from govcrawl.archive.lock import ArchiveLocked

    try:
        _recover_folder(args, store)
    except ArchiveLocked as exc:
        return _fail(EXIT_LOCKED, str(exc))
    except ArchiveError as exc:
        return _fail(EXIT_ARCHIVE, str(exc))
    rnd = _wait_for_work(fleet, wid, args.wait)
    if rnd is None:
        fleet.leave(
            wid,
            {
                "host": wid.split(":")[0],
                "pid": os.getpid(),
                "round": fleet.current_round(),
                "state": "no work",
                "pages": 0,
                "reports": 0,
            },
        )
        print(f"govcrawl: crawl {fleet.keys.name}: no work", file=sys.stderr)
        return EXIT_OK
    overrides.update(worker_settings(args, fleet.keys.name, rnd, wid))
    code, summary = run_crawl(
        args.archive,
        fleet.round_seeds(rnd),
        max_pages=args.max_pages,
        store=store,
        endpoint_url=args.endpoint_url,
        overrides=overrides,
        verbose=args.verbose,
    )
    if code == EXIT_NOTHING_FETCHED and "error" not in summary and fleet.round_pages(rnd) > 0:
        print(summary_line(summary))
        return EXIT_OK  # the others fetched it all: this worker was not needed
    return crawl_outcome(code, summary)


def cmd_status(args: argparse.Namespace) -> int:
    status = _fleet(args).status()
    if args.json:
        print(json.dumps(status, ensure_ascii=False))
    else:
        print("\n".join(status_lines(status)))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    """Write the whole fleet archive's reports.jsonl and CDXJ into ARCHIVE (and the store)."""
    from govcrawl.archive.captures import CaptureIndex
    from govcrawl.archive.layout import ArchiveError, ArchiveLayout
    from govcrawl.archive.lock import ArchiveLock, ArchiveLocked
    from govcrawl.archive.reports import write_reports
    from govcrawl.fleet import round_reports
    from govcrawl.publish.cdxj import index_archive

    if not args.index:
        raise UsageError("publish needs the shared capture index: --index postgresql://...")
    fleet = _fleet(args)
    rnd = fleet.current_round()
    if not rnd:
        raise UsageError(f"crawl {fleet.keys.name!r} has no round yet: run `govcrawl seed` first")
    if fleet.busy() and not args.force:
        return _fail(
            EXIT_SERVICE,
            f"round {rnd} of crawl {fleet.keys.name!r} is still running "
            "(publish when `govcrawl status` shows nothing queued or in flight, or use --force)",
        )
    try:
        layout = ArchiveLayout.open(args.archive)
        lock = ArchiveLock(layout.lock_path).acquire()
    except ArchiveLocked as exc:
        return _fail(EXIT_LOCKED, str(exc))
    except ArchiveError as exc:
        return _fail(EXIT_ARCHIVE, str(exc))
    try:
        store = _publish_store(args, layout)
        try:
            index = CaptureIndex.open(args.index, schema=args.index_schema)
        except Exception as exc:  # psycopg: server down, no such role; the DSN is not shown
            return _fail(EXIT_SERVICE, f"cannot open the shared capture index: {first_line(exc)}")
        with index:
            records = round_reports(index, rnd, fleet.round_started(rnd), fleet.redirected(rnd))
        write_reports(layout.reports_jsonl, records)
        cdxj = index_archive(layout, full=True)
        if store is not None:
            from govcrawl.store import sync_archive

            sync_archive(layout, store)
    finally:
        lock.release()
    print(
        f"govcrawl: crawl {fleet.keys.name} round {rnd}: {len(records)} reports in "
        f"{layout.reports_jsonl}, CDXJ in {cdxj}"
    )
    return EXIT_OK


def _publish_store(args: argparse.Namespace, layout: Any) -> Any:
    """The fleet's store with every object it holds recorded in ARCHIVE/store.json."""
    uri = args.store or os.environ.get("GOVCRAWL_STORE")
    if not uri:
        return None
    from govcrawl.store import open_store
    from govcrawl.store.sync import restore_archive

    try:
        store = open_store(uri, endpoint_url=args.endpoint_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    restore_archive(layout, store, capture_index=False)
    return store


def _redis_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--crawl", required=True, metavar="NAME", help="the crawl's name")
    p.add_argument(
        "--redis",
        default=os.environ.get("GOVCRAWL_REDIS_URL", DEFAULT_REDIS),
        metavar="URL",
        help=f"the crawl's Redis (default GOVCRAWL_REDIS_URL or {DEFAULT_REDIS})",
    )


def _index_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", metavar="DSN", help="shared capture index (postgresql://...)")
    p.add_argument("--index-schema", metavar="SCHEMA", help="its PostgreSQL schema")


def add_fleet_commands(sub: Any) -> None:
    """Add seed, worker and status to the ``govcrawl`` parser's subcommands."""
    seed = sub.add_parser("seed", help="start the next round of a named crawl (fleet)")
    _redis_arg(seed)
    seed.add_argument("seeds", nargs="*", metavar="SEED_URL")
    seed.add_argument("--seeds", dest="seeds_file", metavar="FILE")
    _index_args(seed)
    seed.add_argument(
        "--force", action="store_true", help="drop the current round's remaining work"
    )
    seed.set_defaults(func=_guard(cmd_seed))

    worker = sub.add_parser("worker", help="work on a named crawl until its round is done")
    _redis_arg(worker)
    worker.add_argument("--archive", default="archive", help="this worker's archive folder")
    _index_args(worker)
    worker.add_argument("--store", help="s3://bucket/prefix shared by the fleet")
    worker.add_argument("--endpoint-url")
    worker.add_argument("--max-pages", type=int)
    worker.add_argument(
        "--wait", type=float, metavar="SECONDS", help="give up when no work comes (default: wait)"
    )
    worker.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    worker.add_argument("-v", "--verbose", action="store_true")
    worker.set_defaults(func=_guard(cmd_worker))

    status = sub.add_parser("status", help="queue, requests in flight and workers of a crawl")
    _redis_arg(status)
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(func=_guard(cmd_status))
    add_publish_command(sub)


def add_publish_command(sub: Any) -> None:
    publish = sub.add_parser(
        "publish", help="write a named crawl's reports.jsonl and CDXJ for the whole fleet"
    )
    _redis_arg(publish)
    publish.add_argument("--archive", default="archive", help="where to write them")
    _index_args(publish)
    publish.add_argument("--store", help="the fleet's store (s3://bucket/prefix)")
    publish.add_argument("--endpoint-url")
    publish.add_argument("--force", action="store_true", help="publish a round still running")
    publish.set_defaults(func=_guard(cmd_publish))


def _guard(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except FleetError as exc:
            return _fail(EXIT_SERVICE, str(exc))
        except UsageError as exc:  # here too: under `python -m crawler.cli` main() has its own
            return _fail(EXIT_USAGE, str(exc))

    return run
