"""One server's portal: which handler answers a request, and the state a server lifetime keeps.

`Portal(round, scale).respond(method, host, target, headers)` routes by host, then:
redirects, dynamic endpoints (counters, the Hanweb list endpoint, traps, print and search
views), stored pages (each wrapped in its host's quirks), and a 404 page. Hosts the proxy does
not know answer 502, as a proxy that cannot connect would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from replica import templates as tpl
from replica.handlers import (
    ArtCount,
    Calendar,
    ClickCounter,
    Compress,
    Conditional,
    DataProxy,
    Delay,
    Drop,
    Flaky,
    GrowingQuery,
    Handler,
    HitCounter,
    Hits,
    Partial,
    Redirect,
    Request,
    Resource,
    Response,
    SessionIds,
    Static,
    Status,
    VisitCounter,
)
from replica.hosts import ALL_HOSTS, BARE_XAM, WWW
from replica.site import SiteBuild, build
from replica.templates import HostCfg

_JSESSION = re.compile(r";jsessionid=([0-9A-Za-z]+)", re.I)
CALENDAR = "/xam/hdjl95/calendar.jsp"
SORTED_LIST = "/xam/zwgk73/tzgg49/list.jsp"
SESSION_ENTRANCE = "/xamagri/wsbs/"
# Server behaviours on their own, Scrapy-mockserver style, for tests of failure handling; no
# portal page links this host.
QUIRKS_HOST = "quirks.replica.test"


class Portal:
    """The replica of one round and scale, as one server process sees it: hit counters and the
    flaky page's failures start afresh with every Portal.

    A stored page is served through its host's quirks, outermost first:
    `Flaky` (the one flaky page) > `Compress` (gzip hosts) > `Conditional` (hosts with
    validators) > `SessionIds` (the TRS site) > `Static`.
    """

    def __init__(self, round_: int = 1, scale: int = 1) -> None:
        self.build = build(round_, scale)
        self.round = round_
        self._hits = Hits()
        self._endpoints = {cfg.host: self._dynamic_routes(cfg) for cfg in ALL_HOSTS.values()}
        self._compress = {cfg.host: Compress(self._stored) for cfg in ALL_HOSTS.values()}
        self._flaky = {key: Flaky(self._served) for key in self.build.flaky}

    def respond(self, method: str, host: str, target: str, headers: dict[str, str]) -> Response:
        host = host.lower().split(":")[0]
        cfg = ALL_HOSTS.get(host)
        req = self._request(method, host, target, headers, cfg)
        if host == QUIRKS_HOST:
            return _quirk(req)
        if host == BARE_XAM:  # the bare domain redirects every path to www
            return Redirect(301, f"http://{WWW.host}{target}")(req)
        if cfg is None:
            page = f"<html><body><h1>502 Bad Gateway</h1><p>cannot connect to {tpl.e(host)}</p>"
            return Status(502, page + "</body></html>")(req)
        return self._route(cfg, req)(req)

    @staticmethod
    def _request(
        method: str, host: str, target: str, headers: dict[str, str], cfg: HostCfg | None = None
    ) -> Request:
        parts = urlsplit(target)
        path, session = parts.path or "/", None
        m = _JSESSION.search(path)
        if m and cfg is not None and cfg.family == "trs":  # only the TRS site tracks sessions
            session, path = m.group(1), _JSESSION.sub("", path)
        return Request(method, host, path, parts.query, headers, session)

    def _route(self, cfg: HostCfg, req: Request) -> Handler:
        b = self.build
        redirect = b.redirects.get((req.host, req.full)) or b.redirects.get((req.host, req.path))
        if redirect is not None:
            return Redirect(*redirect)
        endpoint = self._endpoints[req.host].get(req.path)
        if endpoint is not None:
            return endpoint
        if req.path.startswith(f"{cfg.prefix}/search/") and cfg.family in ("old", "new"):
            return self._search(cfg)
        if self._resource(req) is None:
            return self._not_found(cfg)
        return self._flaky.get((req.host, req.path), self._served)

    # --- stored pages, wrapped in their host's quirks ---------------------------------------

    def _resource(self, req: Request) -> Resource | None:
        res = self.build.res
        if req.query and (req.host, req.full) not in res:
            return res.get((req.host, req.path))
        return res.get((req.host, req.full))

    def _served(self, req: Request) -> Response:
        """After Flaky: gzip where the host compresses."""
        if ALL_HOSTS[req.host].gzip:
            return self._compress[req.host](req)
        return self._stored(req)

    def _stored(self, req: Request) -> Response:
        """The stored resource (static pages ignore unknown query strings), with validators
        where the host sends them and the session-id trap on the TRS site."""
        cfg, res = ALL_HOSTS[req.host], self._resource(req)
        assert res is not None
        page: Handler = Static(res)
        if cfg.family == "trs":
            page = SessionIds(page, SESSION_ENTRANCE)
        if cfg.conditional:
            page = Conditional(page, res)
        return page(req)

    # --- dynamic endpoints ------------------------------------------------------------------

    def _dynamic_routes(self, cfg: HostCfg) -> dict[str, Handler]:
        b, p = self.build, cfg.prefix
        routes: dict[str, Handler] = {}
        if cfg.family == "old":
            routes[f"{p}/clicks.jsp"] = ClickCounter(b.counters)
        if cfg.family == "trs":
            routes[f"{p}/count.jsp"] = HitCounter(b.counters, self._hits)
        if cfg.family == "hanweb":
            routes["/vc/vc/interface/artcount/artcount.jsp"] = ArtCount(b.counters, self._hits)
            routes["/module/visitcount/visit.jsp"] = VisitCounter(b.counters, self._hits)
            routes["/module/web/jpage/dataproxy.jsp"] = DataProxy(b.dataproxy)
        if cfg is WWW:
            routes[CALENDAR] = Calendar(_calendar_page, CALENDAR)
            routes[SORTED_LIST] = GrowingQuery(_sorted_list_page(b), SORTED_LIST, _notices(b))
        # Print views (robots-disallowed): a stub page without chrome.
        print_view = Status(
            200,
            '<html><body onload="window.print()"><p>打印预览</p>'
            f'<a href="{p}/index.html">返回</a></body></html>\n',
        )
        routes.setdefault(f"{p}/print/print.jsp", print_view)
        routes.setdefault(f"{p}/print.jsp", print_view)
        return routes

    @staticmethod
    def _search(cfg: HostCfg) -> Handler:
        content = '<div class="main"><p>没有找到相关结果。</p></div>\n'
        return Status(200, tpl.page(cfg, f"搜索-{cfg.site_name}", [], content))

    @staticmethod
    def _not_found(cfg: HostCfg) -> Handler:
        content = '<div class="main"><h1>404</h1><p>您访问的页面不存在或已被删除。</p></div>\n'
        return Status(404, tpl.page(cfg, f"404-{cfg.site_name}", [], content), cfg.charset)


def _calendar_page(content: str) -> str:
    crumbs = [("首页", "/xam/index.html"), ("互动交流", "/xam/hdjl95/index.html")]
    return tpl.page(WWW, f"活动日历-{WWW.site_name}", crumbs, content)


def _sorted_list_page(b: SiteBuild) -> Callable[[str], str]:
    crumbs = b.cols["w:tzgg"].crumbs
    return lambda content: tpl.page(WWW, f"通知公告-{WWW.site_name}", crumbs, content)


def _notices(b: SiteBuild) -> list[tuple[str, str, str]]:
    items = sorted(b.cols["w:tzgg"].items, key=lambda i: (i.day, i.title), reverse=True)
    return [(i.title, i.href, i.day) for i in items]


def _quirk(req: Request) -> Response:
    """quirks.replica.test: `/status?n=CODE`, `/redirect?n=301|302&to=URL`, `/delay?n=SECONDS`,
    `/partial`, `/drop`, `/compress`; anything else 404."""
    page = "<html><body>" + "<p>quirks.replica.test</p>" * 64 + "</body></html>"
    ok = Status(200, page)
    n = req.args.get("n", "")
    status = int(n) if n.isdigit() and 200 <= int(n) < 600 else 200
    handlers: dict[str, Handler] = {
        "/status": Status(status, "" if status in (204, 304) else page),
        "/redirect": Redirect(302 if n == "302" else 301, req.args.get("to", "/status")),
        "/delay": Delay(ok),
        "/partial": Partial(ok),
        "/drop": Drop(),
        "/compress": Compress(ok),
    }
    return handlers.get(req.path, Status(404, "<html><body>no such quirk</body></html>"))(req)
