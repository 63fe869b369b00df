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
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from govcrawl.extract import dom, patterns
from govcrawl.extract.metadata import PageMetadata, parse_metadata

logger = logging.getLogger(__name__)


@dataclass
class Classification:
    is_report: bool
    year: int | None  # the year reported on
    agency: str | None  # the issuing body, as the page names it (None: the page does not say)
    reason: str  # which signal decided, for logs and audits
    # Where the page names the agency: "title", "header" (信息公开目录 发布机构), "source" (来源),
    # "signature", "statement" (本报告由…编制, 现将…年度报告…); for a title naming only a place,
    # where the page prints that place's government: also "body" (report text) or "site" (the
    # site's own name: <title>, logo, 主办). None when the page names no body.
    agency_from: str | None = None
    # The printed text the agency was read from; when agency is None, what the page does say.
    agency_evidence: str | None = None


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
    "^(?P<place>[" + patterns.CJK + r"]{2,16}?(?:" + "|".join(patterns.PLACE_SUFFIXES) + r"))$"
)
_HEADER_AGENCY = re.compile(
    "(?:" + "|".join(patterns.AGENCY_HEADER_LABELS) + r")\s*(?:[:：]|\|)\s*(?P<v>[^|\s:：]{2,40})"
)
_NAME_LINE = re.compile("[" + patterns.CJK + r"()（）]{2,40}")
_DATE_LINE = re.compile(r"\s*" + patterns.DATE_VALUE + r"\s*")
_BOILERPLATE = [re.compile(p, re.I) for p in patterns.BOILERPLATE_LINES]
_SITE_OWNER = re.compile(patterns.SITE_OWNER_LABELS)
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


def _agency_from_body(lines: list[str]) -> tuple[str, str] | None:
    """(agency, the sentence) from the report's first sentences (本报告由…, 现将…年度报告)."""
    head = "".join(dom.squeeze_cjk(x) for x in lines[:40])[:1500]
    for regex in _AGENCY_STATEMENTS:
        for match in regex.finditer(head):
            agency = _clean_agency(match["a"])
            if agency:
                return agency, match.group()
    return None


def _agency_from_header(lines: list[str]) -> tuple[str, str] | None:
    """(agency, line) from a 信息公开目录 header row (发布机构 | 盟农牧局)."""
    for line in lines[:60]:
        match = _HEADER_AGENCY.search(dom.squeeze_cjk(line))
        if match:
            agency = _clean_agency(match["v"])
            if agency:
                return agency, line
    return None


def _signature(content: list[str]) -> tuple[str, str] | None:
    """(agency, line) of a signature: an organ's name on its own line next to a date line,
    among the last lines of the report."""
    tail = content[-patterns.SIGNATURE_SEARCH_LINES :]
    for i in range(len(tail) - 1, -1, -1):
        name = dom.squeeze_cjk(tail[i])
        if not _NAME_LINE.fullmatch(name) or not _ORGAN.search(name):
            continue
        near = tail[max(0, i - 1) : i] + tail[i + 1 : i + 2]
        if any(_DATE_LINE.fullmatch(line) for line in near):
            agency = _clean_agency(name)
            if agency:
                return agency, tail[i]
    return None


def _is_place(name: str) -> bool:
    return not _ORGAN.search(name) and bool(_PLACE.match(name))


def _body_of_place(place: str, sources: list[tuple[str, list[str]]]) -> tuple[str, str, str] | None:
    """(agency, where, text): the government of ``place`` as the page prints it."""
    regex = re.compile(re.escape(place) + patterns.PLACE_BODY_NAMES)
    for where, lines in sources:
        kept = []
        for line in lines:
            flat = dom.squeeze_cjk(line)
            if where != "site" and any(rx.search(flat) for rx in _BOILERPLATE):
                continue  # page chrome: only the site's own name counts, last
            kept.append(flat)
            found = regex.search(flat)
            if found:
                return found.group(), where, line
        found = regex.search("".join(kept))  # a name wrapped over two lines
        if found:
            return found.group(), where, found.group()
    return None


def site_names(tree: etree._Element, lines: list[str]) -> list[str]:
    """Where a page names the body that runs its site: the <title> (…-科尔沁右翼前旗人民政府),
    the logo's alt text and the footer's 主办 line."""
    out = []
    title = tree.find(".//title")
    if title is not None and title.text_content().strip():
        out.append(title.text_content())
    out += [img.get("alt", "") for img in tree.iter("img") if img.get("alt")]
    out += [line for line in lines if _SITE_OWNER.search(line)]
    return out


def find_agency(
    title: str,
    lines: list[str],
    content: Callable[[], list[str]],
    source: str | None,
    site: Callable[[], list[str]] = list,
) -> tuple[str | None, str | None, str | None]:
    """``(agency, agency_from, evidence)``: the issuing body as the page names it.

    Looked for in the title, the report's opening statement, a 信息公开目录 header row, the
    来源 line and a signature (among the last of ``content()``'s lines), in that order. A name
    that is only a place (兴安盟, 平潭综合实验区) stands for its government only where the page
    prints that government's name; no name is ever made up (appending 人民政府 to a place
    invents bodies that do not exist); ``site()`` (``site_names``) is where the page names the
    body that runs the site. None, with what the page does say as evidence, when the page names
    no body. ``content`` and ``site`` are called only when the title does not name an organ.
    """
    named: list[tuple[str, str, str]] = []
    if title and (agency := _agency_from_title(title)):
        named.append((agency, "title", title))
        if not _is_place(agency):
            return agency, "title", title
    statement = _agency_from_body(lines)
    header = _agency_from_header(lines)
    content_lines = content()
    signature = _signature(content_lines)
    if statement:
        named.append((statement[0], "statement", statement[1]))
    if header:
        named.append((header[0], "header", header[1]))
    if source and (agency := _clean_agency(source)) and _ORGAN.search(agency):
        named.append((agency, "source", source))
    if signature:
        named.append((signature[0], "signature", signature[1]))
    if not named:
        return None, None, "no agency in the title, statements, header, 来源 or signature"
    agency, where, text = named[0]
    if not _is_place(agency):
        return agency, where, text
    places = [
        ("header", [header[1]] if header else []),
        ("source", [source] if source else []),
        ("signature", [signature[1]] if signature else []),
        ("statement", [statement[1]] if statement else []),
        ("body", lines[:80] + content_lines),
        ("site", site()),
    ]
    body = _body_of_place(agency, places)
    if body:
        return body
    return None, None, f"{where} names the place {agency}; the page prints no body of it"


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
    lines = list(dom.page_lines(html))
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

    def content() -> list[str]:
        block = dom.find_content(tree)
        return dom.render_lines(block) if block is not None else lines

    agency, agency_from, evidence = find_agency(
        title, lines, content, meta.source, lambda: site_names(tree, lines)
    )

    logger.debug("%s is a report (%s): year %s from %s, agency %s", url, reason, year, how, agency)
    return Classification(
        True,
        year,
        agency,
        f"{reason}; year from {how}" if year else reason,
        agency_from,
        evidence,
    )



def looks_like_report_title(text: str, url: str = "", keywords: tuple[str, ...] = ()) -> bool:
    """Whether a list item or link is worth fetching as a report: ``looks_like_report_link``,
    or the anchor holds one of a profile's ``keywords`` (report_link_keywords) and is not a
    notice, plan, budget or news item about a report (the same exclusions)."""
    if looks_like_report_link(text, url):
        return True
    squeezed = dom.squeeze_cjk(text or "")
    return bool(squeezed) and any(k in squeezed for k in keywords) and not _excluded(squeezed)
