"""The duplicate grouper alone: memory it holds and time per fingerprint.

    .venv/bin/python bench/grouper.py [--reports 2000]

Fingerprints ``--reports`` report pages of the synthetic portal (bench/synthportal.py) into a
fresh SQLite capture index, groups them (a first crawl), then groups them again with a new
grouper on the same index (an unchanged re-crawl), under tracemalloc. Prints the groups found,
process time per fingerprint and the memory the second grouper holds (MiB).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.synthportal import Layout, article_page  # noqa: E402
from govcrawl.archive import dedupe  # noqa: E402
from govcrawl.archive.captures import CaptureIndex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=2000, help="report pages (2000)")
    n = parser.parse_args().reports
    layout = Layout(n, True)
    fps = [
        dedupe.text_fingerprint(html.unescape(re.sub(r"<[^>]+>", "\n", article_page(layout, i))))
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as tmp, CaptureIndex.open(tmp) as index:

        def captures(day: str) -> list[int]:
            return [
                index.add_capture(
                    url=f"http://all.perf.gov.cn/{i}",
                    fetched=f"2026-01-{day}T00:00:00Z",
                    http_status=200,
                    digest=f"sha1:{i}",
                    size=1,
                    warc=f"{day}.warc.gz",
                    offset=i,
                    length=1,
                    record_type="response",
                    status="new",
                )  # fmt: skip
                for i in range(n)
            ]

        first_ids = captures("01")
        grouper = dedupe.ReportGrouper(index)
        t = time.process_time()
        first = [grouper.assign(c, fp) for c, fp in zip(first_ids, fps, strict=True)]
        t_first = time.process_time() - t
        if hasattr(index, "flush"):  # not before the band table (to compare with it)
            index.flush()
        del grouper
        again_ids = captures("02")
        tracemalloc.start()
        t = time.process_time()
        grouper = dedupe.ReportGrouper(index)
        t_start = time.process_time() - t
        held_start = tracemalloc.get_traced_memory()[0]
        t = time.process_time()
        again = [grouper.assign(c, fp) for c, fp in zip(again_ids, fps, strict=True)]
        t_again = time.process_time() - t
        held_end = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    print(
        f"{n} reports, {len(set(first))} groups, re-crawl same groups: {first == again}\n"
        f"first crawl {t_first * 1e6 / n:.0f} us per fingerprint\n"
        f"re-crawl: grouper start {t_start:.2f} s, {t_again * 1e6 / n:.0f} us per fingerprint\n"
        f"held by the grouper: {held_start / 2**20:.1f} MiB after its start, "
        f"{held_end / 2**20:.1f} MiB after the re-crawl"
    )


if __name__ == "__main__":
    main()
