"""Ground truth about the replica, computed from the same data the site is built from.

Nothing here is typed a second time: every value is read from `replica.site.build(...)`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from protego import Protego

from replica.catalog import PLACEMENTS
from replica.hosts import ALL_HOSTS, BARE_XAM, GOV_HOSTS, KYQQ, NMJ, SPAM, WWW
from replica.site import SiteBuild, build, printed_date
from replica.textutil import sentences

logger = logging.getLogger(__name__)

MIN_KEY_SENTENCES = 2
MAX_KEY_SENTENCES = 3


def _counter_url(r: Any) -> str | None:
    cfg = ALL_HOSTS[r.host]
    if r.counter == "A":
        return f"http://{r.host}{cfg.prefix}/clicks.jsp?contentId={r.counter_id}"
    if r.counter == "B":
        return f"http://{r.host}{cfg.prefix}/count.jsp?aid={r.counter_id}&add=1"
    if r.counter == "C":
        return f"http://{r.host}/vc/vc/interface/artcount/artcount.jsp?webid=1&artid={r.counter_id}"
    return None


def _key_sentences(b: SiteBuild) -> dict[str, list[str]]:
    """2-3 sentences per report that no other report (or ordinary page) contains.

    Copies of the same report share sentences by design; a news item that quotes a report is
    allowed to contain its sentences (that is what makes it a decoy).
    """
    out: dict[str, list[str]] = {}
    by_key: dict[str, str] = {}
    for r in b.reports:
        by_key.setdefault(r.key, r.text)
    quoting = {d["url"]: d.get("quotes") for d in b.decoys}
    for key, text in by_key.items():
        others = [t for k, t in by_key.items() if k != key]
        others += [t for u, t in b.page_texts.items() if quoting.get(u) != key]
        blob = "\n".join(others)
        cands = [s for r in b.reports if r.key == key for s in r.preferred]
        own = [s for para in text.split("\n") for s in sentences(para)]
        cands += sorted((s for s in own if len(s) >= 20), key=len, reverse=True)
        chosen: list[str] = []
        for s in cands:
            if s in chosen or s not in text or s in blob:
                continue
            chosen.append(s)
            if len(chosen) == MAX_KEY_SENTENCES:
                break
        if len(chosen) < MIN_KEY_SENTENCES:
            raise AssertionError(f"report {key}: not enough distinctive sentences")
        out[key] = chosen
    return out


def _as_printed(r: Any) -> str:
    """The publication date at the precision the page prints it (a date alone, or the time to
    the minute or second), as ISO 8601: what the record must say."""
    here = [p for p in PLACEMENTS if (p.key, p.host, p.variant) == (r.key, r.host, r.variant)]
    if len(here) > 1:  # several copies on one host: the one at a fixed path, or the other
        fixed = [p for p in here if p.path == urlsplit(r.landing_url or r.url).path]
        here = fixed or [p for p in here if p.path is None]
    (placement,) = here
    when = datetime.fromisoformat(r.published)
    printed = printed_date(when.strftime("%Y-%m-%d %H:%M:%S"), placement.meta)
    colons = printed.count(":")
    if colons == 0:
        return when.date().isoformat()
    return when.isoformat(timespec="minutes" if colons == 1 else "seconds")


@cache
def _expected(round_: int) -> tuple[dict[str, Any], ...]:
    b = build(round_, 1)
    keys = _key_sentences(b)
    out = []
    for r in b.reports:
        out.append(
            {
                "url": r.url,
                "title": r.title,
                "agency": r.agency,
                "source": r.source,
                "year": r.year,
                "published": _as_printed(r),
                "clicks": r.clicks,
                "key_sentences": [] if r.variant == "image" else list(keys[r.key]),
                "boilerplate": list(r.boilerplate),
                "duplicate_group": r.duplicate_group,
                "tables": r.tables,
                "layout": r.layout,
                # extras
                "key": r.key,
                "host": r.host,
                "template": r.template,
                "variant": r.variant,
                "landing_url": r.landing_url,
                "attachments": list(r.attachments),
                "counter": r.counter,
                "counter_url": _counter_url(r),
                "arithmetic_ok": r.arithmetic_ok,
                "charset": r.charset,
                "flaky": r.flaky,
            }
        )
    return tuple(out)


def expected_reports(round: int = 1) -> list[dict[str, Any]]:
    """One dict per annual-report URL live in that round (see README "Ground truth")."""
    import copy

    return copy.deepcopy(list(_expected(round)))


def served(url: str, round: int = 1) -> tuple[bytes, str]:
    """The body (uncompressed) and content type the replica serves at ``url`` in that round.

    Raises KeyError for a URL the replica does not serve.
    """
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    b = build(round, 1)
    res = b.res.get((parts.hostname or "", path))
    if res is not None:
        return res.body, res.ctype
    if parts.path == "/attach/download.do":  # the download servlet: files by id, no resource
        file_id = dict(parse_qsl(parts.query)).get("fileId", "")
        return b.downloads[file_id][0], "application/octet-stream"
    raise KeyError(url)


def decoys() -> list[dict[str, Any]]:
    """Pages that are NOT annual reports: {url, kind, title[, quotes]}."""
    return [dict(d) for d in build(1, 1).decoys]


def decoy_urls() -> list[str]:
    return [d["url"] for d in build(1, 1).decoys]


def offsite_urls() -> list[str]:
    """Copies of reports on non-government domains (out of scope; never reports)."""
    return [d["url"] for d in build(1, 1).offsite]


def seed_urls() -> list[str]:
    """Where a crawl of the replica starts; every host is reachable from it."""
    return ["http://www.xam.gov.cn/"]


def home_urls() -> list[str]:
    return [f"http://{h.host}/" for h in GOV_HOSTS]


def hosts() -> list[str]:
    """Government hosts with content (the bare xam.gov.cn only redirects)."""
    return [h.host for h in GOV_HOSTS]


def offsite_hosts() -> list[str]:
    return [SPAM.host]


_LINK = re.compile(r'(?:href|src)="([^"#]+)"')


@cache
def _links() -> tuple[tuple[str, str], ...]:
    """(page url, absolute link) for every link and src on every HTML page of round 1."""
    b = build(1, 1)
    out = []
    for (host, path), res in b.res.items():
        if not res.ctype.startswith("text/html"):
            continue
        enc = "gbk" if ALL_HOSTS[host].charset in ("gbk", "gb2312") else "utf-8"
        page = f"http://{host}{path}"
        for m in _LINK.finditer(res.body.decode(enc)):
            href = m.group(1).replace("&amp;", "&")
            if href.startswith(("javascript:", "mailto:")):
                continue
            out.append((page, urljoin(page, href)))
    return tuple(out)


def linked_urls() -> set[str]:
    """Every absolute URL that some HTML page of round 1 links (href or src)."""
    return {link for _, link in _links()}


def robots_forbidden_urls() -> list[str]:
    """Linked URLs that the host's robots.txt disallows for every user agent."""
    parsers = {h: Protego.parse(cfg.robots_txt()) for h, cfg in ALL_HOSTS.items()}
    bad = set()
    for _, link in _links():
        host = urlsplit(link).hostname or ""
        rp = parsers.get(host)
        if rp is not None and not rp.can_fetch(link, "*"):
            bad.add(link)
    return sorted(bad)


def trap_info() -> list[dict[str, str]]:
    """The crawler traps: name, URL prefix (or pattern) and what makes them endless."""
    return [
        {
            "name": "calendar",
            "prefix": f"http://{WWW.host}/xam/hdjl95/calendar.jsp?month=",
            "example": f"http://{WWW.host}/xam/hdjl95/calendar.jsp?month=2026-01",
            "what": "every month page links the previous and next month, without end",
        },
        {
            "name": "growing_query",
            "prefix": f"http://{WWW.host}/xam/zwgk73/tzgg49/list.jsp?",
            "example": f"http://{WWW.host}/xam/zwgk73/tzgg49/list.jsp?page=1&sort=time",
            "what": "each next/sort link appends another sort= parameter",
        },
        {
            "name": "jsessionid",
            # The entrance (网上办事); from there session ids spread to any /xamagri/ path, so
            # match variants with `pattern`, not the prefix.
            "prefix": f"http://{NMJ.host}/xamagri/wsbs/",
            "pattern": r";jsessionid=[0-9A-F]{32}",
            "example": f"http://{NMJ.host}/xamagri/wsbs/index.jsp",
            "what": "pages fetched there or with a ;jsessionid= link every site URL with a new id",
        },
    ]


def gone_urls(round: int = 1) -> list[str]:
    """Linked URLs that answer 404 in that round."""
    return list(build(round, 1).gone)


def flaky_urls() -> list[str]:
    """Pages that answer 503 twice per server lifetime before answering 200."""
    return sorted(f"http://{h}{p}" for h, p in build(1, 1).flaky)


def redirects() -> list[dict[str, Any]]:
    """{url, status, location} for every redirect; the bare domain redirects every path."""
    out = [
        {
            "url": f"http://{h}{p}",
            "status": st,
            "location": loc if loc.startswith("http") else f"http://{h}{loc}",
        }
        for (h, p), (st, loc) in sorted(build(1, 1).redirects.items())
    ]
    seed = "/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4862348/index.html"
    out.append(
        {"url": f"http://{BARE_XAM}{seed}", "status": 301, "location": f"http://{WWW.host}{seed}"}
    )
    return out


def gzip_urls() -> list[str]:
    """URLs served gzip-compressed when the request accepts gzip (round 1, scale 1)."""
    b = build(1, 1)
    out = []
    for (host, path), res in b.res.items():
        cfg = ALL_HOSTS[host]
        if cfg.gzip and res.ctype.startswith(
            ("text/", "application/javascript", "application/xml")
        ):
            out.append(f"http://{host}{path}")
    return sorted(out)


def hit_adding_urls() -> list[str]:
    """Counter URLs that add a hit on each call (style B count.jsp?add=1, style C visit.jsp)."""
    return list(build(1, 1).hit_adding)


@cache
def _round_diff() -> dict[str, Any]:
    b1, b2 = build(1, 1), build(2, 1)
    k1, k2 = set(b1.res), set(b2.res)
    changed = sorted(
        f"http://{h}{p}" for h, p in k1 & k2 if b1.res[(h, p)].body != b2.res[(h, p)].body
    )
    added = sorted(f"http://{h}{p}" for h, p in k2 - k1)
    removed = sorted(f"http://{h}{p}" for h, p in k1 - k2)
    dp = sorted(
        f"http://{KYQQ.host}/module/web/jpage/dataproxy.jsp?page={n}&columnid={c}"
        for (c, n) in set(b1.dataproxy) | set(b2.dataproxy)
        if b1.dataproxy.get((c, n)) != b2.dataproxy.get((c, n))
    )
    r1 = {r.url: r for r in b1.reports}
    r2 = {r.url: r for r in b2.reports}
    edited = []
    for url in sorted(set(r1) & set(r2)):
        if r1[url].text != r2[url].text:
            s1 = [s for para in r1[url].text.split("\n") for s in sentences(para)]
            s2 = [s for para in r2[url].text.split("\n") for s in sentences(para)]
            edited.append(
                {
                    "url": url,
                    "old": [s for s in s1 if s not in s2],
                    "new": [s for s in s2 if s not in s1],
                }
            )
    redated = [
        {"url": url, "old": _as_printed(r1[url]), "new": _as_printed(r2[url])}
        for url in sorted(set(r1) & set(r2))
        if r1[url].published != r2[url].published
    ]
    return {
        "new_reports": sorted(set(r2) - set(r1)),
        "redated_reports": redated,
        "removed_reports": sorted(set(r1) - set(r2)),
        "edited_reports": edited,
        "changed_urls": changed,
        "added_urls": added,
        "removed_urls": removed,
        "changed_endpoints": dp,
        "counters": "every counter value is larger in round 2 (counter_base(url, 2))",
    }


def round_changes() -> dict[str, Any]:
    """What differs between round 1 and round 2 (all other bodies are byte-identical)."""
    import copy

    return copy.deepcopy(_round_diff())
