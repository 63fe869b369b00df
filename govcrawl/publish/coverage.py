"""`govcrawl coverage`: which agency published its annual report for which year, and how.

Reads ARCHIVE/reports.jsonl (one record per report URL) and builds an agency x year matrix:

- A cell holds the reports found for one agency and one year. Copies of one report at several
  URLs share ``group``: they count once in their agency-year, and every copy is linked (to its
  capture in ``govcrawl replay``: ``<replay base>/govcrawl/<14-digit capture ts>/<url>``).
- The law asks for publication by 31 January of the following year. A report is late when its
  earliest copy was published on or after 1 February of year + 1, China time (+08:00). A report
  with no publication date whose latest capture is before the deadline was provably on time;
  otherwise it is ``undated`` (its timeliness cannot be told).
- Inconsistent: the parsed tables of some copy fail one of their own arithmetic checks
  (``ok: false``). Checks that could not be evaluated (``ok: null``: cells left empty on the
  page, so nothing could be added up; records of schema 1.x said ``ok: false, evaluable: false``)
  are not contradictions and only show in the cell's details.
- Gone: every copy's URL vanished from the portal (``status == "gone"``); a copy still online
  keeps the report available.
- Missing: the agency reported the year before but not this year, for years up to the latest
  year seen and only once that year's deadline has passed by the archive's latest capture (a
  report not yet due is not missing).

A cell shows one state, the first that applies in ``STATES`` order (gone, inconsistent, late,
undated, on time); every state that applies is kept in ``Cell.flags``, and the other problems
(gone, inconsistent, late, undated) are drawn as thin stripes along the cell's bottom edge.
Records without an agency or a year cannot be placed; they are listed under the matrix.

The page is one self-contained HTML file (inline CSS, no script, no external resource) so that it
renders offline and can be mailed or archived as is; outputs are written to a temporary name and
renamed.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from warcio.timeutils import iso_date_to_timestamp

logger = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8), "CST")
# Must match govcrawl.publish.replay.COLLECTION (not imported: that module pulls in pywb plumbing).
REPLAY_COLLECTION = "govcrawl"
DEFAULT_REPLAY_BASE = "http://127.0.0.1:8080"

# Display precedence: a cell's state is the first of these that applies.
STATES = ("gone", "inconsistent", "late", "undated", "on_time")
ALL_STATES = (*STATES, "missing")
PRESENT_STATES = frozenset(STATES)

LABELS = {
    "on_time": "on time",
    "late": "late",
    "missing": "missing",
    "inconsistent": "inconsistent tables",
    "gone": "gone from the portal",
    "undated": "no publication date",
}
# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies); text colour
# chosen for contrast on each.
COLOURS = {
    "on_time": "#009e73",
    "late": "#f0e442",
    "missing": "#d55e00",
    "inconsistent": "#cc79a7",
    "gone": "#4d4d4d",
    "undated": "#56b4e9",
}
TEXT_COLOURS = {
    "on_time": "#ffffff",
    "late": "#000000",
    "missing": "#ffffff",
    "inconsistent": "#000000",
    "gone": "#ffffff",
    "undated": "#000000",
}
EMPTY_COLOUR = "#eeeeee"
CSV_COLUMNS = ["agency", "year", "state", "published", "urls", "replay", "group"]


def deadline(year: int) -> datetime:
    """First instant that is late for reports on ``year``: 1 February of year + 1, China time."""
    return datetime(year + 1, 2, 1, tzinfo=CHINA)


def _parse_time(value: Any, naive_tz: timezone) -> datetime | None:
    if not value:
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("unreadable timestamp %r", value)
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=naive_tz)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Copy:
    """One URL of a report and its latest capture."""

    url: str
    fetched: str | None
    status: str | None
    published: str | None
    group: str | None

    def replay_url(self, replay_base: str = DEFAULT_REPLAY_BASE) -> str:
        """``<base>/govcrawl/<14-digit ts>/<url>``; without a capture time pywb picks the latest."""
        base = replay_base.rstrip("/") + "/" + REPLAY_COLLECTION
        ts = iso_date_to_timestamp(self.fetched)[:14] if self.fetched else None
        return f"{base}/{ts}/{self.url}" if ts else f"{base}/{self.url}"


@dataclass
class Report:
    """One distinct report (a ``group``) within an agency-year, with all its copies."""

    key: str
    group: str | None
    copies: list[Copy] = field(default_factory=list)
    failed_checks: list[dict[str, Any]] = field(default_factory=list)
    unevaluable_checks: int = 0
    has_tables: bool = False

    @property
    def published(self) -> datetime | None:
        """Earliest publication date among the copies (a re-published copy does not count)."""
        dates = [d for c in self.copies if (d := _parse_time(c.published, CHINA)) is not None]
        return min(dates) if dates else None

    @property
    def published_text(self) -> str | None:
        dated = [(d, c.published) for c in self.copies if (d := _parse_time(c.published, CHINA))]
        return min(dated)[1] if dated else None

    @property
    def latest_fetch(self) -> datetime | None:
        times = [t for c in self.copies if (t := _parse_time(c.fetched, UTC)) is not None]
        return max(times) if times else None

    @property
    def gone(self) -> bool:
        return bool(self.copies) and all(c.status == "gone" for c in self.copies)


@dataclass
class Cell:
    """One agency-year: its reports (present) or none (missing)."""

    agency: str
    year: int
    reports: list[Report] = field(default_factory=list)
    flags: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        return self.flags[0] if self.flags else "missing"

    @property
    def present(self) -> bool:
        return bool(self.reports)

    @property
    def copies(self) -> list[Copy]:
        return [c for r in self.reports for c in r.copies]

    @property
    def urls(self) -> list[str]:
        return [c.url for c in self.copies]

    @property
    def groups(self) -> list[str]:
        return [r.group for r in self.reports if r.group is not None]

    @property
    def published(self) -> str | None:
        """The earliest publication date of the cell's reports, as printed (ISO 8601, +08:00)."""
        dated = [(d, r.published_text) for r in self.reports if (d := r.published) is not None]
        return min(dated)[1] if dated else None

    def describe(self) -> str:
        """A one-paragraph plain-text account of the cell (the HTML tooltip)."""
        head = f"{self.agency} {self.year}: " + ", ".join(
            LABELS[f] for f in self.flags or ("missing",)
        )
        if not self.present:
            return head + f" (reported for {self.year - 1}, nothing found for {self.year})"
        parts = [head]
        due = deadline(self.year) - timedelta(seconds=1)
        parts.append(f"due by {due:%Y-%m-%d} (China time); published {self.published or 'unknown'}")
        for i, rep in enumerate(self.reports, 1):
            label = f"report {i}" if len(self.reports) > 1 else "report"
            gone = sum(c.status == "gone" for c in rep.copies)
            line = f"{label}: {len(rep.copies)} cop{'y' if len(rep.copies) == 1 else 'ies'}"
            if gone:
                line += f", {gone} gone"
            if not rep.has_tables:
                line += ", no parsed tables"
            else:
                line += f", {len(rep.failed_checks)} failed table checks"
                if rep.unevaluable_checks:
                    line += f", {rep.unevaluable_checks} not evaluable (empty cells)"
            parts.append(line)
            parts.extend(f"  {c.url}" for c in rep.copies)
            parts.extend(
                f"  ! {chk.get('rule')}: {chk.get('detail') or ''}".rstrip()
                for chk in rep.failed_checks[:3]
            )
        return "\n".join(parts)


@dataclass
class Coverage:
    """The agency x year matrix. ``cells`` holds present and missing cells only."""

    agencies: list[str]
    years: list[int]
    cells: dict[tuple[str, int], Cell]
    unplaced: list[dict[str, Any]]
    as_of: datetime | None
    # Hosts the last crawl found behind an anti-bot challenge (run summary ``blocked.hosts``):
    # their reports may be missing from this matrix because nothing could be fetched.
    blocked: dict[str, int] = field(default_factory=dict)

    def cell(self, agency: str, year: int) -> Cell | None:
        return self.cells.get((agency, year))

    def rows(self) -> list[Cell]:
        """Every present or missing cell, by agency then year."""
        return [self.cells[k] for k in sorted(self.cells, key=lambda k: (k[0], k[1]))]

    def counts(self, year: int) -> dict[str, int]:
        """Per state (and ``reported``: agency-years with a report) for one year."""
        out = dict.fromkeys(("reported", *ALL_STATES), 0)
        for (_, y), cell in self.cells.items():
            if y == year:
                out[cell.state] += 1
                out["reported"] += cell.present
        return out

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(("reported", *ALL_STATES), 0)
        for cell in self.cells.values():
            out[cell.state] += 1
            out["reported"] += cell.present
        out["reports"] = sum(len(c.reports) for c in self.cells.values())
        out["copies"] = sum(len(c.copies) for c in self.cells.values())
        return out

    def summary_line(self) -> str:
        t = self.totals()
        years = f"{self.years[0]}-{self.years[-1]}" if self.years else "no years"
        return (
            f"coverage of {len(self.agencies)} agencies x {years}: {t['reported']} agency-years "
            f"reported ({t['on_time']} on time, {t['late']} late, {t['inconsistent']} "
            f"inconsistent, {t['gone']} gone, {t['undated']} undated), {t['missing']} missing"
        ) + (f"; blocked in the last crawl: {', '.join(self.blocked)}" if self.blocked else "")


def _checks(record: dict[str, Any]) -> tuple[bool, list[dict[str, Any]], int]:
    tables = record.get("tables")
    if not isinstance(tables, dict):
        return False, [], 0
    failed, unevaluable = [], 0
    for chk in tables.get("checks") or []:
        if chk.get("ok") is None or chk.get("evaluable") is False:  # not evaluable (v2, v1)
            unevaluable += 1
        elif chk.get("ok") is False:
            failed.append(chk)
    return True, failed, unevaluable


def _flags(cell: Cell) -> tuple[str, ...]:
    reports = cell.reports
    flags = []
    if all(r.gone for r in reports):
        flags.append("gone")
    if any(r.failed_checks for r in reports):
        flags.append("inconsistent")
    due = deadline(cell.year)
    published = [d for r in reports if (d := r.published) is not None]
    if published:
        flags.append("late" if min(published) >= due else "on_time")
    else:
        # No date printed anywhere: a capture made before the deadline still proves timeliness.
        fetched = [t for r in reports if (t := r.latest_fetch) is not None]
        flags.append("on_time" if fetched and min(fetched) < due else "undated")
    return tuple(f for f in STATES if f in flags)


def build_coverage(records: list[dict[str, Any]], *, as_of: datetime | None = None) -> Coverage:
    """The coverage matrix of report records (reports.jsonl's). Pure: no I/O.

    ``as_of`` is when the archive last looked (default: the latest ``fetched`` of the records);
    a year is only called missing once its deadline has passed by then.
    """
    by_url: dict[str, dict[str, Any]] = {}
    for rec in records:
        url = rec.get("url")
        if not url:
            continue
        old = by_url.get(url)
        # Duplicate URLs in the input: keep the latest capture, as reports.jsonl would.
        if old is None or str(rec.get("fetched") or "") >= str(old.get("fetched") or ""):
            by_url[url] = rec

    if as_of is None:
        fetched = [t for r in by_url.values() if (t := _parse_time(r.get("fetched"), UTC))]
        as_of = max(fetched) if fetched else None

    cells: dict[tuple[str, int], Cell] = {}
    unplaced: list[dict[str, Any]] = []
    for url in sorted(by_url):
        rec = by_url[url]
        agency = (rec.get("agency") or "").strip()
        year = _int_or_none(rec.get("year"))
        if not agency or year is None:
            unplaced.append(
                {"url": url, "title": rec.get("title"), "agency": agency or None, "year": year}
            )
            continue
        cell = cells.setdefault((agency, year), Cell(agency, year))
        group = rec.get("group")
        group = str(group) if group is not None else None
        key = f"group:{group}" if group is not None else f"url:{url}"
        report = next((r for r in cell.reports if r.key == key), None)
        if report is None:
            report = Report(key=key, group=group)
            cell.reports.append(report)
        report.copies.append(
            Copy(url, rec.get("fetched"), rec.get("status"), rec.get("published"), group)
        )
        has_tables, failed, unevaluable = _checks(rec)
        report.has_tables |= has_tables
        report.failed_checks.extend(failed)
        report.unevaluable_checks += unevaluable

    for cell in cells.values():
        cell.flags = _flags(cell)

    years_seen = sorted({y for _, y in cells})
    agencies = sorted({a for a, _ in cells})
    if years_seen:
        latest = years_seen[-1]
        present = defaultdict(set)
        for a, y in cells:
            present[a].add(y)
        for agency, ys in present.items():
            for y in sorted(ys):
                nxt = y + 1
                if nxt > latest or nxt in ys:
                    continue
                if as_of is not None and as_of < deadline(nxt):
                    continue  # not due yet
                cells[(agency, nxt)] = Cell(agency, nxt)
    years = list(range(years_seen[0], years_seen[-1] + 1)) if years_seen else []
    return Coverage(agencies, years, cells, unplaced, as_of)


# -- output ---------------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    """Write to a hidden temporary name beside ``path``, fsync, rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def csv_rows(coverage: Coverage, replay_base: str = DEFAULT_REPLAY_BASE) -> list[dict[str, Any]]:
    rows = []
    for cell in coverage.rows():
        rows.append(
            {
                "agency": cell.agency,
                "year": cell.year,
                "state": cell.state,
                "published": cell.published or "",
                "urls": " ".join(cell.urls),
                "replay": " ".join(c.replay_url(replay_base) for c in cell.copies),
                "group": " ".join(cell.groups),
            }
        )
    return rows


def write_csv(coverage: Coverage, path: Path, replay_base: str = DEFAULT_REPLAY_BASE) -> Path:
    """One row per present or missing agency-year (UTF-8, header row ``CSV_COLUMNS``)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(coverage, replay_base))
    _write_atomic(Path(path), buf.getvalue())
    return Path(path)


_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC",
       "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 16px 20px; color: #111; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 6px; }
p.meta { margin: 0 0 10px; color: #444; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 8px 0 14px; }
.legend .key { display: inline-flex; align-items: center; gap: 6px; }
.sw { display: inline-block; width: 16px; height: 16px; border: 1px solid #888;
      box-sizing: border-box; vertical-align: middle; }
.sw.empty { background: EMPTY; }
table.grid { border-collapse: separate; border-spacing: 2px; }
table.grid th { font-weight: 600; text-align: right; white-space: nowrap; padding: 0 8px 0 0; }
table.grid thead th { text-align: center; padding: 0; font-size: 12px; }
table.grid tbody th[scope=row] { position: sticky; left: 0; background: #fff; z-index: 1; }
td.c { width: 64px; min-width: 64px; height: 26px; padding: 0; text-align: center;
       vertical-align: middle; font-size: 11px; background: EMPTY; }
td.c a { color: inherit; text-decoration: none; }
td.c a:hover, td.c a:focus { text-decoration: underline; }
td.c a.copy { font-size: 9px; vertical-align: super; margin-left: 2px; }
td.s-gone a { text-decoration: line-through; }
td.bar { height: 50px; vertical-align: bottom; padding: 0; }
td.bar div.stack { display: flex; flex-direction: column-reverse; width: 64px; }
td.bar div.stack span { display: block; width: 100%; }
tfoot td { text-align: center; font-size: 12px; color: #222; }
tfoot th { font-weight: normal; }
tfoot tr.reported td, tfoot tr.reported th { font-weight: 600; border-top: 1px solid #999; }
ul.unplaced { font-size: 13px; }
.notes { font-size: 12px; color: #444; max-width: 70em; }
"""


def _style_for_states() -> str:
    lines = []
    for state in ALL_STATES:
        bg, fg = COLOURS[state], TEXT_COLOURS[state]
        lines.append(f".s-{state} {{ background: {bg}; color: {fg}; }}")
        lines.append(f"td.c.s-{state} {{ background: {bg}; color: {fg}; }}")
    return "\n".join(lines)


def _cell_text(cell: Cell) -> str:
    published = cell.published
    if not published:
        return "?"
    d = _parse_time(published, CHINA)
    if d is None:
        return "?"
    d = d.astimezone(CHINA)
    return f"{d:%m-%d}" if d.year == cell.year + 1 else f"{d:%Y-%m-%d}"


def _cell_html(cell: Cell | None, replay_base: str, agency: str, year: int) -> str:
    esc = html.escape
    if cell is None:
        return f'<td class="c" title="{esc(f"{agency} {year}: no report expected or found")}"></td>'
    title = esc(cell.describe())
    classes = f"c s-{cell.state}"
    style = ""
    secondary = [f for f in cell.flags[1:] if f != "on_time"]
    if secondary:
        # Other states that need attention: thin stripes along the bottom edge, one per state.
        shadows = ", ".join(
            f"inset 0 -{4 * (i + 1)}px 0 {COLOURS[f]}" for i, f in enumerate(secondary)
        )
        style = f' style="box-shadow: {shadows}"'
    data = f' data-state="{cell.state}" data-flags="{" ".join(cell.flags)}"'
    if not cell.present:
        return f'<td class="{classes}"{data} title="{title}">missing</td>'
    links = []
    for i, copy in enumerate(cell.copies):
        href = esc(copy.replay_url(replay_base))
        if i == 0:
            links.append(f'<a href="{href}" title="{esc(copy.url)}">{esc(_cell_text(cell))}</a>')
        else:
            links.append(f'<a class="copy" href="{href}" title="{esc(copy.url)}">{i + 1}</a>')
    return f'<td class="{classes}"{data}{style} title="{title}">{"".join(links)}</td>'


def _bar_html(counts: dict[str, int], scale: float) -> str:
    parts = []
    # Bottom to top: on time first, then the states that need attention.
    for state in ("on_time", "undated", "late", "inconsistent", "gone", "missing"):
        n = counts[state]
        if n:
            height = max(2, round(n * scale))
            parts.append(
                f'<span class="s-{state}" style="height:{height}px" '
                f'title="{n} {html.escape(LABELS[state])}"></span>'
            )
    return f'<td class="bar"><div class="stack">{"".join(parts)}</div></td>'


def render_html(
    coverage: Coverage, replay_base: str = DEFAULT_REPLAY_BASE, title: str | None = None
) -> str:
    """The whole page as a string (see ``write_html``)."""
    esc = html.escape
    totals = coverage.totals()
    title = title or "Annual-report coverage by agency and year"
    as_of = coverage.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if coverage.as_of else "-"
    years = coverage.years
    per_year = {y: coverage.counts(y) for y in years}
    peak = max((sum(c[s] for s in ALL_STATES) for c in per_year.values()), default=0)
    scale = 46 / peak if peak else 0

    out = io.StringIO()
    w = out.write
    css = _CSS.replace("EMPTY", EMPTY_COLOUR) + _style_for_states()
    w('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    w(f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n")
    w(f"<h1>{esc(title)}</h1>\n")
    w(
        f'<p class="meta">{len(coverage.agencies)} agencies, '
        f"{esc(f'{years[0]}–{years[-1]}' if years else 'no years')}; "
        f"{totals['reported']} agency-years reported ({totals['reports']} distinct reports, "
        f"{totals['copies']} URLs), {totals['missing']} missing; archive as of {esc(as_of)}. "
        "Reports are due by 31 January of the following year (China time).</p>\n"
    )
    if coverage.blocked:
        w(
            '<p class="blocked">Blocked by an anti-bot challenge in the last crawl (nothing '
            "could be fetched there, so its reports may show as missing): "
            + ", ".join(f"{esc(host)} ({n} pages)" for host, n in coverage.blocked.items())
            + "</p>\n"
        )
    w('<div class="legend" id="legend">\n')
    for state in ("on_time", "late", "missing", "inconsistent", "gone", "undated"):
        w(
            f'<span class="key"><span class="sw s-{state}"></span>{esc(LABELS[state])} '
            f"({totals[state]})</span>\n"
        )
    w('<span class="key"><span class="sw empty"></span>no report expected</span>\n</div>\n')

    w('<table class="grid">\n<thead>\n<tr class="bars"><th></th>')
    for y in years:
        w(_bar_html(per_year[y], scale))
    w('</tr>\n<tr><th scope="col">agency</th>')
    for y in years:
        w(f'<th scope="col">{y}</th>')
    w("</tr>\n</thead>\n<tbody>\n")
    for agency in coverage.agencies:
        w(f'<tr><th scope="row" lang="zh-CN">{esc(agency)}</th>')
        for y in years:
            w(_cell_html(coverage.cell(agency, y), replay_base, agency, y))
        w("</tr>\n")
    w("</tbody>\n<tfoot>\n")
    w('<tr class="reported"><th scope="row">reported</th>')
    for y in years:
        w(f"<td>{per_year[y]['reported']}</td>")
    w("</tr>\n")
    for state in ("on_time", "late", "inconsistent", "gone", "undated", "missing"):
        w(f'<tr><th scope="row"><span class="sw s-{state}"></span> {esc(LABELS[state])}</th>')
        for y in years:
            n = per_year[y][state]
            w(f"<td>{n if n else ''}</td>")
        w("</tr>\n")
    w("</tfoot>\n</table>\n")

    if coverage.unplaced:
        w(f"<h2>Reports without an agency or a year ({len(coverage.unplaced)})</h2>\n")
        w('<ul class="unplaced">\n')
        for rec in coverage.unplaced:
            w(
                f'<li><a href="{esc(rec["url"])}">{esc(rec["url"])}</a> '
                f'<span lang="zh-CN">{esc(rec.get("title") or "")}</span></li>\n'
            )
        w("</ul>\n")
    w(
        '<p class="notes">Each cell counts a report once however many URLs carry it; the date is '
        "the earliest publication (month-day of the following year) and links to the capture in "
        "<code>govcrawl replay</code> (further copies are numbered). A cell shows the first state "
        "that applies in the order gone, inconsistent, late, no date, on time; other problems "
        "that also apply are thin stripes along its bottom edge. Missing: the agency reported "
        "the year before but nothing was found for this year, once its deadline has passed. "
        "Gone: every "
        "URL of the report vanished from the portal (the archived capture remains). "
        "Inconsistent: the report's own table arithmetic fails (checks that could not be "
        "evaluated because cells are empty do not count). Hover a cell for details.</p>\n"
    )
    w("</body>\n</html>\n")
    return out.getvalue()


def write_html(coverage: Coverage, path: Path, replay_base: str = DEFAULT_REPLAY_BASE) -> Path:
    """Write the self-contained page (temporary name, then rename)."""
    _write_atomic(Path(path), render_html(coverage, replay_base))
    return Path(path)


def load_records(archive: Path) -> list[dict[str, Any]]:
    from govcrawl.archive.reports import read_reports

    path = Path(archive) / "reports.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no reports.jsonl in {archive}: run `govcrawl crawl` first")
    return list(read_reports(path).values())


def _last_blocked(archive: Path) -> dict[str, int]:
    """``blocked.hosts`` of the archive's latest run summary ({} when none says so)."""
    runs = sorted((archive / "runs").glob("*.json"))
    if not runs:
        return {}
    try:
        summary = json.loads(runs[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    hosts = (summary.get("blocked") or {}).get("hosts") or {}
    return {str(k): int(v) for k, v in hosts.items()} if isinstance(hosts, dict) else {}


def coverage_for_archive(
    archive: Path,
    out_html: Path,
    out_csv: Path,
    replay_base: str = DEFAULT_REPLAY_BASE,
) -> Coverage:
    """Build the coverage of ARCHIVE/reports.jsonl and write the HTML page and the CSV."""
    coverage = build_coverage(load_records(Path(archive)))
    coverage.blocked = _last_blocked(Path(archive))
    write_html(coverage, Path(out_html), replay_base)
    write_csv(coverage, Path(out_csv), replay_base)
    logger.info("coverage written to %s and %s", out_html, out_csv)
    return coverage
