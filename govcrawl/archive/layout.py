"""Where everything lives inside an archive directory (the contract between all parts).

ARCHIVE/warc/<prefix>-<YYYYmmddHHMMSSffffff>-<serial>-<host>.warc.gz   (+ ".open" while written)
ARCHIVE/captures.sqlite3    capture index (SQLite default; PostgreSQL via a DSN)
ARCHIVE/reports.jsonl       one record per annual-report URL, latest capture
ARCHIVE/runs/<UTC ts>.json  one summary per crawl run
ARCHIVE/crawl.lock          held by a running crawl
ARCHIVE/jobdir/             Scrapy JOBDIR
ARCHIVE/indexes/index.cdxj  CDXJ index
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"


class ArchiveError(Exception):
    """The archive directory cannot be used (message is one line, fit for the command line)."""


@dataclass(frozen=True)
class ArchiveLayout:
    root: Path

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def captures_db(self) -> Path:
        return self.root / "captures.sqlite3"

    @property
    def reports_jsonl(self) -> Path:
        return self.root / "reports.jsonl"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def lock_path(self) -> Path:
        return self.root / "crawl.lock"

    @property
    def jobdir(self) -> Path:
        return self.root / "jobdir"

    @property
    def indexes_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def cdxj_path(self) -> Path:
        return self.indexes_dir / "index.cdxj"

    def warc_path(self, name: str) -> Path:
        """Path of a WARC file by its (sealed) name, as stored in the capture index."""
        return self.warc_dir / name

    def sealed_warcs(self) -> list[Path]:
        return sorted(self.warc_dir.glob("*" + WARC_SUFFIX))

    def open_warcs(self) -> list[Path]:
        return sorted(self.warc_dir.glob("*" + WARC_SUFFIX + OPEN_SUFFIX))

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> ArchiveLayout:
        """Create the folders if needed; raise ArchiveError when the directory is unusable."""
        layout = cls(Path(root).expanduser().absolute())
        try:
            if layout.root.exists() and not layout.root.is_dir():
                raise ArchiveError(f"archive DIR is not writable: {layout.root} is not a directory")
            for folder in (layout.root, layout.warc_dir, layout.runs_dir, layout.indexes_dir):
                folder.mkdir(parents=True, exist_ok=True)
            # mkdir succeeding does not prove we may create files (read-only mounts, ACLs).
            with tempfile.NamedTemporaryFile(dir=layout.warc_dir, prefix=".probe-"):
                pass
        except ArchiveError:
            raise
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ArchiveError(f"archive DIR is not writable: {layout.root} ({reason})") from None
        return layout
