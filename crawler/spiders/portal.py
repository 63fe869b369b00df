"""PortalSpider: one generic spider for government portals, steered by site profiles.

Discovery is best-first (README "How discovery decides what to fetch"): every link a page shows
is judged by its anchor text (or title) and whether it is a list item (a title with a date),
and asked for with a Scrapy priority from the profile's ``[discovery.priorities]``; Scrapy's
scheduler pops the highest priority first. Menus towards 政务公开 / 信息公开, report columns
(年报) and lists worth reading (通知公告, 工作动态, 其他, department directories) are walked; a
list's items are fetched when their titles look like reports (all items of a report column;
everything in whole-site mode). The pages of one column are one hop (``hop = "page"``, see
crawler/middlewares/hops.py), so a column is read to its end or to ``column_page_budget``, and a
per-host ``host_page_budget`` (crawler/middlewares/budget.py) bounds what a portal costs.

Links are built as a browser builds them (govcrawl.extract.links: the query in the page's own
encoding); what a response is comes from the response (govcrawl.extract.filetype: signature,
Content-Disposition, Content-Type), so a report linked as a plain title to a download servlet is
recorded; redirect stubs in script (or a ``<noscript>`` meta refresh) are followed and recorded as
redirects. Every fetched response is archived by the WARC stage before it reaches this spider;
the spider only decides what to fetch and yields a ReportItem per annual report.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.items import ReportItem
from crawler.run import crawl_run
from crawler.sites.profiles import ProfileRegistry, SiteProfile
from crawler.sites.scope import Scope
from govcrawl.extract import attachments as attachment_parsing
from govcrawl.extract import dom
from govcrawl.extract.classify import (
    classify_page,
    looks_like_report_title,
    report_year_from_title,
)
from govcrawl.extract.counters import (
    CounterRule,
    choose_counter_request,
    parse_counter_response,
    printed_clicks,
)
from govcrawl.extract.decode import decode_body
from govcrawl.extract.filetype import ResponseType, response_type
from govcrawl.extract.links import PageLink, build_url, page_links, script_redirect, url_encoding
from govcrawl.extract.metadata import normalize_date, parse_metadata
from govcrawl.run import LEAF, NOT_FOUND, CrawlRun, run_of
from govcrawl.run import LIST as LIST_PAGE
from pipelines.extract import previous_records

logger = logging.getLogger(__name__)

# Page roles: how the spider reached a page decides which of its links it follows.
# HOME a site's front page; NAV a menu towards the disclosure section (or a directory in it);
# COLUMN a report column (年报: every item is fetched); LIST a list read for report titles
# (通知公告, 工作动态, 其他); ITEM a list item (an article, or a report).
HOME, NAV, COLUMN, LIST, ITEM = "home", "nav", "column", "list", "item"
# Hop types (Heritrix's, in Scrapy's depth meta): a next page of the same column is no hop; a
# script redirect is a redirect (R), like an HTTP one; anything else is a link (L).
PAGE_HOP, REDIRECT_HOP = "page", "R"
# Request meta keys of this spider (what a followed redirect stub carries over).
_SPIDER_META = (
    "role",
    "nav_depth",
    "title",
    "list_date",
    "report_link",
    "in_column",
    "page_no",
    "section",
    "section_host",
    "budget",
    "budget_counted",
    "trap_exempt",
)

_CSS_URL = re.compile(r"""url\(\s*([^)]+?)\s*\)|@import\s+["']([^"']+)["']""")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_REQUISITES = (
    "//link[contains(concat(' ', normalize-space(@rel), ' '), ' stylesheet ')]/@href"
    " | //script/@src | //img/@src"
    " | //link[contains(concat(' ', normalize-space(@rel), ' '), ' icon ')]/@href"
)


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(
        self,
        seeds: str | Iterable[str] | None = None,
        seeds_file: str | None = None,
        profiles_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.profiles = ProfileRegistry.load(Path(profiles_dir) if profiles_dir else None)
        seed_list = _split_seeds(seeds)
        if seeds_file:
            with open(seeds_file, encoding="utf-8") as fh:
                seed_list += [
                    line.strip() for line in fh if line.strip() and not line.startswith("#")
                ]
        if not seed_list:
            seed_list = self.profiles.default_seeds()
        for seed in seed_list:
            parts = urlsplit(seed)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {seed!r}")
        self.seeds = seed_list
        self.scope = Scope.for_seeds(seed_list, self.profiles)
        self.allowed_domains = sorted(self.scope.domains)
        self._robots_requested: set[str] = set()
        # Whole-site mode (benchmarks, broad archiving): every in-scope link, not only the way
        # to the reports. Set by from_crawler from GOVCRAWL_FOLLOW_ALL.
        self.follow_all = False
        # Pages over this many bytes are archived but not parsed (GOVCRAWL_PARSE_MAXSIZE).
        self.parse_maxsize = 0
        self.run: CrawlRun | None = None
        self._facts_keys: dict[int, tuple[SiteProfile, str]] = {}  # id(profile) -> facts key

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.follow_all = crawler.settings.getbool("GOVCRAWL_FOLLOW_ALL")
        spider.parse_maxsize = crawler.settings.getint("GOVCRAWL_PARSE_MAXSIZE")
        return spider

    def _crawl_run(self) -> CrawlRun:
        if self.run is None:
            self.run = crawl_run(self.crawler)
        return self.run

    def _stat(self, key: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, n)

    # -- start ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.crawler.settings.get("GOVCRAWL_FLEET"):
            return  # a fleet worker: `govcrawl seed` queued the round's start requests
        for request in self.start_requests_for(self._crawl_run().previous_reports()):
            yield request

    def start_requests_for(self, known: Iterable[dict[str, Any]]) -> Iterator[scrapy.Request]:
        """The seeds' requests, then the known reports' (``known``: earlier report records)."""
        for seed in self.seeds:
            yield self._page_request(seed, HOME, priority=50)
        yield from self._known_reports(known)

    def _known_reports(self, known: Iterable[dict[str, Any]]) -> Iterator[scrapy.Request]:
        """Reports earlier crawls recorded (within these seeds' scope) are checked every run,
        even when no list links them any more: that is how a withdrawn report is found gone.
        They are outside the discovery budget: they are known already."""
        for record in known:
            if record.get("status") == "gone":
                continue
            page = record.get("landing_url") or record["url"]
            if not self.scope.in_scope(page):
                continue
            yield self._page_request(
                page,
                ITEM,
                priority=20,
                title=record.get("title") or "",
                date=record.get("published"),  # a document's date came from its list
                report_link=True,
                budget=False,
            )

    # -- responses ----------------------------------------------------------------------------

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        async for request in self._sitemaps_once(response.url):
            yield request
        for result in self._parse_response(response):
            yield result

    def _parse_response(self, response: Response) -> Iterator[Any]:
        """A page, or a document when the response says it is one (signature,
        Content-Disposition, Content-Type), whatever the URL looked like."""
        rtype = response_type(
            response.url,
            _header(response, b"Content-Type"),
            _header(response, b"Content-Disposition"),
            response.body,
        )
        if rtype.is_document:
            if response.meta.get("report_link"):
                yield from self._document_report(response, rtype)
            return
        if not rtype.is_page:
            return
        yield from self._parse_page(response)

    def _parse_page(self, response: Response) -> Iterator[Any]:
        if 0 < self.parse_maxsize < len(response.body):
            # A parsed tree costs tens of times the page: a 50 MB table page would take the
            # crawl past gigabytes. Archived as received; named in the run summary.
            self.logger.warning(
                "not parsed: %s is %d bytes, over GOVCRAWL_PARSE_MAXSIZE (%d)",
                response.url, len(response.body), self.parse_maxsize,
            )  # fmt: skip
            self._stat("govcrawl/skipped/too_large_to_parse")
            return
        role = response.meta.get("role", HOME)
        html, encoding = decode_body(response.body, _header(response, b"Content-Type"))
        encoding = url_encoding(encoding)
        profile = self.profiles.for_host(urlsplit(response.url).hostname or "")

        facts = self._stored_facts(response, profile)
        if facts is not None:
            yield from self._unchanged_report(response, html, profile, facts)
            return
        stub = script_redirect(html, response.url, encoding)
        if stub is not None:
            yield from self._follow_script_redirect(response, *stub, profile)
            return
        meta = parse_metadata(html, response.url, profile.metadata)
        if _says_not_found(meta.title, html, profile):
            # A soft 404: never content, and proof that a report once here is gone.
            self._mark(response, NOT_FOUND)
            self._stat("govcrawl/pages/not_found")
            return
        links = page_links(html, response.url, encoding)
        verdict = classify_page(html, response.url, meta)
        if verdict.is_report:
            # Marked as a report by the recording stage once its record is safely written.
            self._stat("govcrawl/reports/seen")
            item = ReportItem(
                url=response.url,
                html=html,
                title=meta.title,
                agency=verdict.agency,
                source=meta.source,
                year=verdict.year,
                published=meta.published,
                capture=response.meta.get("capture"),
            )
            item.extra["outlinks"] = [link.url for link in links]
            item.extra["agency_from"] = verdict.agency_from
            item.extra["agency_evidence"] = verdict.agency_evidence
            # A report reached through redirects: its old URLs moved here (not gone).
            item.extra["redirected_from"] = _redirected_from(response)
            rules = [CounterRule(c.url_template, c.id_pattern, c.read_only)
                     for c in profile.counters]  # fmt: skip
            counter = choose_counter_request(html, response.url, rules)
            facts = {
                "key": self._facts_key(profile),
                "title": item.title,
                "agency": item.agency,
                "agency_from": verdict.agency_from,
                "agency_evidence": verdict.agency_evidence,
                "source": item.source,
                "year": item.year,
                "published": item.published,
                "outlinks": item.extra["outlinks"],
                "requisites": self._requisite_urls(html, response.url, encoding, profile),
                "counter_url": counter.url if counter is not None else None,
                "printed_clicks": None
                if counter is not None
                else printed_clicks(html, profile.printed_counter_labels),
                "attachments": attachment_parsing.find_attachment_links(
                    html, response.url, encoding
                ),
            }
            item.extra["page_facts"] = facts
            yield from self._report_from_facts(item, facts, profile)
            return
        yield from self._follow(
            response, html, encoding, links, role, profile, dated=meta.published is not None
        )

    def _follow_script_redirect(
        self, response: Response, url: str, how: str, profile: SiteProfile
    ) -> Iterator[scrapy.Request]:
        """Follow a redirect stub like an HTTP redirect: the same role and meta (the spider's
        own keys; Scrapy's internal ones are not copied), no hop deeper, and the stub with the
        way it redirected (``script`` or ``noscript meta refresh``) in ``script_redirects``."""
        target = self.scope.clean(url, profile)
        self._stat("govcrawl/redirects/script")
        logger.info("%s redirects by %s to %s", response.url, how, url)
        if target is None:
            return
        meta = {k: response.meta[k] for k in _SPIDER_META if k in response.meta}
        meta["script_redirects"] = [*response.meta.get("script_redirects", ()), [response.url, how]]
        meta["hop"] = REDIRECT_HOP
        priority = response.request.priority if response.request else 0
        yield scrapy.Request(target, callback=self.parse, meta=meta, priority=priority)

    # -- following links --------------------------------------------------------------------

    def _follow(
        self,
        response: Response,
        html: str,
        encoding: str,
        links: list[PageLink],
        role: str,
        profile: SiteProfile,
        dated: bool = False,
    ) -> Iterator[Any]:
        meta = response.meta
        here = urlsplit(response.url)
        kind = role
        if role == ITEM:  # an item that is a list: a report column if named or found like one
            kind = COLUMN if meta.get("in_column") or meta.get("report_link") else LIST
        is_list = role in (COLUMN, LIST, ITEM) and self._looks_like_list(
            html, links, profile, dated, role
        )
        if role in (COLUMN, LIST, ITEM):
            self._mark(response, LIST_PAGE if is_list else LEAF)
        if role == ITEM and not is_list and not self.follow_all:
            return  # an ordinary article: nothing below it is worth walking
        if is_list:
            yield from self._pagination(response, html, encoding, links, kind, profile)
        prio = profile.discovery.priorities
        nav_depth = meta.get("nav_depth", 0)
        menu_ok = nav_depth < profile.discovery.max_nav_depth
        section = meta.get("section") if meta.get("section_host") == here.netloc else None
        for link in links:
            url = self.scope.clean(link.url, profile)
            if url is None or link.text.lower() in profile.next_page_texts:
                continue
            text = link.text
            target = urlsplit(url)
            reportish = looks_like_report_title(text, url, profile.report_link_keywords)
            if _has_extension(target.path, profile.attachment_extensions):
                if reportish:
                    yield self._page_request(
                        url, ITEM, prio.report_item, title=text, date=link.date, report_link=True
                    )
                continue
            if link.item or _matches(url, profile.article_url_patterns):
                if reportish:
                    yield self._page_request(
                        url,
                        ITEM,
                        prio.report_item,
                        title=text,
                        date=link.date,
                        report_link=True,
                        in_column=kind == COLUMN,
                    )
                elif kind == COLUMN:
                    yield self._page_request(
                        url, ITEM, prio.column_item, title=text, in_column=True
                    )
                elif self.follow_all:
                    yield self._page_request(url, ITEM, prio.other, title=text)
                else:
                    self._stat("govcrawl/discovery/items_skipped")
                continue
            if _contains(text, profile.column_keywords) and report_year_from_title(text) is None:
                # a menu entry named like a report column (政府信息公开年报), not a report
                yield self._page_request(url, COLUMN, prio.report_column, nav_depth=nav_depth + 1)
            elif reportish:
                yield self._page_request(
                    url, ITEM, prio.report_item, title=text, date=link.date, report_link=True
                )
            elif _contains(text, profile.column_keywords):
                yield self._page_request(url, COLUMN, prio.report_column, nav_depth=nav_depth + 1)
            elif _contains(text, profile.avoid_keywords):
                if self.follow_all:
                    yield self._page_request(url, ITEM, prio.other)
            elif (
                kind in (HOME, NAV)
                and menu_ok
                and _contains(text, (*profile.nav_keywords, *profile.subsite_keywords))
            ):
                # The first menu into the section names the section: its folder.
                entered = section or (_folder(target.path) if kind == HOME else None)
                yield self._page_request(
                    url, NAV, prio.nav, nav_depth=nav_depth + 1, section=entered
                )
            elif menu_ok and _contains(text, profile.list_keywords):
                yield self._page_request(
                    url, LIST, prio.list, nav_depth=nav_depth + 1, section=section
                )
            elif (
                menu_ok
                and kind in (NAV, COLUMN, LIST)
                and target.netloc == here.netloc
                and _contains(text, profile.section_list_keywords)
                and (target.path.startswith(section) if section else _below(target.path, here.path))
            ):
                # a news list inside the disclosure section (政务公开 > 工作动态)
                yield self._page_request(
                    url, LIST, prio.list, nav_depth=nav_depth + 1, section=section
                )
            elif kind == COLUMN and _below(target.path, here.path) and target.netloc == here.netloc:
                # a sub-column of a report column (year columns: 2025年度, 2024年度, ...)
                yield self._page_request(
                    url, COLUMN, prio.report_column, nav_depth=nav_depth, section=section
                )
            elif (
                kind == NAV
                and menu_ok
                and target.netloc == here.netloc
                and _below(target.path, here.path)
            ):
                # a page below a disclosure menu: a department's directory, an unnamed column
                yield self._page_request(
                    url, NAV, prio.section, nav_depth=nav_depth + 1, section=section
                )
            elif (
                kind in (HOME, NAV)
                and target.hostname != here.hostname
                and _looks_like_home(target.path)
            ):
                yield self._page_request(url, HOME, prio.subsite)  # a department site in scope
            elif self.follow_all:
                yield self._page_request(url, ITEM, prio.other)

    def _looks_like_list(
        self, html: str, links: list[PageLink], profile: SiteProfile, dated: bool, role: str
    ) -> bool:
        """Whether a page is a list (read every run) rather than an article.

        A list when it paginates or loads its items from a list endpoint. Otherwise an article
        when it carries a publication date of its own (whatever links it shows, and even when
        its title made it look like a column). Otherwise a list when it was reached as a column
        or list, whatever its item count (a two-item 年报 column included), or when it links
        three or more articles."""
        if any(re.search(p, html) for p in profile.script_pagination):
            return True
        if any(re.search(e.detect, html) for e in profile.list_endpoints):
            return True
        if any(link.text.lower() in profile.next_page_texts for link in links):
            return True
        if dated:
            return False
        if role in (COLUMN, LIST):
            return True
        return (
            sum(
                1 for link in links if link.item or _matches(link.url, profile.article_url_patterns)
            )
            >= 3
        )

    def _pagination(
        self,
        response: Response,
        html: str,
        encoding: str,
        links: list[PageLink],
        kind: str,
        profile: SiteProfile,
    ) -> Iterator[scrapy.Request]:
        """The other pages of a column: one hop with the page that links them, bounded by the
        profile's column_page_budget alone."""
        page_no = response.meta.get("page_no", 1)
        budget = profile.discovery.column_page_budget or 10**9
        prio = response.request.priority if response.request else 0
        in_column = kind == COLUMN or response.meta.get("in_column", False)
        role = COLUMN if kind == COLUMN else LIST

        def page(url: str, n: int) -> scrapy.Request:
            return self._page_request(
                url,
                role,
                prio,
                nav_depth=response.meta.get("nav_depth", 0),
                section=response.meta.get("section"),
                page_no=n,
                hop=PAGE_HOP,
                in_column=in_column,
            )

        for pattern in profile.script_pagination:
            for m in re.finditer(pattern, html):
                total, stem, ext = int(m["total"]), m["stem"], m["ext"]
                if int(m["current"]) != 0:
                    continue  # the first page names them all
                for n in range(1, total):
                    if n + 1 > budget:
                        self._cut_column(response.url, total - n)
                        break
                    url = build_url(f"{stem}_{n}.{ext}", response.url)
                    if url:
                        yield page(url, n + 1)
        for endpoint in profile.list_endpoints:
            found = re.search(endpoint.detect, html)
            if found:
                params = {k: v for k, v in found.groupdict().items() if v is not None}
                url = build_url(
                    endpoint.url_template.format(page=1, **params), response.url, encoding
                )
                if url:
                    yield self._endpoint_request(url, endpoint.url_template, params, True, kind)
        if page_no >= budget:
            if any(link.text.lower() in profile.next_page_texts for link in links):
                self._cut_column(response.url, 1)
            return
        for link in links:
            if link.text.lower() in profile.next_page_texts:
                next_url = self.scope.clean(link.url, profile)
                if next_url and next_url != response.url:
                    yield page(next_url, page_no + 1)

    def _cut_column(self, url: str, pages: int) -> None:
        self._stat("govcrawl/budget/column_pages_cut", pages)
        logger.info("column budget: %d more page(s) of %s not read", pages, url)

    def _endpoint_request(
        self, url: str, template: str, params: dict[str, str], first: bool, kind: str
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_list_endpoint,
            cb_kwargs={"template": template, "params": params, "first": first},
            meta={"role": kind, "trap_exempt": True, "hop": PAGE_HOP, "budget": True},
            priority=25,
        )

    def parse_list_endpoint(
        self, response: Response, template: str, params: dict[str, str], first: bool
    ) -> Iterator[Any]:
        """A script-driven list's items (XML/JSON): titles and dates from the records' HTML
        where they carry it, else the profile's link pattern."""
        profile = self.profiles.for_host(urlsplit(response.url).hostname or "")
        endpoint = next((e for e in profile.list_endpoints if e.url_template == template), None)
        if endpoint is None:
            return
        kind = response.meta.get("role", LIST)
        text, encoding = decode_body(response.body, _header(response, b"Content-Type"))
        encoding = url_encoding(encoding)
        endpoint_path = urlsplit(response.url).path
        prio = profile.discovery.priorities
        records = "\n".join(_CDATA.findall(text))
        links = [
            link
            for link in page_links(f"<html><body>{records}</body></html>", response.url, encoding)
            if urlsplit(link.url).path != endpoint_path  # not the endpoint's own "next" link
        ]
        if not links:
            links = [
                PageLink(url, "")
                for href in re.findall(endpoint.link_pattern, text)
                if (url := build_url(href, response.url, encoding))
                and urlsplit(url).path != endpoint_path
            ]
        for link in links:
            url = self.scope.clean(link.url, profile)
            if url is None:
                continue
            if looks_like_report_title(link.text, url, profile.report_link_keywords):
                yield self._page_request(
                    url,
                    ITEM,
                    prio.report_item,
                    title=link.text,
                    date=link.date,
                    report_link=True,
                    in_column=kind == COLUMN,
                )
            elif kind == COLUMN:
                yield self._page_request(
                    url, ITEM, prio.column_item, title=link.text, in_column=True
                )
            elif self.follow_all:
                yield self._page_request(url, ITEM, prio.other, title=link.text)
            else:
                self._stat("govcrawl/discovery/items_skipped")
        if first:
            m = re.search(endpoint.total_pages, text)
            total = min(int(m.group(1)), endpoint.max_pages) if m else 1
            budget = profile.discovery.column_page_budget or 10**9
            for n in range(2, total + 1):
                if n > budget:
                    self._cut_column(response.url, total - n + 1)
                    break
                url = build_url(template.format(page=n, **params), response.url, encoding)
                if url:
                    yield self._endpoint_request(url, template, params, False, kind)

    # -- robots.txt and sitemaps ------------------------------------------------------------

    async def _sitemaps_once(self, url: str) -> AsyncIterator[scrapy.Request]:
        """Sitemaps named in a host's robots.txt, once per host and run.

        robots.txt is fetched once per host: by Scrapy's RobotsTxtMiddleware, whose parsed file
        also gives the sitemaps; only when robots.txt is not obeyed does the spider fetch it.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin in self._robots_requested:
            return
        self._robots_requested.add(origin)
        profile = self.profiles.for_host(parts.hostname or "")
        if not profile.follow_sitemaps:
            return
        robots = self.crawler.get_downloader_middleware(RobotsTxtMiddleware)
        if robots is None:
            yield scrapy.Request(
                origin + "/robots.txt",
                callback=self.parse_robots,
                meta={"dont_obey_robotstxt": True, "trap_exempt": True},
                priority=40,
            )
            return
        parser = await robots.robot_parser(scrapy.Request(origin + "/robots.txt"))
        for sitemap in getattr(getattr(parser, "rp", None), "sitemaps", ()):
            yield self._sitemap_request(urljoin(origin + "/", sitemap))

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status != 200:
            return
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            yield self._sitemap_request(url)

    def _sitemap_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse_sitemap, meta={"trap_exempt": True}, priority=15
        )

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        profile = self.profiles.for_host(urlsplit(response.url).hostname or "")
        try:
            sitemap = Sitemap(response.body)
        except Exception:  # lxml raises several types on garbage
            logger.warning("unreadable sitemap %s", response.url)
            return
        prio = profile.discovery.priorities
        for n, entry in enumerate(sitemap):
            if n >= profile.sitemap_max_urls:
                self._stat("govcrawl/sitemap/truncated")
                break
            loc = entry.get("loc")
            url = loc and build_url(loc, response.url)
            url = url and self.scope.clean(url, profile)
            if not url:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(url, callback=self.parse_sitemap, meta={"trap_exempt": True})
            elif _has_extension(urlsplit(url).path, profile.attachment_extensions):
                continue  # no title to judge a document by
            else:
                # No title to judge an entry by: the lowest priority, under the host budget.
                yield self._page_request(url, ITEM, prio.sitemap)

    # -- report pages -----------------------------------------------------------------------

    # What parsing a report page gave (``page_facts``) is kept in its report record (``page``)
    # and used again while the page's payload is the same: parsing is the largest cost of an
    # unchanged re-crawl. The key ties the facts to the site profile and to the parsing code.
    _FACTS_FORMAT = "1"
    _code_digest: str | None = None

    def _facts_key(self, profile: SiteProfile) -> str:
        """sha1 hex of the parsing code (this module, govcrawl/extract) and of ``profile``."""
        known = self._facts_keys.get(id(profile))
        if known is not None and known[0] is profile:
            return known[1]
        if PortalSpider._code_digest is None:
            sha = hashlib.sha1(self._FACTS_FORMAT.encode())
            here = Path(__file__).resolve()
            for path in [here, *sorted(Path(dom.__file__).resolve().parent.glob("*.py"))]:
                sha.update(path.read_bytes())
            PortalSpider._code_digest = sha.hexdigest()
        key = hashlib.sha1(f"{PortalSpider._code_digest}\n{profile!r}".encode()).hexdigest()
        self._facts_keys[id(profile)] = (profile, key)
        return key

    def _stored_facts(self, response: Response, profile: SiteProfile) -> dict[str, Any] | None:
        """The parse facts the previous record of this report page holds, when the page came
        with the payload they were made from (capture status ``unchanged``), else None."""
        cap = response.meta.get("capture")
        if cap is None or cap.status != "unchanged" or response.status != 200:
            return None
        run = self.run or run_of(self.crawler)
        rec = previous_records(run).by_page(response.url) if run is not None else None
        if rec is None or rec.get("landing_url") or rec.get("url") != response.url:
            return None
        facts = rec.get("page")
        if (
            not isinstance(facts, dict)
            or rec.get("digest") != cap.digest
            or facts.get("key") != self._facts_key(profile)
        ):
            return None
        return facts

    def _unchanged_report(
        self, response: Response, html: str, profile: SiteProfile, facts: dict[str, Any]
    ) -> Iterator[Any]:
        """A report page with the payload of its previous record: the record's parse facts
        stand for parsing it again; the click counter and attachments are still fetched."""
        self._stat("govcrawl/reports/seen")
        self._stat("govcrawl/parse/reused")
        item = ReportItem(
            url=response.url,
            html=html,
            title=facts["title"],
            agency=facts["agency"],
            source=facts["source"],
            year=facts["year"],
            published=facts["published"],
            capture=response.meta.get("capture"),
        )
        item.extra["outlinks"] = list(facts["outlinks"])
        item.extra["agency_from"] = facts["agency_from"]
        item.extra["agency_evidence"] = facts["agency_evidence"]
        item.extra["redirected_from"] = _redirected_from(response)
        item.extra["page_facts"] = facts
        yield from self._report_from_facts(item, facts, profile)

    def _report_from_facts(
        self, item: ReportItem, facts: dict[str, Any], profile: SiteProfile
    ) -> Iterator[Any]:
        """The page's requisites, then its chain: click counter, attachments, the item."""
        yield from self._requisites(facts["requisites"], profile)
        steps: list[tuple[str, str]] = []
        if facts["counter_url"] is not None:
            item.counter_url = facts["counter_url"]
            steps.append(("counter", facts["counter_url"]))
        else:
            item.clicks = facts["printed_clicks"]
        for att in facts["attachments"]:
            if self.scope.in_scope(att):
                steps.append(("attachment", att))
        yield from self._next_step(item, steps)

    def _next_step(self, item: ReportItem, steps: list[tuple[str, str]]) -> Iterator[Any]:
        if not steps:
            yield item
            return
        kind, url = steps[0]
        callback = self.parse_counter if kind == "counter" else self.parse_attachment
        yield scrapy.Request(
            url,
            callback=callback,
            errback=self.step_failed,
            cb_kwargs={"item": item, "steps": steps[1:]},
            # Counters change on every visit and must be fetched each crawl, never conditionally.
            meta={"conditional": kind != "counter", "trap_exempt": True, "step": kind},
            dont_filter=kind == "counter",
            priority=60,
        )

    def parse_counter(
        self, response: Response, item: ReportItem, steps: list[tuple[str, str]]
    ) -> Iterator[Any]:
        ctype = _header(response, b"Content-Type")
        text, _ = decode_body(response.body, ctype)
        item.clicks = parse_counter_response(text, ctype)
        if item.clicks is None:
            self._stat("govcrawl/counters/unreadable")
        yield from self._next_step(item, steps)

    def parse_attachment(
        self, response: Response, item: ReportItem, steps: list[tuple[str, str]]
    ) -> Iterator[Any]:
        item.attachments.append(_attachment(response, _response_type(response)))
        yield from self._next_step(item, steps)

    def step_failed(self, failure: Any) -> Iterator[Any]:
        request = failure.request
        logger.warning(
            "%s step failed for %s: %s", request.meta.get("step"), request.url, failure.value
        )
        self._stat(f"govcrawl/{request.meta.get('step', 'step')}/failed")
        yield from self._next_step(request.cb_kwargs["item"], request.cb_kwargs["steps"])

    def _document_report(self, response: Response, rtype: ResponseType) -> Iterator[Any]:
        """A report published only as a document and linked straight from a list (by its URL's
        extension, or as a plain title to a download servlet): title and year from the link."""
        title = response.meta.get("title") or ""
        if not title and rtype.filename:
            title = rtype.filename.rsplit(".", 1)[0]
        verdict = classify_page(
            f"<html><head><title>{_escape(title)}</title></head>"
            f"<body><h1>{_escape(title)}</h1></body></html>",
            response.url,
            None,
        )
        if not verdict.is_report:
            self._stat("govcrawl/documents/not_reports")
            return
        self._stat("govcrawl/reports/seen")
        item = ReportItem(
            url=response.url,
            html="",
            title=title,
            year=verdict.year,
            agency=verdict.agency,
            # the date the list printed beside the link: a document has no page to say it
            published=normalize_date(response.meta.get("list_date") or ""),
            capture=response.meta.get("capture"),
        )
        item.extra["agency_from"] = verdict.agency_from
        item.extra["agency_evidence"] = verdict.agency_evidence
        item.extra["redirected_from"] = _redirected_from(response)
        item.attachments.append(_attachment(response, rtype))
        yield item

    # -- requisites -------------------------------------------------------------------------

    def _requisite_urls(
        self, html: str, url: str, encoding: str, profile: SiteProfile
    ) -> list[str]:
        """The stylesheets, scripts and images a page names (absolute URLs, in page order)."""
        if not profile.fetch_requisites:
            return []
        try:
            sources = dom.parse_cached(html).xpath(_REQUISITES)
        except ValueError:
            return []
        built = (build_url(src, url, encoding) for src in dict.fromkeys(str(s) for s in sources))
        return [target for target in built if target]

    def _requisites(self, urls: list[str], profile: SiteProfile) -> Iterator[scrapy.Request]:
        """Stylesheets, scripts and images, so a replayed report looks like the live page."""
        for target in urls:
            if self.scope.in_scope(target) and not _matches(
                target, profile.requisite_skip_patterns
            ):
                yield scrapy.Request(
                    target, callback=self.parse_requisite, meta={"requisite": True}, priority=-10
                )

    def parse_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        """Archived by the WARC stage; stylesheets bring their own images, fonts and imports."""
        self._stat("govcrawl/requisites")
        ctype = (_header(response, b"Content-Type") or "").lower()
        if "css" not in ctype:
            return
        css, encoding = decode_body(response.body, ctype)
        for match in _CSS_URL.finditer(css):
            ref = match.group(1) or match.group(2)
            url = build_url(ref.strip().strip("'\""), response.url, url_encoding(encoding))
            if url and self.scope.in_scope(url):
                yield scrapy.Request(
                    url, callback=self.parse_requisite, meta={"requisite": True}, priority=-10
                )

    # -- revisit policy -------------------------------------------------------------------

    def _mark(self, response: Response, kind: str) -> None:
        """Remember what a page turned out to be, for the revisit policy of later crawls."""
        if response.status == 200:
            urls = [response.url, *response.meta.get("redirect_urls", ())]
            self._crawl_run().mark_pages(urls, kind)

    # -- request helpers ------------------------------------------------------------------

    def _page_request(
        self,
        url: str,
        role: str,
        priority: int = 0,
        nav_depth: int = 0,
        *,
        title: str = "",
        date: str | None = None,
        report_link: bool = False,
        in_column: bool = False,
        page_no: int = 1,
        hop: str | None = None,
        budget: bool = True,
        section: str | None = None,
    ) -> scrapy.Request:
        """A request for a page. Per-URL state travels in the request's meta, never in the
        spider: ``role``, ``nav_depth`` (menu hops), ``title`` and ``list_date`` (the link's
        title and the date beside it, for a document), ``report_link`` (the title looked like a
        report), ``in_column`` (found in a report column), ``page_no`` (page of its column),
        ``hop`` (crawler/middlewares/hops.py), ``budget`` (counts against the host's page
        budget, crawler/middlewares/budget.py) and ``section`` (the folder of the disclosure
        menu it was reached through, on ``section_host``)."""
        meta: dict[str, Any] = {"role": role, "nav_depth": nav_depth, "budget": budget}
        if title:
            meta["title"] = title
        if date:
            meta["list_date"] = date
        if report_link:
            meta["report_link"] = True
        if in_column:
            meta["in_column"] = True
        if page_no > 1:
            meta["page_no"] = page_no
        if hop:
            meta["hop"] = hop
        if section:
            meta["section"] = section
            meta["section_host"] = urlsplit(url).netloc
        return scrapy.Request(url, callback=self.parse, meta=meta, priority=priority)


def _redirected_from(response: Response) -> list[str]:
    """The URLs a response was reached from by HTTP redirects and redirect stubs, in order."""
    stubs = [url for url, _how in response.meta.get("script_redirects", ())]
    return [*stubs, *response.meta.get("redirect_urls", ())]


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _response_type(response: Response) -> ResponseType:
    return response_type(
        response.url,
        _header(response, b"Content-Type"),
        _header(response, b"Content-Disposition"),
        response.body,
    )


def _attachment(response: Response, rtype: ResponseType) -> dict[str, Any]:
    """An attachment as the extraction stage reads it; ``filename`` and ``kind`` from the
    response (govcrawl.extract.filetype), so a servlet's .docx is read as a .docx."""
    return {
        "url": response.url,
        "content_type": _header(response, b"Content-Type"),
        "filename": rtype.filename,
        "kind": rtype.kind,
        "body": response.body,
        "capture": response.meta.get("capture"),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _says_not_found(title: str | None, html: str, profile: SiteProfile) -> bool:
    """The page's title or its first lines of text match a not-found pattern of the profile."""
    if not profile.not_found_patterns:
        return False
    head = " ".join(dom.page_lines(html)[:8])
    return any(re.search(p, f"{title or ''}\n{head}") for p in profile.not_found_patterns)


def _split_seeds(seeds: str | Iterable[str] | None) -> list[str]:
    if not seeds:
        return []
    if isinstance(seeds, str):
        return [s.strip() for s in re.split(r"[\s,]+", seeds) if s.strip()]
    return [s.strip() for s in seeds if s.strip()]


def _contains(text: str, keywords: Iterable[str]) -> bool:
    return bool(text) and any(k in text for k in keywords)


def _matches(url: str, patterns: Iterable[str]) -> bool:
    return any(re.search(p, url) for p in patterns)


def _has_extension(path: str, extensions: Iterable[str]) -> bool:
    lower = path.lower()
    return any(lower.endswith(ext) for ext in extensions)


def _looks_like_home(path: str) -> bool:
    """``/``, ``/mzj/``, ``/mzj/index.html``: the front page of a site."""
    folder, _, name = path.rpartition("/")
    return folder.count("/") <= 1 and (
        not name or name.split(".")[0] in ("index", "default", "main")
    )


def _folder(path: str) -> str:
    """``/xam/zwgk73/index.html`` -> ``/xam/zwgk73/``."""
    return path.rsplit("/", 1)[0] + "/"


def _below(path: str, base: str) -> bool:
    """True when ``path`` lies in a sub-folder of the folder holding ``base``."""
    folder = base.rsplit("/", 1)[0] + "/"
    return path.startswith(folder) and path != base and path.count("/") > folder.count("/")
