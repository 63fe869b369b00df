"""Items that flow from the spider to the pipelines.

Spiders fill what they can see cheaply; the extraction pipeline adds text, tables and
normalised metadata; the dedupe stage records everything per capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govcrawl.archive.captures import Capture

__all__ = ["Capture", "ReportItem"]


@dataclass
class ReportItem:
    """One annual-report page (or attachment) as seen in this crawl."""

    url: str
    html: str  # decoded page text (HTML); attachments carry extracted text here
    title: str | None = None
    agency: str | None = None
    source: str | None = None
    year: int | None = None
    published: str | None = None  # ISO 8601 with +08:00
    clicks: int | None = None
    capture: Capture | None = None
    counter_url: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # Filled by pipelines:
    text: str | None = None
    tables: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
