"""Fleet throughput: pages per second of one named crawl with 1 and with 2 workers on this machine.

    .venv/bin/python bench/fleet.py [--scale 3] [--latency 0.02] [--workers 1 2] [--json FILE]

Needs Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, database ``test``), as the fleet
tests do. For each worker count: a fresh crawl name and PostgreSQL schema, the replica portal
(replica/, ``--scale`` times its news articles, every answer delayed ``--latency`` seconds like
a distant server), ``govcrawl seed`` then N ``govcrawl worker`` processes with politeness off
(the replica is local; on real portals the profile's delay bounds each host, see README "Beyond
one machine"). Pages are counted by the portal itself (its request log); time runs from the
seed to the last worker's exit. Prints pages, seconds, pages/s for the fleet and per worker.
Everything it made (keys, schema, archives) is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crawlsettings import fast  # noqa: E402
from replica.process import ReplicaProcess  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
GOVCRAWL = [sys.executable, "-m", "crawler.cli"]
FAST = fast(GOVCRAWL_FOLLOW_ALL=True)


def run_fleet(workers: int, scale: int, latency: float, tmp: Path) -> dict[str, float]:
    import psycopg
    import redis

    name = f"bench{uuid.uuid4().hex[:8]}"
    schema = f"govcrawl_{name}"
    log = tmp / f"{name}.log"
    replica = ReplicaProcess(scale=scale, log_path=log, latency=latency)
    replica.start()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "no_proxy")}
    env.update(http_proxy=replica.url, PYTHONPATH=str(REPO))
    index = ["--index", PG, "--index-schema", schema]
    try:
        started = time.monotonic()
        subprocess.run(
            [*GOVCRAWL, "seed", "--crawl", name, "--redis", REDIS],
            cwd=REPO, env=env, check=True, capture_output=True,
        )  # fmt: skip
        procs = [
            subprocess.Popen(
                [
                    *GOVCRAWL,
                    "worker",
                    "--crawl",
                    name,
                    "--redis",
                    REDIS,
                    "--archive",
                    str(tmp / f"{name}-w{i}"),
                    *index,
                    *FAST,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for i in range(workers)
        ]
        codes = [p.wait() for p in procs]
        seconds = time.monotonic() - started
    finally:
        replica.stop()
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"govcrawl:{name}:*"))
        if keys:
            client.delete(*keys)
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    pages = sum(1 for _ in log.open())
    return {
        "workers": workers,
        "exit_codes": codes,
        "pages": pages,
        "seconds": round(seconds, 1),
        "pages_per_second": round(pages / seconds, 2),
        "pages_per_second_per_worker": round(pages / seconds / workers, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, default=3, help="replica news multiplier (default 3)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per answer (0.02)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="govcrawl-fleet-bench-") as tmp:
        for n in args.workers:
            result = run_fleet(n, args.scale, args.latency, Path(tmp))
            results.append(result)
            print(
                f"{n} worker(s): {result['pages']} pages in {result['seconds']} s = "
                f"{result['pages_per_second']} pages/s "
                f"({result['pages_per_second_per_worker']} per worker), "
                f"exit codes {result['exit_codes']}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
