"""Page metadata of an article: title, 来源 (source), publication date.

Dates come only from what the page prints (its 发布日期 / 发布时间 / 时间 line, a 信息公开目录
header table) or from its <meta> publication-date tags, never from the URL: migrated articles
carry path dates and ids that do not match the real publication date.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from lxml import etree

from govcrawl.extract import dom, patterns

logger = logging.getLogger(__name__)

CHINA_TZ = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class MetadataLabels:
    """Label patterns (regex sources) for the metadata line; a site profile may override any.

    ``source``: labels before the 来源 value; ``source_stops``: labels that end that value;
    ``published``: labels naming the publication date; ``generic_date``: bare 时间/日期 labels
    accepted only inside a metadata line; ``other_dates``: labels of other dates (成文日期,
    发文日期, ...) that must never be read as the publication date; ``meta_line``: labels that
    mark a line as a metadata line; ``meta_date_names``: <meta> names/properties (lower case)
    carrying the publication date.
    """

    source: tuple[str, ...] = patterns.SOURCE_LABELS
    source_stops: tuple[str, ...] = patterns.SOURCE_STOP_LABELS
    published: tuple[str, ...] = patterns.PUBLISHED_LABELS
    generic_date: tuple[str, ...] = patterns.GENERIC_DATE_LABELS
    other_dates: tuple[str, ...] = patterns.OTHER_DATE_LABELS
    meta_line: tuple[str, ...] = patterns.META_LINE_LABELS
    meta_date_names: tuple[str, ...] = patterns.META_DATE_NAMES

    @classmethod
    def from_mapping(cls, data: Mapping[str, Iterable[str]]) -> MetadataLabels:
        """Build labels from a profile table; unknown keys and bad regexes are errors."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown metadata label keys: {sorted(unknown)}")
        values: dict[str, tuple[str, ...]] = {}
        for key, items in data.items():
            if isinstance(items, str):
                raise ValueError(f"metadata labels {key!r} must be a list of patterns")
            values[key] = tuple(items)
            if not values[key]:
                raise ValueError(f"metadata labels {key!r} is empty")
            for item in values[key]:
                try:
                    re.compile(item)
                except re.error as exc:
                    raise ValueError(
                        f"bad regex in metadata labels {key!r}: {item!r}: {exc}"
                    ) from exc
        labels = cls(**values)
        _compile(labels)
        return labels


@dataclass
class PageMetadata:
    title: str | None
    source: str | None
    # ISO 8601 at the printed precision: "2021-01-29", "2021-01-29T16:22+08:00" or
    # "2021-01-29T16:22:09+08:00" (China time); never a time of day the page does not print.
    published: str | None
    published_raw: str | None  # the date as printed on the page (or the <meta> content)


@dataclass(frozen=True)
class _Compiled:
    source: re.Pattern[str]
    published: re.Pattern[str]
    generic: re.Pattern[str]
    other: re.Pattern[str]
    meta_line: re.Pattern[str]


def _alt(items: Iterable[str]) -> str:
    return "(?:" + "|".join(f"(?:{x})" for x in items) + ")"


@lru_cache(maxsize=32)
def _compile(labels: MetadataLabels) -> _Compiled:
    sep = patterns.LABEL_SEP
    # The 来源 value also ends where a date label starts, whatever labels a profile uses.
    stops = _alt((*labels.source_stops, *labels.published, *labels.generic_date))
    return _Compiled(
        source=re.compile(
            _alt(labels.source) + r"\s*(?:[:：]|\|)\s*(?P<v>.*?)\s*(?=" + stops + r"|$)"
        ),
        published=re.compile(_alt(labels.published) + sep + patterns.DATE_VALUE),
        generic=re.compile(_alt(labels.generic_date) + sep + patterns.DATE_VALUE),
        other=re.compile(_alt(labels.other_dates)),
        meta_line=re.compile(_alt(labels.meta_line) + r"\s*(?:[:：]|\|)"),
    )


_DATE = re.compile(patterns.DATE_VALUE)
_REPORT = re.compile(patterns.REPORT_PHRASE)
_TITLE_CLASS = re.compile(patterns.TITLE_CLASS)
_NON_ARTICLE = re.compile(patterns.NON_ARTICLE_CLASS)
_TITLE_SPLIT = re.compile(patterns.TITLE_SEPARATORS)
_TITLE_PREFIXES = [re.compile(p, re.I) for p in patterns.TITLE_PREFIXES]
_BARE_AGENCY = re.compile(patterns.BARE_AGENCY)
_WIDGET = re.compile(patterns.WIDGET_LINE)
_WIDGET_WORD = re.compile(patterns.WIDGET_WORD)
_DOC_END = re.compile(
    r"(?:报告|年报|通知|公告|通告|决定|意见|办法|方案|规划|总结|公报|预算|决算|函|批复|细则|规定)$"
)
_SENTENCE = re.compile(
    r"[。，,；;！？!?]|^\s*[一二三四五六七八九十]+\s*[、.．]|^\s*[(（][一二三四五六七八九十]+[)）]"
)


# --------------------------------------------------------------------------- dates


def _iso(match: re.Match[str]) -> str | None:
    """The printed date in ISO 8601 at its printed precision: ``2021-01-29`` for a date alone,
    ``2021-01-29T16:22+08:00`` for hours and minutes, ``...T16:22:09+08:00`` with seconds."""
    try:
        y, m, d = int(match["y"]), int(match["m"]), int(match["d"])
        if not match["H"]:
            return date(y, m, d).isoformat()
        hh, mm = int(match["H"]), int(match["M"])
        ss = int(match["S"]) if match["S"] else 0
        if hh > 23 or mm > 59 or ss > 59:  # a time of day that cannot be: keep the date
            return date(y, m, d).isoformat()
        value = datetime(y, m, d, hh, mm, ss, tzinfo=CHINA_TZ)
    except ValueError:
        return None
    return value.isoformat(timespec="seconds" if match["S"] else "minutes")


_ISO_TIME = re.compile(r"(\d{1,2}):(\d{2})(:\d{2})?")


def normalize_date(text: str) -> str | None:
    """ISO 8601 of a date as printed or as found in a <meta> tag, at the precision given
    (a date, or a China-time (+08:00) datetime to the minute or second), or None."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is not None:
        clock = _ISO_TIME.search(text, 10)  # a time of day after the date
        if clock is None and value.tzinfo is None:
            return value.date().isoformat()
        if value.tzinfo is None:
            value = value.replace(tzinfo=CHINA_TZ)
        value = value.astimezone(CHINA_TZ).replace(microsecond=0)
        seconds = clock is None or clock.group(3) is not None or value.second != 0
        return value.isoformat(timespec="seconds" if seconds else "minutes")
    match = _DATE.search(text)
    if match:
        return _iso(match)
    return _dateparser_iso(text)


def _dateparser_iso(text: str) -> str | None:
    # Imported lazily: dateparser is slow to import and rarely needed (odd <meta> formats).
    import dateparser

    value = dateparser.parse(
        text,
        settings={
            "TIMEZONE": "Asia/Shanghai",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "REQUIRE_PARTS": ["day", "month", "year"],
            "PREFER_DATES_FROM": "past",
        },
    )
    if value is None:
        return None
    value = value.astimezone(CHINA_TZ).replace(microsecond=0)
    if not re.search(r"\d{1,2}\s*[:：时]\s*\d{1,2}", text):
        return value.date().isoformat()  # no time of day printed
    seconds = re.search(r"\d{1,2}\s*[:：时]\s*\d{1,2}\s*[:：分]\s*\d{1,2}", text)
    return value.isoformat(timespec="seconds" if seconds else "minutes")


def precision(iso: str | None) -> int:
    """How much of a time ``normalize_date``/``_iso`` output gives: 0 none, 1 the day, 2 the
    minute, 3 the second."""
    if not iso:
        return 0
    if "T" not in iso:
        return 1
    return 3 if iso.count(":") >= 3 else 2


def _masked(line: str, compiled: _Compiled) -> str:
    """Blank out other-date labels (成文日期 ...) keeping offsets, so they are never matched."""
    return compiled.other.sub(lambda m: "#" * len(m.group()), line)


def _is_meta_line(line: str, compiled: _Compiled) -> bool:
    # 会议时间: / 成文日期: are not metadata labels of the page.
    masked = _masked(line, compiled)
    labels = {re.sub(r"\s", "", m.group()) for m in compiled.meta_line.finditer(masked)}
    if len(labels) >= 2:
        return True
    return bool(labels) and len(line) <= 60 and _DATE.search(line) is not None


def is_metadata_line(line: str, labels: MetadataLabels | None = None) -> bool:
    """True for a line like ``来源:盟公安局 发布日期:2022-01-21 18:27:17 点击量:``."""
    return _is_meta_line(line, _compile(labels or MetadataLabels()))


def is_widget_line(line: str) -> bool:
    """True for share / print / font-size widget lines (``字体大小:A+ A A- 分享: 打印``)."""
    return bool(_WIDGET.match(line)) and _WIDGET_WORD.search(line) is not None


def _published_candidates(lines: list[str], compiled: _Compiled) -> list[tuple[str, str]]:
    """Every publication date the page prints, best first (metadata lines, then any line)."""
    meta_lines = [line for line in lines if _is_meta_line(line, compiled)]
    found: list[tuple[str, str]] = []
    for group, regexes in (
        (meta_lines, (compiled.published, compiled.generic)),
        (lines, (compiled.published,)),
    ):
        for line in group:
            masked = _masked(line, compiled)
            for regex in regexes:
                for match in regex.finditer(masked):
                    iso = _iso(match)
                    if iso:
                        date = _DATE.search(line, match.start("y"))
                        raw = date.group().strip() if date else match.group().strip()
                        found.append((iso, raw))
        if found:
            break
    return found


def _most_precise(candidates: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first candidate, or a later one printing the same day more precisely.

    Header tables often print only the date (发布日期 | 2024-01-30) while the byline or a meta tag
    prints the same day with its time; the time is worth keeping.
    """
    if not candidates:
        return None
    best = candidates[0]
    for iso, raw in candidates[1:]:
        if iso[:10] == best[0][:10] and precision(iso) > precision(best[0]):
            best = (iso, raw)
    return best


def _published_from_meta(tree: etree._Element, labels: MetadataLabels) -> tuple[str, str] | None:
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (
            (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip().lower()
        )
        content = (meta.get("content") or "").strip()
        if key and content and key not in found:
            found[key] = content
    for name in labels.meta_date_names:
        content = found.get(name)
        if content:
            iso = normalize_date(content)
            if iso:
                return iso, content
    return None


# --------------------------------------------------------------------------- source


def _source(lines: list[str], compiled: _Compiled) -> str | None:
    """The 来源 value of the first metadata line (else short line) that has the label."""
    meta_lines = [line for line in lines if _is_meta_line(line, compiled)]
    short_lines = [line for line in lines if len(line) <= 60]
    for group in (meta_lines, short_lines):
        for line in group:
            match = compiled.source.search(line)
            if match:
                value = match.group("v").strip(" :：|【】[]")
                return dom.squeeze_cjk(value) or None
    return None


# --------------------------------------------------------------------------- title


def _clean_title_tag(text: str) -> str | None:
    text = dom.normalize_space(text)
    for prefix in _TITLE_PREFIXES:
        text = prefix.sub("", text)
    parts = [p for p in _TITLE_SPLIT.split(text) if p.strip()]
    if not parts:
        return None
    for part in parts:
        if _REPORT.search(part):
            return dom.squeeze_cjk(part)
    return dom.squeeze_cjk(parts[0])


def _in_non_article(el: etree._Element) -> bool:
    for node in (el, *el.iterancestors()):
        hint = f"{node.get('class', '')} {node.get('id', '')}".strip()
        if hint and _NON_ARTICLE.search(hint):
            return True
    return False


def _heading(tree: etree._Element, page_title: str | None) -> str | None:
    best: tuple[int, str] | None = None
    for meta in tree.iter("meta"):
        if (meta.get("name") or meta.get("property") or "").lower() in patterns.META_TITLE_NAMES:
            text = dom.squeeze_cjk(meta.get("content") or "")
            if text:
                best = (4, text)
                break
    body = tree.find("body")
    if body is None:
        return best[1] if best else None
    for el in body.iter():
        tag = dom.tag_of(el)
        if tag is None or tag in dom.SKIP_TAGS or tag == "a":
            continue
        hint = f"{el.get('class', '')} {el.get('id', '')}".strip()
        is_h = tag in ("h1", "h2", "h3")
        by_class = bool(hint) and _TITLE_CLASS.search(hint) is not None
        if not (is_h or by_class) or _in_non_article(el):
            continue
        text = dom.element_text(el)
        if not text or len(text) > 120:
            continue
        score = {"h1": 2, "h2": 1, "h3": 1}.get(tag, 0) + (2 if by_class else 0)
        if _REPORT.search(text):
            score += 3
        if page_title and (text in page_title or page_title in text):
            score += 2
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best else None


def _continued_title(heading: str, lines: list[str], compiled: _Compiled) -> str | None:
    """The title printed under a heading that only names the agency (possibly over 2-3 lines)."""
    squeezed = [dom.squeeze_cjk(line) for line in lines]
    try:
        start = squeezed.index(heading)
    except ValueError:
        return None
    parts: list[str] = []
    for line, flat in zip(
        lines[start + 1 : start + 12], squeezed[start + 1 : start + 12], strict=True
    ):
        if not parts and (_is_meta_line(line, compiled) or is_widget_line(line)):
            continue
        if len(flat) > 40 or _SENTENCE.search(line):
            break
        parts.append(flat)
        joined = dom.squeeze_cjk("".join(parts))
        if _DOC_END.search(joined):
            return joined
        if len(parts) >= 3:
            break
    return None


def _title(tree: etree._Element, lines: list[str], compiled: _Compiled) -> str | None:
    title_el = tree.find(".//title")
    page_title = _clean_title_tag(title_el.text_content()) if title_el is not None else None
    heading = _heading(tree, page_title)
    if heading is None:
        return page_title
    if _BARE_AGENCY.match(heading):
        continued = _continued_title(heading, lines, compiled)
        if continued:
            return continued
        if page_title and heading in page_title and len(page_title) > len(heading):
            return page_title
    return heading


# --------------------------------------------------------------------------- entry point


def parse_metadata(html: str, url: str, labels: MetadataLabels | None = None) -> PageMetadata:
    """Title, 来源 and publication date of an article page.

    ``url`` is accepted for logging and future per-site rules; it is never a source of dates.
    """
    compiled = _compile(labels or MetadataLabels())
    tree = dom.parse_cached(html)
    lines = list(dom.page_lines(html))
    source = _source(lines, compiled)
    candidates = _published_candidates(lines, compiled)
    from_meta = _published_from_meta(tree, labels or MetadataLabels())
    if from_meta:
        candidates.append(from_meta)
    found = _most_precise(candidates)
    published, raw = found if found else (None, None)
    title = _title(tree, lines, compiled)
    logger.debug("metadata of %s: %r %r %r", url, title, source, published)
    return PageMetadata(title=title, source=source, published=published, published_raw=raw)
