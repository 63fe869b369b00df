"""Crawl benchmark: govcrawl against plain Scrapy on the same replica portal, in one run.

    .venv/bin/python bench/crawl_bench.py [--scales 1,10]

Reports ratios, never absolute targets:
- CPU seconds per fetched page, govcrawl (archiving, dedupe, extraction) / plain Scrapy (the same
  spider and settings with the WARC stage and item pipelines switched off);
- peak memory of a whole-site crawl at the largest scale / at the smallest (flat memory: ~1 while
  the page count grows with the scale);
- bytes stored by a second crawl of an unchanged portal / bytes of the first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crawlsettings import fast  # noqa: E402
from replica.process import ReplicaProcess  # noqa: E402

FAST = fast()


def crawl_env(proxy: str) -> dict[str, str]:
    """This environment with the replica as the only proxy and this checkout importable."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
    return {**env, "http_proxy": proxy, "PYTHONPATH": str(REPO)}


# The same spider and settings with the archiving extensions and item pipelines switched off.
PLAIN_SCRAPY = [
    "--set",
    'EXTENSIONS={"crawler.extensions.warc.WarcArchiveExtension": null, '
    '"crawler.extensions.storage.StorageExtension": null}',
    "--set",
    "ITEM_PIPELINES={}",
]
WHOLE_SITE = ["--set", "GOVCRAWL_FOLLOW_ALL=True"]

WRAPPER = """
import json, resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "cpu": u.ru_utime + u.ru_stime, "rss_mib": u.ru_maxrss / 1024}))
"""


def measured(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``cmd`` under a wrapper process; its CPU seconds and peak RSS (MiB)."""
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], env=env, capture_output=True, text=True, cwd=REPO
    )
    return json.loads(out.stdout)


def crawl(archive: Path, proxy: str, extra: list[str]) -> dict[str, float]:
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", "--archive", str(archive), *FAST, *extra]
    result = measured(cmd, crawl_env(proxy))
    runs = sorted((archive / "runs").glob("*.json"))
    summary = json.loads(runs[-1].read_text()) if runs else {}
    result.update(pages=summary.get("pages", 0), bytes=summary.get("bytes", 0))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1,10", help="replica scales to compare")
    args = parser.parse_args()
    scales = sorted(int(s) for s in args.scales.split(","))
    top, low = scales[-1], scales[0]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for scale in scales:
            with ReplicaProcess(scale=scale) as replica:
                plain = crawl(tmp / f"plain{scale}", replica.url, [*PLAIN_SCRAPY, *WHOLE_SITE])
                results[f"scrapy@{scale}"] = plain
                results[f"govcrawl@{scale}"] = crawl(tmp / f"full{scale}", replica.url, WHOLE_SITE)
                again = crawl(tmp / f"full{scale}", replica.url, WHOLE_SITE)
                results[f"govcrawl-again@{scale}"] = again
    for name, r in results.items():
        print(
            f"{name:22} pages {r['pages']:6}  cpu {r['cpu']:7.2f}s  "
            f"peak {r['rss_mib']:7.1f} MiB  bytes {r['bytes']}"
        )
    full, plain = results[f"govcrawl@{top}"], results[f"scrapy@{top}"]
    per_page = (full["cpu"] / max(full["pages"], 1)) / (plain["cpu"] / max(plain["pages"], 1))
    print(f"cpu per page, govcrawl / plain scrapy at scale {top}: {per_page:.2f}")
    big, small = results[f"govcrawl@{top}"], results[f"govcrawl@{low}"]
    print(
        f"peak memory, scale {top} / scale {low}: {big['rss_mib'] / small['rss_mib']:.2f} "
        f"(pages {big['pages'] / max(small['pages'], 1):.1f}x)"
    )
    again = results[f"govcrawl-again@{top}"]
    share = again["bytes"] / full["bytes"]
    print(f"bytes of a second crawl of an unchanged portal / first: {share:.2f}")


if __name__ == "__main__":
    main()
