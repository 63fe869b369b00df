"""PortalSpider: one generic spider for government portals, steered by site profiles.

Walk: seeds -> navigation menus (政务公开 / 信息公开) -> report columns (年报) and their
sub-columns -> list pages (links, script page counts, XML/JSON list endpoints, sitemaps) ->
article pages -> click counter, attachments and page requisites. Every fetched response is
archived by the WARC stage before it reaches this spider; the spider only decides what to fetch
and yields a ReportItem per annual report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.items import ReportItem
from crawler.run import crawl_run
from crawler.sites.profiles import ProfileRegistry, SiteProfile
from crawler.sites.scope import Scope
from govcrawl.archive.reports import read_reports
from govcrawl.extract import attachments as attachment_parsing
from govcrawl.extract import dom
from govcrawl.extract.classify import classify_page, looks_like_report_link
from govcrawl.extract.counters import (
    CounterRule,
    choose_counter_request,
    parse_counter_response,
    printed_clicks,
)
from govcrawl.extract.decode import decode_body
from govcrawl.extract.metadata import parse_metadata
from govcrawl.run import LEAF, LIST, NOT_FOUND, CrawlRun

logger = logging.getLogger(__name__)

# Page roles: how the spider reached a page decides which of its links it follows.
HOME, NAV, COLUMN, ITEM = "home", "nav", "column", "item"
MAX_NAV_DEPTH = 3

_CSS_URL = re.compile(r"""url\(\s*([^)]+?)\s*\)|@import\s+["']([^"']+)["']""")
_LINKS = LinkExtractor(tags=("a", "area"), attrs=("href",), deny_extensions=(), unique=True)


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
        # to the report columns. Set by from_crawler from GOVCRAWL_FOLLOW_ALL.
        self.follow_all = False
        self.run: CrawlRun | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.follow_all = crawler.settings.getbool("GOVCRAWL_FOLLOW_ALL")
        return spider

    def _crawl_run(self) -> CrawlRun:
        if self.run is None:
            self.run = crawl_run(self.crawler)
        return self.run

    # -- start ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for seed in self.seeds:
            yield self._page_request(seed, HOME, priority=50)
        for request in self._known_reports():
            yield request

    def _known_reports(self) -> Iterator[scrapy.Request]:
        """Reports earlier crawls recorded (within these seeds' scope) are checked every run,
        even when no list links them any more: that is how a withdrawn report is found gone."""
        run = self._crawl_run()
        for record in read_reports(run.layout.reports_jsonl).values():
            if record.get("status") == "gone":
                continue
            page = record.get("landing_url") or record["url"]
            if not self.scope.in_scope(page):
                continue
            profile = self.profiles.for_host(urlsplit(page).hostname or "")
            if page == record["url"] and _has_extension(
                urlsplit(page).path, profile.attachment_extensions
            ):
                yield self._attachment_report_request(page, record.get("title") or "")
            else:
                yield self._page_request(page, ITEM, priority=20)

    # -- pages ------------------------------------------------------------------------------

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        async for request in self._sitemaps_once(response.url):
            yield request
        for result in self._parse_page(response):
            yield result

    def _parse_page(self, response: Response) -> Iterator[Any]:
        role = response.meta.get("role", HOME)
        html = self._html(response)
        if html is None:
            return
        page = response.replace(body=html.encode("utf-8"), encoding="utf-8")
        assert isinstance(page, TextResponse)
        profile = self.profiles.for_host(urlsplit(response.url).hostname or "")

        meta = parse_metadata(html, response.url, profile.metadata)
        if _says_not_found(meta.title, html, profile):
            # A soft 404: never content, and proof that a report once here is gone.
            self._mark(response, NOT_FOUND)
            self.crawler.stats.inc_value("govcrawl/pages/not_found")
            return
        verdict = classify_page(html, response.url, meta)
        if verdict.is_report:
            # Marked as a report by the recording stage once its record is safely written.
            self.crawler.stats.inc_value("govcrawl/reports/seen")
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
            item.extra["outlinks"] = [link.url for link in _LINKS.extract_links(page)]
            item.extra["agency_from"] = verdict.agency_from
            item.extra["agency_evidence"] = verdict.agency_evidence
            # A report reached through redirects: its old URLs moved here (not gone).
            item.extra["redirected_from"] = list(response.meta.get("redirect_urls", ()))
            yield from self._requisites(page, profile)
            yield from self._report_chain(item, html, page, profile)
            return
        yield from self._follow(
            page, role, profile, response.meta.get("nav_depth", 0), dated=meta.published is not None
        )

    def _html(self, response: Response) -> str | None:
        """Decoded HTML of a response, or None for bodies that are not HTML."""
        body, ctype = response.body, _content_type(response)
        if ctype and not any(t in ctype.lower() for t in ("html", "xml", "text/plain")):
            return None
        text, _encoding = decode_body(body, ctype)
        return text

    def _follow(
        self,
        page: TextResponse,
        role: str,
        profile: SiteProfile,
        nav_depth: int,
        dated: bool = False,
    ) -> Iterator[Any]:
        here = urlsplit(page.url)
        is_list = role in (COLUMN, ITEM) and self._looks_like_list(page, profile, dated, role)
        if role in (COLUMN, ITEM):
            self._mark(page, LIST if is_list else LEAF)
        if role == ITEM and not is_list and not self.follow_all:
            return  # an ordinary article: nothing below it is worth walking
        if is_list:
            yield from self._pagination(page, profile)
        for link in _LINKS.extract_links(page):
            url = self.scope.clean(link.url, profile)
            if url is None:
                continue
            text = " ".join(link.text.split())
            target = urlsplit(url)
            if _has_extension(target.path, profile.attachment_extensions):
                if looks_like_report_link(text, url):
                    yield self._attachment_report_request(url, text)
                continue
            if _contains(text, profile.column_keywords):
                yield self._page_request(url, COLUMN, priority=30)
            elif looks_like_report_link(text, url) or _contains(text, profile.report_link_keywords):
                yield self._page_request(url, ITEM, priority=20)
            elif is_list and (
                _matches(url, profile.article_url_patterns) or _below(target.path, here.path)
            ):
                yield self._page_request(url, ITEM, priority=10)
            elif (
                role in (HOME, NAV)
                and _contains(text, (*profile.nav_keywords, *profile.subsite_keywords))
                and nav_depth < MAX_NAV_DEPTH
            ):
                yield self._page_request(url, NAV, priority=5, nav_depth=nav_depth + 1)
            elif (
                role in (HOME, NAV)
                and target.hostname != here.hostname
                and _looks_like_home(target.path)
            ):
                yield self._page_request(url, HOME, priority=8)  # a department sub-site in scope
            elif self.follow_all:
                yield self._page_request(url, ITEM, priority=0)

    def _looks_like_list(
        self, page: TextResponse, profile: SiteProfile, dated: bool, role: str
    ) -> bool:
        """Whether a page is a list (read every run) rather than an article.

        A list when it paginates or loads its items from a list endpoint. Otherwise an article
        when it carries a publication date of its own (whatever links it shows, and even when
        its title made it look like a column). Otherwise a list when it was reached as a column,
        whatever its item count (a two-item 年报 column included), or when it links three or
        more articles."""
        html = page.text
        if any(re.search(p, html) for p in profile.script_pagination):
            return True
        if any(re.search(e.detect, html) for e in profile.list_endpoints):
            return True
        links = _LINKS.extract_links(page)
        if any(" ".join(link.text.split()).lower() in profile.next_page_texts for link in links):
            return True
        if dated:
            return False
        if role == COLUMN:
            return True
        return sum(1 for link in links if _matches(link.url, profile.article_url_patterns)) >= 3

    def _pagination(self, page: TextResponse, profile: SiteProfile) -> Iterator[scrapy.Request]:
        html = page.text
        for pattern in profile.script_pagination:
            for m in re.finditer(pattern, html):
                total, stem, ext = int(m["total"]), m["stem"], m["ext"]
                for n in range(1, min(total, 500)):
                    yield self._page_request(
                        urljoin(page.url, f"{stem}_{n}.{ext}"), COLUMN, priority=25
                    )
        for endpoint in profile.list_endpoints:
            found = re.search(endpoint.detect, html)
            if found:
                params = {k: v for k, v in found.groupdict().items() if v is not None}
                url = urljoin(page.url, endpoint.url_template.format(page=1, **params))
                yield scrapy.Request(
                    url,
                    callback=self.parse_list_endpoint,
                    cb_kwargs={"template": endpoint.url_template, "params": params, "first": True},
                    meta={"role": COLUMN, "trap_exempt": True},
                    priority=25,
                )
        for link in _LINKS.extract_links(page):
            if " ".join(link.text.split()).lower() in profile.next_page_texts:
                next_url = self.scope.clean(link.url, profile)
                if next_url:
                    yield self._page_request(next_url, COLUMN, priority=25)

    def parse_list_endpoint(
        self, response: Response, template: str, params: dict[str, str], first: bool
    ) -> Iterator[Any]:
        profile = self.profiles.for_host(urlsplit(response.url).hostname or "")
        endpoint = next((e for e in profile.list_endpoints if e.url_template == template), None)
        if endpoint is None:
            return
        text, _ = decode_body(response.body, _content_type(response))
        endpoint_path = urlsplit(response.url).path
        for href in re.findall(endpoint.link_pattern, text):
            url = self.scope.clean(urljoin(response.url, href), profile)
            if url and urlsplit(url).path != endpoint_path:  # not the endpoint's own "next" link
                yield self._page_request(url, ITEM, priority=10)
        if first:
            m = re.search(endpoint.total_pages, text)
            total = min(int(m.group(1)), endpoint.max_pages) if m else 1
            for n in range(2, total + 1):
                yield scrapy.Request(
                    urljoin(response.url, template.format(page=n, **params)),
                    callback=self.parse_list_endpoint,
                    cb_kwargs={"template": template, "params": params, "first": False},
                    meta={"role": COLUMN, "trap_exempt": True},
                    priority=25,
                )

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
        for n, entry in enumerate(sitemap):
            if n >= profile.sitemap_max_urls:
                self.crawler.stats.inc_value("govcrawl/sitemap/truncated")
                break
            loc = entry.get("loc")
            url = loc and self.scope.clean(loc, profile)
            if not url:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(url, callback=self.parse_sitemap, meta={"trap_exempt": True})
            else:
                yield self._page_request(url, ITEM, priority=10)

    # -- report pages -----------------------------------------------------------------------

    def _report_chain(
        self, item: ReportItem, html: str, page: TextResponse, profile: SiteProfile
    ) -> Iterator[Any]:
        steps: list[tuple[str, str]] = []
        rules = [CounterRule(c.url_template, c.id_pattern, c.read_only) for c in profile.counters]
        counter = choose_counter_request(html, page.url, rules)
        if counter is not None:
            item.counter_url = counter.url
            steps.append(("counter", counter.url))
        else:
            item.clicks = printed_clicks(html, profile.printed_counter_labels)
        for url in attachment_parsing.find_attachment_links(html, page.url):
            if self.scope.in_scope(url):
                steps.append(("attachment", url))
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
        ctype = _content_type(response)
        text, _ = decode_body(response.body, ctype)
        item.clicks = parse_counter_response(text, ctype)
        if item.clicks is None:
            self.crawler.stats.inc_value("govcrawl/counters/unreadable")
        yield from self._next_step(item, steps)

    def parse_attachment(
        self, response: Response, item: ReportItem, steps: list[tuple[str, str]]
    ) -> Iterator[Any]:
        body, ctype = response.body, _content_type(response)
        item.attachments.append(
            {
                "url": response.url,
                "content_type": ctype,
                "body": body,
                "capture": response.meta.get("capture"),
            }
        )
        yield from self._next_step(item, steps)

    def step_failed(self, failure: Any) -> Iterator[Any]:
        request = failure.request
        logger.warning(
            "%s step failed for %s: %s", request.meta.get("step"), request.url, failure.value
        )
        self.crawler.stats.inc_value(f"govcrawl/{request.meta.get('step', 'step')}/failed")
        yield from self._next_step(request.cb_kwargs["item"], request.cb_kwargs["steps"])

    def _attachment_report_request(self, url: str, title: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_attachment_report,
            cb_kwargs={"title": title},
            meta={"role": ITEM},
            priority=20,
        )

    def parse_attachment_report(self, response: Response, title: str) -> Iterator[Any]:
        """A report published only as an attachment linked straight from a list."""
        item = ReportItem(
            url=response.url, html="", title=title, capture=response.meta.get("capture")
        )
        verdict = classify_page(
            f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>",
            response.url,
            None,
        )
        item.year, item.agency = verdict.year, verdict.agency
        item.extra["agency_from"] = verdict.agency_from
        item.extra["agency_evidence"] = verdict.agency_evidence
        body, ctype = response.body, _content_type(response)
        item.attachments.append(
            {
                "url": response.url,
                "content_type": ctype,
                "body": body,
                "capture": response.meta.get("capture"),
            }
        )
        yield item

    # -- requisites -------------------------------------------------------------------------

    def _requisites(self, page: TextResponse, profile: SiteProfile) -> Iterator[scrapy.Request]:
        """Stylesheets, scripts and images, so a replayed report looks like the live page."""
        if not profile.fetch_requisites:
            return
        for src in page.css(
            'link[rel~="stylesheet"]::attr(href), script::attr(src), img::attr(src), '
            'link[rel~="icon"]::attr(href)'
        ).getall():
            url = urljoin(page.url, src.strip())
            if (
                urlsplit(url).scheme in ("http", "https")
                and self.scope.in_scope(url)
                and not _matches(url, profile.requisite_skip_patterns)
            ):
                yield scrapy.Request(
                    url, callback=self.parse_requisite, meta={"requisite": True}, priority=-10
                )

    def parse_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        """Archived by the WARC stage; stylesheets bring their own images, fonts and imports."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("govcrawl/requisites")
        body, ctype = response.body, (_content_type(response) or "").lower()
        if "css" not in ctype:
            return
        css, _ = decode_body(body, ctype)
        for match in _CSS_URL.finditer(css):
            ref = match.group(1) or match.group(2)
            url = urljoin(response.url, ref.strip().strip("'\""))
            if urlsplit(url).scheme in ("http", "https") and self.scope.in_scope(url):
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
        self, url: str, role: str, priority: int = 0, nav_depth: int = 0
    ) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse, meta={"role": role, "nav_depth": nav_depth}, priority=priority
        )


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None


def _says_not_found(title: str | None, html: str, profile: SiteProfile) -> bool:
    """The page's title or its first lines of text match a not-found pattern of the profile."""
    if not profile.not_found_patterns:
        return False
    tree = dom.parse_cached(html)
    body = tree.find("body")
    head = " ".join(dom.render_lines(body if body is not None else tree)[:8])
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


def _below(path: str, base: str) -> bool:
    """True when ``path`` lies in a sub-folder of the folder holding ``base``."""
    folder = base.rsplit("/", 1)[0] + "/"
    return path.startswith(folder) and path != base and path.count("/") > folder.count("/")
