"""The one clock of a crawl: capture times, WARC dates, run names and what is due ask it.

Tests move it instead of waiting: ``GOVCRAWL_CLOCK_OFFSET`` (seconds, may be negative; the
environment variable or the Scrapy setting of that name) shifts every reading, so a crawl started
with an offset of 23 hours behaves exactly like the next night's cron run, WARC dates included.
"""

from __future__ import annotations

import os
import time as _time
from datetime import UTC, datetime

ENV = "GOVCRAWL_CLOCK_OFFSET"


class Clock:
    """Wall-clock time plus a fixed offset in seconds."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = float(offset)

    def time(self) -> float:
        """Seconds since the epoch (like ``time.time()``)."""
        return _time.time() + self.offset

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        return datetime.fromtimestamp(self.time(), UTC)


def _from_env() -> float:
    raw = os.environ.get(ENV, "").strip()
    try:
        return float(raw) if raw else 0.0
    except ValueError:  # reported as a usage error by the command line
        return 0.0


clock = Clock(_from_env())


def set_offset(seconds: float) -> None:
    """Move the process clock (the crawl sets it once from its settings)."""
    clock.offset = float(seconds)
