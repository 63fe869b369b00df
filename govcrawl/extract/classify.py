"""Is a page an information-disclosure annual report? For which year, by which agency?

Cheap signals only (title, heading, a few regexes over the page's lines), so the spider can run
it on every article: the title must name a 政府信息公开(工作)年度报告 / 年报 and not be a
notice, plan, budget, news item or interpretation about one; without such a title the page
must carry the report template's numbered section headings. List pages (many title-like links,
little text of their own) are never reports.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree

from govcrawl.extract import dom, patterns
from govcrawl.extract.metadata import PageMetadata, parse_metadata

logger = logging.getLogger(__name__)


@dataclass
class Classification:
    is_report: bool
    year: int | None  # the year reported on
    agency: str | None  # full name of the issuing body
    reason: str  # which signal decided, for logs and audits


_REPORT = re.compile(patterns.REPORT_PHRASE)
_EXCLUDED = [(re.compile(p), why) for p, why in patterns.EXCLUDED_TITLES]
_SECTIONS = [re.compile(patterns.SECTION_NUMBER + r"\s*" + s) for s in patterns.REPORT_SECTIONS]
_PERIOD = re.compile(patterns.PERIOD_YEAR)
_BODY_YEAR = re.compile(patterns.BODY_YEAR)
_AGENCY_STATEMENTS = [re.compile(p) for p in patterns.AGENCY_STATEMENTS]
_NOT_AGENCY = re.compile(patterns.NOT_AGENCY)
_ORGAN = re.compile(patterns.ORGAN_SUFFIX)
_URL_HINTS = [re.compile(p) for p in patterns.REPORT_URL_HINTS]
_TRUNCATED = re.compile(patterns.TRUNCATED_TEXT)
_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_YEAR = re.compile(
    r"(?P<y>(?:19|20)\d{2}|[〇○零一二][〇○零一二三四五六七八九]{3})\s*(?P<suffix>年\s*度?|年)?"
)
_TITLE_AGENCY = re.compile(
    r"^(?P<pre>.*?)(?P<y>(?:19|20)\d{2}|[〇○零一二][〇○零一二三四五六七八九]{3})\s*年?\s*度?\s*(?P<mid>.*?)"
    r"(?:政府|政务)?(?:信息公开|政务公开)"
)
_TITLE_AGENCY_NO_YEAR = re.compile(r"^(?P<pre>.+?)(?:(?:政府|政务)?信息公开|政务公开)")
_PLACE = re.compile(
    "^(?P<place>["
    + patterns.CJK
    + r"]{2,16}?(?:"
    + "|".join(s for s, _ in patterns.PLACE_GOVERNMENT)
    + r"))$"
)
_AGENCY_TRIM = re.compile(r"^(?:关于|印发|公布|发布)+|(?:关于|的|之|年|度|[、,，:：《》“”\"'\s])+$")

_MIN_YEAR, _MAX_YEAR = 1990, 2100


# --------------------------------------------------------------------------- years


def _to_year(text: str) -> int | None:
    if text[0] in _CN_DIGITS:
        try:
            value = int("".join(str(_CN_DIGITS[c]) for c in text))
        except KeyError:
            return None
    else:
        value = int(text)
    return value if _MIN_YEAR <= value <= _MAX_YEAR else None


def report_year_from_title(title: str | None) -> int | None:
    """The year a report title names (``兴安盟公安局2021政府信息公开…`` -> 2021), or None.

    Takes the last year before the report phrase (``2022年发布2021年度报告`` names 2021), else the
    first year in the title.
    """
    if not title:
        return None
    title = dom.squeeze_cjk(title)
    phrase = _REPORT.search(title)
    years = [(m.start(), _to_year(m.group("y"))) for m in _YEAR.finditer(title)]
    years = [(pos, y) for pos, y in years if y is not None]
    if not years:
        return None
    if phrase:
        before = [y for pos, y in years if pos < phrase.start()]
        if before:
            return before[-1]
    return years[0][1]


def _year_from_body(lines: list[str]) -> tuple[int | None, str]:
    head = "\n".join(lines[:60])
    match = _PERIOD.search(head)
    if match:
        return int(match["y"]), "statistics period"
    match = _BODY_YEAR.search(head)
    if match:
        return int(match["y"]), "first year statement"
    counts = Counter(int(m.group(1)) for m in re.finditer(r"((?:19|20)\d{2})\s*年", head[:1500]))
    if counts:
        return counts.most_common(1)[0][0], "most mentioned year"
    return None, ""


# --------------------------------------------------------------------------- agency


def _clean_agency(text: str | None) -> str | None:
    if not text:
        return None
    text = dom.squeeze_cjk(text)
    previous = None
    while previous != text:
        previous = text
        text = _AGENCY_TRIM.sub("", text).strip()
    if len(text) < 2 or _NOT_AGENCY.match(text) or not dom.cjk_count(text):
        return None
    return text


def _agency_from_title(title: str) -> str | None:
    title = dom.squeeze_cjk(title)
    match = _TITLE_AGENCY.search(title)
    if match:
        return _clean_agency(match["pre"]) or _clean_agency(match["mid"])
    match = _TITLE_AGENCY_NO_YEAR.search(title)
    if match:
        return _clean_agency(match["pre"])
    return None


def _agency_from_body(lines: list[str]) -> str | None:
    head = "".join(dom.squeeze_cjk(x) for x in lines[:40])[:1500]
    for regex in _AGENCY_STATEMENTS:
        for match in regex.finditer(head):
            agency = _clean_agency(match["a"])
            if agency:
                return agency
    return None


def _expand_place(agency: str, lines: list[str]) -> str:
    """A bare place name (兴安盟, 科尔沁右翼前旗) stands for its government: name that body."""
    if _ORGAN.search(agency) or not _PLACE.match(agency):
        return agency
    head = "".join(dom.squeeze_cjk(x) for x in lines[:80])
    found = re.search(re.escape(agency) + patterns.PLACE_GOVERNMENT_NAMES, head)
    if found:
        suffix = found.group()[len(agency) :]
        return agency + ("行政公署" if suffix == "行署" else suffix)
    for place_suffix, government in patterns.PLACE_GOVERNMENT:
        if agency.endswith(place_suffix):
            return agency + government
    return agency


# --------------------------------------------------------------------------- page kinds


def _is_list_page(tree: etree._Element) -> bool:
    body = tree.find("body")
    if body is None:
        return False
    long_links = [
        a for a in body.iter("a") if dom.cjk_count("".join(a.itertext())) >= patterns.LONG_LINK_CJK
    ]
    if len(long_links) < patterns.LIST_MIN_LONG_LINKS:
        return False
    content = dom.find_content(tree)
    own_text = dom.text_cjk(content if content is not None else body)
    return own_text < patterns.LIST_BODY_MAX_CJK


def _excluded(title: str) -> str | None:
    for regex, why in _EXCLUDED:
        if regex.search(title):
            return why
    return None


def _section_count(lines: list[str]) -> int:
    found = set()
    for line in lines:
        if len(line) > 80:
            continue
        for i, regex in enumerate(_SECTIONS):
            if regex.search(line):
                found.add(i)
    return len(found)


def looks_like_report_link(text: str, url: str) -> bool:
    """Cheap filter for anchors on list pages: is this link worth fetching as a report?

    True for anchor texts naming a report (also when the list template truncated them, as in
    ``兴安盟生态环境局2021年政府信息公开工作年度...``) and for report-only URLs (Hanweb's
    ``xxgkAnnualReport.jsp``); False for notices, plans, budgets and news about reports.
    """
    text = dom.squeeze_cjk(text or "")
    if text and _excluded(text):
        return False
    if text and _REPORT.search(text):
        return True
    if text and _TRUNCATED.search(text) and re.search(r"信息公开|政务公开", text):
        return bool(_YEAR.search(text)) or "年度" in text
    return any(h.search(url or "") for h in _URL_HINTS) and bool(
        re.search(r"\d{4}|年", text or url)
    )


def classify_page(html: str, url: str, meta: PageMetadata | None = None) -> Classification:
    """Classify an article page; see the module docstring for the rules."""
    tree = dom.parse_cached(html)
    if meta is None:
        meta = parse_metadata(html, url)
    body = tree.find("body")
    lines = dom.render_lines(body if body is not None else tree)
    title = dom.squeeze_cjk(meta.title or "")

    if _is_list_page(tree):
        return Classification(False, None, None, "list page: many title links, little text")
    excluded = _excluded(title) if title else None
    if excluded:
        return Classification(False, None, None, f"title is a {excluded}")

    sections = _section_count(lines)
    title_year = report_year_from_title(title)
    if title and _REPORT.search(title) and (title_year is not None or sections >= 1):
        reason = "report title"
    elif sections >= 2:
        reason = f"report section headings ({sections})"
    elif sections >= 1 and any(h.search(url or "") for h in _URL_HINTS):
        reason = "report URL and a report section heading"
    else:
        return Classification(False, None, None, "no report title or report sections")

    year, how = title_year, "title"
    if year is None:
        year, how = _year_from_body(lines)
    if year is None and meta.published:
        year, how = int(meta.published[:4]) - 1, "publication year - 1"

    agency = _agency_from_title(title) if title else None
    if agency is None:
        agency = _agency_from_body(lines)
    if agency is not None:
        agency = _expand_place(agency, lines)

    logger.debug("%s is a report (%s): year %s from %s, agency %s", url, reason, year, how, agency)
    return Classification(True, year, agency, f"{reason}; year from {how}" if year else reason)


def looks_like_report_title(text: str, url: str = "", keywords: tuple[str, ...] = ()) -> bool:
    """Whether a list item or link is worth fetching as a report: ``looks_like_report_link``,
    or the anchor holds one of a profile's ``keywords`` (report_link_keywords) and is not a
    notice, plan, budget or news item about a report (the same exclusions)."""
    if looks_like_report_link(text, url):
        return True
    squeezed = dom.squeeze_cjk(text or "")
    return bool(squeezed) and any(k in squeezed for k in keywords) and not _excluded(squeezed)
