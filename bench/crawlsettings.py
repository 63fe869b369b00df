"""The `--set` options every benchmark gives `govcrawl crawl` and `govcrawl worker`.

The benchmark portals run on this machine and answer at once, so politeness delays are off (as
in the offline demo, crawler/cli.py); concurrency is the benchmarks' 16 requests, 8 per host
unless a benchmark asks for another figure.
"""

from __future__ import annotations


def fast(concurrency: int = 16, per_host: int = 8, **extra: object) -> list[str]:
    """`["--set", "NAME=value", ...]` for the crawl CLI; ``extra`` adds settings by name."""
    settings: dict[str, object] = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        "GOVCRAWL_RETRY_BACKOFF": 1.0,
        **extra,
    }
    return [arg for name, value in settings.items() for arg in ("--set", f"{name}={value}")]
