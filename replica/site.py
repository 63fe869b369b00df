"""The whole replica built in memory: (host, path?query) -> response.

`build(round, scale)` renders every static page once per process (cached); `Site` wraps one build
with the per-server state (click counters that add hits, the flaky page's failure count) and
answers requests, including the dynamic routes (counters, Hanweb list endpoint, traps).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
import re
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from replica import attachments as A
from replica import news as N
from replica import tables as T
from replica import templates as tpl
from replica.content import REPORTS, REPORTS_BY_KEY, Body, ReportSpec, build_body
from replica.hosts import AES, ALL_HOSTS, BARE_XAM, KYQQ, KYZQ, MZJ, NMJ, SPAM, WLHT, WSB, WWW
from replica.templates import HostCfg, e
from replica.textutil import fw

logger = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
ASSET_TIME = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
HOME_TIME = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)
EDIT_TIME = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)

# www.xam.gov.cn: year sub-columns of 政府信息公开年报 (zfxxgknb46), by report year.
XAM_NB = "/xam/zwgk73/zfxxgk31/zfxxgknb46/"
XAM_YEAR_COLS = {
    2025: "5781234",
    2024: "5573190",
    2023: "5329871",
    2022: "5103465",
    2021: "4800984",
    2020: "4580233",
    2019: "4359102",
    2012: "3650817",
}
MZJ_NB = "/mzj/zfxxgk64/zfxxgknb25/"
NMJ_NB = "/xamagri/xxgk12/zfxxgknb7/"
KYQQ_NB_COL = "1229"


@dataclass(frozen=True)
class Placement:
    """Where one copy of a report is published."""

    key: str  # report key
    host: str
    family: str  # old | new | trs | hanweb
    meta: str  # templates.meta_line format
    heading: str = "title"  # title | agency_split | split | agency_after | spaced
    path: str | None = None  # fixed path (real URLs); else generated
    group: str | None = None  # duplicate group
    variant: str = "text"  # text | image | docx | xlsx | pdf
    flaky: bool = False
    charset: str = "gbk"  # trs only: gbk | none | wrong
    listed: bool = True  # False: reachable only through the sitemap
    republished: bool = False  # new CMS: id stamped 20240414...
    xxgk_table: bool = False  # hanweb: 信息公开目录 header table
    counter: bool = True
    old_url: str | None = None  # an old URL that redirects (301) here


def _P(key: str, host: str, family: str, meta: str, **kw: Any) -> Placement:
    return Placement(key, host, family, meta, **kw)


_W, _M, _S, _G, _Q = WWW.host, MZJ.host, WSB.host, NMJ.host, KYQQ.host
PLACEMENTS: list[Placement] = [
    # www.xam.gov.cn
    _P("meng-2012", _W, "old", "riqi"),
    _P("meng-2019", _W, "old", "riqi", group="meng-2019"),
    _P(
        "meng-2019",
        _W,
        "new",
        "fabu",
        group="meng-2019",
        republished=True,
        path="/xam/2020-03/11/article_2024041412203766299.html",
        listed=False,
    ),
    _P("gaj-2019", _W, "old", "riqi_spaced"),
    _P("gaj-2020", _W, "old", "riqi"),
    _P("wsb-2020", _W, "old", "riqi", group="wsb-2020"),
    _P("meng-2020", _W, "old", "riqi"),
    _P(
        "gaj-2021",
        _W,
        "old",
        "riqi",
        heading="agency_split",
        path=XAM_NB + "4800984/4862348/index.html",
    ),
    _P("mzj-2021", _W, "old", "riqi", group="mzj-2021"),
    _P("meng-2021", _W, "old", "riqi"),
    _P("gaj-2022", _W, "old", "riqi", flaky=True),
    _P("meng-2022", _W, "old", "riqi", group="meng-2022"),
    _P("meng-2022", _W, "old", "riqi", group="meng-2022", variant="image"),
    _P("xfj-2022", _W, "old", "riqi"),
    _P("czj-2022", _W, "old", "riqi", variant="docx"),
    _P("gaj-2023", _W, "old", "riqi"),
    _P("meng-2023", _W, "old", "riqi"),
    _P("tjj-2023", _W, "old", "riqi", variant="xlsx"),
    _P("meng-2024", _W, "new", "fabu", path="/xam/2025-01/20/article_2025012017242828970.html"),
    _P("jyj-2024", _W, "old", "riqi", variant="pdf"),
    _P("gaj-2024", _W, "old", "riqi"),
    _P("meng-2025", _W, "old", "riqi"),
    _P("gaj-2025", _W, "old", "riqi"),
    # mzj.xam.gov.cn
    _P("mzj-2020", _M, "old", "shijian"),
    _P("mzj-2021", _M, "old", "shijian", group="mzj-2021", path=MZJ_NB + "4866590/index.html"),
    _P("mzj-2022", _M, "old", "shijian"),
    _P("mzj-2023", _M, "old", "shijian"),
    _P("mzj-2024", _M, "old", "shijian"),
    # wsb.xam.gov.cn
    _P(
        "wsb-2020",
        _S,
        "new",
        "fabu",
        group="wsb-2020",
        republished=True,
        old_url="/wsb/zfxxgk82/zfxxgknb49/4705512/index.html",
    ),
    _P("wsb-2022", _S, "new", "fabu", republished=True, listed=False),
    _P("wsb-2023", _S, "new", "fabu", republished=True),
    _P("wsb-2024", _S, "new", "fabu"),
    _P(
        "wsb-2025",
        _S,
        "new",
        "fabu",
        heading="spaced",
        path="/wsb/2026-01/20/article_2026012017235865780.html",
    ),
    # nmj.xam.gov.cn (GBK)
    _P("nmj-2020", _G, "trs", "author"),
    _P("nmj-2021", _G, "trs", "author"),
    _P("nmj-2022", _G, "trs", "author", charset="none"),
    _P("nmj-2023", _G, "trs", "author", charset="wrong"),
    _P("nmj-2024", _G, "trs", "author"),
    # www.kyqq.gov.cn (Hanweb)
    _P("kyqq-2022", _Q, "hanweb", "hanweb", xxgk_table=True),
    _P("kyqq-2023", _Q, "hanweb", "hanweb", xxgk_table=True),
    _P("kyqq-2024", _Q, "hanweb", "hanweb", xxgk_table=True),
    _P("kyqq-2025", _Q, "hanweb", "hanweb", heading="agency_after"),
    # county sites on the dated-article CMS
    _P(
        "kyzq-lcj-2020",
        KYZQ.host,
        "new",
        "fabu",
        republished=True,
        path="/kyzq/2021-01/28/article_2024041405435289175.html",
    ),
    _P("kyzq-lcj-2021", KYZQ.host, "new", "fabu", republished=True),
    _P(
        "wlht-2021",
        WLHT.host,
        "new",
        "fabu",
        republished=True,
        path="/wlht/2022-01/04/article_2024041410511629403.html",
    ),
    _P(
        "wlht-wjw-2022",
        WLHT.host,
        "old",
        "riqi_nocount",
        counter=False,
        path="/wlht/bmzfxxgk/zfzcbmyzsjg/wjw/zfxxgknb2655/5420275/5426708/index.html",
    ),
    _P(
        "aes-wjw-2025",
        AES.host,
        "new",
        "fabu",
        heading="split",
        path="/aes/2026-01/15/article_2026011509191225642.html",
    ),
    _P("aes-wjw-2024", AES.host, "new", "fabu"),
]


@dataclass
class Resource:
    body: bytes
    ctype: str
    status: int = 200
    last_modified: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str = ""

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass
class Item:
    title: str
    href: str
    day: str  # YYYY-MM-DD
    onclick: str = ""


@dataclass
class Column:
    cfg: HostCfg
    base: str  # directory path ending in "/" (hanweb: "/col/col<id>/")
    name: str
    parents: list[tuple[str, str]]
    items: list[Item] = field(default_factory=list)
    page_size: int = 15
    children: list[Column] = field(default_factory=list)
    note_html: str = ""
    col_id: str = ""

    @property
    def href(self) -> str:
        return self.base + "index.html"

    @property
    def crumbs(self) -> list[tuple[str, str]]:
        return self.parents + [(self.name, self.href)]


@dataclass
class ReportPage:
    """One URL that carries an annual report, with everything expected.py reports."""

    key: str
    url: str
    host: str
    title: str
    agency: str
    source: str | None
    year: int
    published: str
    counter: str | None  # A | B | C | None
    counter_id: str | None
    clicks: int | None
    duplicate_group: str | None
    tables: dict | None
    layout: str | None
    template: str
    variant: str
    landing_url: str | None
    attachments: list[str]
    boilerplate: list[str]
    text: str  # all prose of the report (for key-sentence selection)
    preferred: list[str]
    arithmetic_ok: bool | None
    charset: str
    flaky: bool
    key_sentences: list[str] = field(default_factory=list)


def _crc(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def counter_base(url: str, round_: int) -> int:
    """Deterministic click count of a page; later rounds count more."""
    base = 40 + _crc(url) % 4000
    if round_ >= 2:
        base += 11 + _crc(url + "#r2") % 300
    return base


def parse_printed(published: str) -> datetime:
    if "年" in published:
        return datetime.strptime(published, "%Y年%m月%d日").replace(tzinfo=CHINA)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(published, fmt).replace(tzinfo=CHINA)
        except ValueError:
            continue
    raise ValueError(published)


def printed_date(spec_published: str, meta: str) -> str:
    """The date as a page of this meta format prints it."""
    dt = parse_printed(spec_published)
    if meta == "author":
        return dt.strftime("%Y年%m月%d日")
    if meta in ("fabu", "hanweb"):
        return dt.strftime("%Y-%m-%d %H:%M")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


class SiteBuild:
    """Every page of one round at one scale, rendered."""

    def __init__(self, round_: int = 1, scale: int = 1) -> None:
        if round_ not in (1, 2):
            raise ValueError("round must be 1 or 2")
        if scale < 1:
            raise ValueError("scale must be >= 1")
        self.round = round_
        self.scale = scale
        self.res: dict[tuple[str, str], Resource] = {}
        self.redirects: dict[tuple[str, str], tuple[int, str]] = {}
        self.reports: list[ReportPage] = []
        self.decoys: list[dict[str, Any]] = []
        self.counters: dict[tuple[str, str], tuple[str, int]] = {}
        self.hit_adding: list[str] = []
        self.dataproxy: dict[tuple[str, int], bytes] = {}
        self.flaky: set[tuple[str, str]] = set()
        self.gone: list[str] = []
        self.sitemap_urls: list[str] = []
        self.offsite: list[dict[str, Any]] = []
        self.page_texts: dict[str, str] = {}  # url -> prose, for key-sentence uniqueness
        self._ids: set[str] = set()
        self.bodies: dict[str, Body] = {
            s.key: build_body(s, round_) for s in REPORTS if s.exists_in(round_)
        }
        self.columns: list[Column] = []
        self._build()
        if round_ > 1:
            self._stamp_changes(build(round_ - 1, scale))

    def _stamp_changes(self, before: SiteBuild) -> None:
        """Pages whose bytes changed since the previous round get a later Last-Modified."""
        for key, res in self.res.items():
            old = before.res.get(key)
            if old is not None and old.body != res.body:
                res.last_modified = max(EDIT_TIME, res.last_modified or EDIT_TIME)

    # --- ids and URLs ---------------------------------------------------------------------

    def _unique(self, ident: str, bump: Callable[[str], str]) -> str:
        while ident in self._ids:
            ident = bump(ident)
        self._ids.add(ident)
        return ident

    def old_id(self, seed: str, day: date) -> str:
        n = 3_000_000 + (day - date(2010, 1, 1)).days * 425 + _crc(seed) % 425
        return self._unique(str(n), lambda s: str(int(s) + 1))

    def new_path(self, cfg: HostCfg, seed: str, dt: datetime, republished: bool) -> str:
        """/<prefix>/<YYYY-MM>/<DD>/article_<19 digits>.html.

        Re-published pages carry a 2024-04-14 migration stamp in the id and a path date that is
        only near the real publication date.
        """
        c = _crc(seed)
        if republished:
            path_day = dt - timedelta(days=c % 9)
            stamp = datetime(2024, 4, 14, 9, 0) + timedelta(seconds=c % 30000)
        else:
            path_day = dt
            stamp = dt.replace(tzinfo=None) + timedelta(seconds=c % 240)
        ident = stamp.strftime("%Y%m%d%H%M%S") + f"{c % 100000:05d}"
        ident = self._unique(ident, lambda s: str(int(s) + 1))
        return f"{cfg.prefix}/{path_day:%Y-%m}/{path_day:%d}/article_{ident}.html"

    def trs_path(self, col_base: str, seed: str, day: date) -> tuple[str, str]:
        n = 2_000_000 + (day - date(2015, 1, 1)).days * 300 + _crc(seed) % 300
        ident = self._unique(str(n), lambda s: str(int(s) + 1))
        return f"{col_base}{day:%Y%m}/t{day:%Y%m%d}_{ident}.html", ident

    def hanweb_path(self, col: str, seed: str, day: date) -> tuple[str, str]:
        n = 2_400_000 + (day - date(2015, 1, 1)).days * 97 + _crc(seed) % 97
        ident = self._unique(str(n), lambda s: str(int(s) + 1))
        return f"/art/{day.year}/{day.month}/{day.day}/art_{col}_{ident}.html", ident

    # --- resources ------------------------------------------------------------------------

    def put(
        self,
        cfg: HostCfg,
        path: str,
        text: str | bytes,
        ctype: str = "text/html",
        lm: datetime | None = None,
        charset: str | None = "default",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if isinstance(text, str):
            enc = "gbk" if cfg.charset == "gbk" else "utf-8"
            body = text.encode(enc)
            if charset == "default":
                charset = cfg.charset
        else:
            body = text
            charset = None if charset == "default" else charset
        full_ctype = f"{ctype}; charset={charset}" if charset else ctype
        key = (cfg.host, path)
        if key in self.res:
            raise ValueError(f"duplicate resource {key}")
        self.res[key] = Resource(body, full_ctype, 200, lm or HOME_TIME, headers)

    def url(self, cfg: HostCfg, path: str) -> str:
        return f"http://{cfg.host}{path}"

    # --- build ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.cols: dict[str, Column] = {}
        self._make_columns()
        self._place_reports()
        self._place_decoys()
        self._place_news()
        for col in self.columns:
            self._render_column(col)
        self._static_pages()
        self._assets()
        self._robots_and_sitemap()
        self._traps_and_redirects()

    # Columns of every host. Keys are "host:name".
    def _col(
        self, key: str, cfg: HostCfg, base: str, name: str, parent: str | None = None, **kw: Any
    ) -> Column:
        parents: list[tuple[str, str]] = [("首页", f"{cfg.prefix}/index.html")]
        if cfg.family == "hanweb":
            parents = [("首页", "/index.html")]
        if parent:
            parents = self.cols[parent].crumbs
        col = Column(cfg, base, name, parents, **kw)
        self.cols[key] = col
        self.columns.append(col)
        if parent:
            self.cols[parent].children.append(col)
        return col

    def _make_columns(self) -> None:
        c = self._col
        # www.xam.gov.cn
        c("w:xwzx", WWW, "/xam/xwzx12/", "新闻中心")
        c("w:zwyw", WWW, "/xam/xwzx12/zwyw27/", "政务要闻", "w:xwzx", page_size=20)
        c("w:bmdt", WWW, "/xam/xwzx12/bmdt29/", "部门动态", "w:xwzx", page_size=20)
        c("w:qxsdt", WWW, "/xam/xwzx12/qxsdt31/", "旗县市动态", "w:xwzx", page_size=20)
        c("w:zwgk", WWW, "/xam/zwgk73/", "政务公开")
        c(
            "w:zfxxgk",
            WWW,
            "/xam/zwgk73/zfxxgk31/",
            "政府信息公开",
            "w:zwgk",
            note_html='<ul class="sub"><li><a href="/xam/zwgk73/zfxxgk31/zfxxgkzn44/index.html">'
            "政府信息公开指南</a></li></ul>\n",
        )
        c("w:nb", WWW, XAM_NB, "政府信息公开年报", "w:zfxxgk")
        for year, cid in XAM_YEAR_COLS.items():
            c(f"w:nb{year}", WWW, f"{XAM_NB}{cid}/", f"{year}年度", "w:nb", page_size=4)
        c(
            "w:tzgg",
            WWW,
            "/xam/zwgk73/tzgg49/",
            "通知公告",
            "w:zwgk",
            page_size=15,
            note_html='<div class="sort">'
            '<a href="/xam/zwgk73/tzgg49/list.jsp?page=1&amp;sort=time">'
            "按时间排序</a></div>\n",
        )
        c("w:czyjs", WWW, "/xam/zwgk73/czyjs52/", "财政预决算", "w:zwgk")
        c("w:fzzf", WWW, "/xam/zwgk73/fzzfjs55/", "法治政府建设", "w:zwgk")
        # mzj
        c("m:zfxxgk", MZJ, "/mzj/zfxxgk64/", "政府信息公开")
        c("m:nb", MZJ, MZJ_NB, "政府信息公开年报", "m:zfxxgk", page_size=5)
        c("m:gzdt", MZJ, "/mzj/gzdt18/", "民政动态", page_size=15)
        # wsb
        c("s:zfxxgk", WSB, "/wsb/zfxxgk82/", "政府信息公开")
        c("s:nb", WSB, "/wsb/zfxxgk82/zfxxgknb49/", "政府信息公开年报", "s:zfxxgk", page_size=4)
        c("s:gzdt", WSB, "/wsb/gzdt37/", "外事动态", page_size=12)
        # nmj
        c("g:xxgk", NMJ, "/xamagri/xxgk12/", "信息公开")
        c("g:nb", NMJ, NMJ_NB, "年度报告", "g:xxgk", page_size=5)
        c("g:gzdt", NMJ, "/xamagri/gzdt3/", "工作动态", page_size=15)
        c("g:tzgg", NMJ, "/xamagri/tzgg5/", "通知公告", page_size=15)
        # kyqq (Hanweb: columns by id)
        c("q:zwgk", KYQQ, "/col/col1225/", "政务公开", col_id="1225")
        c(
            "q:nb",
            KYQQ,
            "/col/col1229/",
            "政府信息公开年报",
            "q:zwgk",
            col_id=KYQQ_NB_COL,
            page_size=3,
        )
        c("q:czyjs", KYQQ, "/col/col1233/", "财政预决算", "q:zwgk", col_id="1233", page_size=10)
        c("q:xwdt", KYQQ, "/col/col1201/", "新闻动态", col_id="1201", page_size=15)
        c("q:tzgg", KYQQ, "/col/col1203/", "通知公告", col_id="1203", page_size=15)
        # county sites
        for tag, cfg in (("z", KYZQ), ("l", WLHT), ("a", AES)):
            c(f"{tag}:zfxxgk", cfg, f"{cfg.prefix}/zfxxgk/", "政府信息公开")
            c(
                f"{tag}:nb",
                cfg,
                f"{cfg.prefix}/zfxxgk/{cfg.extra['nb_slug']}/",
                "政府信息公开年报",
                f"{tag}:zfxxgk",
                page_size=10,
            )
            c(f"{tag}:zwdt", cfg, f"{cfg.prefix}/zwdt/", "政务动态", page_size=15)

    # --- articles -------------------------------------------------------------------------

    def _report_col(self, p: Placement, spec: ReportSpec) -> Column:
        if p.host == WWW.host:
            return self.cols[f"w:nb{spec.year}"]
        tag = {
            MZJ.host: "m",
            WSB.host: "s",
            NMJ.host: "g",
            KYQQ.host: "q",
            KYZQ.host: "z",
            WLHT.host: "l",
            AES.host: "a",
        }[p.host]
        return self.cols[f"{tag}:nb"]

    def _article_path(
        self,
        cfg: HostCfg,
        family: str,
        col: Column,
        seed: str,
        dt: datetime,
        republished: bool = False,
    ) -> tuple[str, str]:
        """(path, counter id) of a new article."""
        if family == "old":
            ident = self.old_id(seed, dt.date())
            return f"{col.base}{ident}/index.html", ident
        if family == "new":
            path = self.new_path(cfg, seed, dt, republished)
            return path, path.rsplit("_", 1)[1].split(".")[0]
        if family == "trs":
            return self.trs_path(col.base, seed, dt.date())
        return self.hanweb_path(col.col_id, seed, dt.date())

    def article_page(
        self,
        cfg: HostCfg,
        family: str,
        path: str,
        ident: str,
        *,
        title: str,
        crumbs: list[tuple[str, str]],
        heading_html: str,
        meta: str,
        source: str | None,
        date_printed: str,
        body_html: str,
        counter: bool = True,
        punct: Callable[[str], str] = fw,
        xxgk: dict[str, str] | None = None,
        pubdate: str = "",
        col_name: str = "",
    ) -> tuple[str, str | None]:
        """Render an article; returns (html, counter style)."""
        style: str | None = None
        scripts = ""
        counter_html = ""
        if counter and family == "old":
            counter_html, scripts = tpl.counter_a(cfg.prefix, ident)
            style = "A"
        elif counter and family == "trs":
            counter_html = tpl.counter_b(cfg.prefix, ident)
            style = "B"
        elif counter and family == "hanweb":
            col = path.split("_")[1]
            iframe, script = tpl.counter_c(col, ident)
            counter_html = '<span id="artcount"></span>'
            scripts = iframe + script
            style = "C"
        info = tpl.meta_line(meta, e(source) if source else None, date_printed, counter_html, punct)
        extra_meta = ""
        if family == "old":
            tools = (
                '<div class="art-tools"><span class="share">分享</span><br>'
                '<a href="javascript:void(0)" class="down">下载本页</a> '
                f'<a href="{cfg.prefix}/print/print.jsp?id={ident}">打印</a></div>\n'
            )
            content = (
                f'<div class="article">\n<h1 class="art-title">{heading_html}</h1>\n'
                f'<div class="art-info">{info}</div>\n{tools}'
                f'<div class="art-content" id="zoom">\n{body_html}\n</div>\n</div>\n{scripts}'
            )
        elif family == "new":
            tools = (
                '<div class="tools">字体大小：<a href="javascript:doZoom(18)">A+</a> '
                '<a href="javascript:doZoom(16)">A</a> <a href="javascript:doZoom(14)">A-</a> '
                '分享：<a href="javascript:void(0)" class="share-wx">微信</a> '
                '<a href="javascript:window.print()">打印</a></div>\n'
            )
            content = (
                f'<div class="main">\n<h1>{heading_html}</h1>\n<div class="info">{info}</div>\n'
                f'{tools}<div class="content" id="zoom">\n{body_html}\n</div>\n</div>\n'
            )
        elif family == "trs":
            content = (
                f'<div class="article">\n<h1>{heading_html}</h1>\n<div class="info">{info}</div>\n'
                f'<div class="TRS_Editor" id="zoom">\n{body_html}\n</div>\n'
                f'<div class="tools"><a href="{cfg.prefix}/print.jsp?aid={ident}">【打印本页】</a> '
                '<a href="javascript:window.close()">【关闭窗口】</a></div>\n</div>\n'
            )
        else:  # hanweb
            extra_meta = (
                f'<meta name="SiteName" content="{e(cfg.site_name)}">\n'
                f'<meta name="ColumnName" content="{e(col_name)}">\n'
                f'<meta name="ArticleTitle" content="{e(title)}">\n'
                f'<meta name="PubDate" content="{pubdate}">\n'
                f'<meta name="ContentSource" content="{e(source or "")}">\n'
            )
            table = ""
            if xxgk:
                cells = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in xxgk.items())
                table = f'<table class="xxgk-head">{cells}</table>\n'
            content = (
                f'<div class="main">\n{table}<h1>{heading_html}</h1>\n'
                f'<div class="info">{info}</div>\n'
                f'<div id="zoom">\n{body_html}\n</div>\n'
                '<div class="tools"><a href="javascript:window.print()">[打印本页]</a> '
                '<a href="javascript:window.close()">[关闭窗口]</a></div>\n</div>\n'
                f"{scripts}"
            )
        crumb_sep = " / " if family == "new" else " &gt; "
        page_title = f"{title}-{cfg.site_name}" if family != "hanweb" else title
        if family == "new":
            crumbs = [("首页", crumbs[0][1]), ("详细信息", "")]
        return (
            tpl.page(cfg, page_title, crumbs, content, extra_meta=extra_meta, crumb_sep=crumb_sep),
            style,
        )

    def _emit_article(
        self,
        cfg: HostCfg,
        path: str,
        html_text: str,
        dt: datetime,
        style: str | None,
        ident: str,
        seed_url: str,
        charset: str | None = "default",
    ) -> None:
        self.put(cfg, path, html_text, lm=dt.astimezone(UTC), charset=charset)
        if style:
            self.counters[(cfg.host, ident)] = (style, counter_base(seed_url, self.round))
            if style == "B":
                self.hit_adding.append(self.url(cfg, f"{cfg.prefix}/count.jsp?aid={ident}&add=1"))
            if style == "C":
                col = path.split("_")[1]
                self.hit_adding.append(
                    self.url(
                        cfg,
                        f"/module/visitcount/visit.jsp?type=3&i_webid=1&i_columnid={col}"
                        f"&i_articleid={ident}",
                    )
                )

    def _body_html(self, body: Body, layout: str | None, punct: Callable[[str], str]) -> str:
        rendered: dict[str, str] = {}
        if body.tables is not None:
            if layout == "flat":
                rendered = T.render_flat(body.tables, punct)
            elif layout == "rows":
                rendered = T.render_rows(body.tables, punct)
            else:
                rendered = T.render_html(body.tables, punct)
        out = []
        for kind, text in body.blocks:
            if kind == "h":
                out.append(f'<p style="text-indent:2em;"><strong>{e(text)}</strong></p>')
            elif kind == "p":
                out.append(f'<p style="text-indent:2em;">{e(text)}</p>')
            elif layout in ("xlsx",):
                if text == "s2":
                    out.append("<p>（统计表详见附件）</p>")
            else:
                out.append(rendered[text])
        return "\n".join(out)

    def _place_reports(self) -> None:
        for p in PLACEMENTS:
            spec = REPORTS_BY_KEY[p.key]
            cfg = ALL_HOSTS[p.host]
            col = self._report_col(p, spec)
            dt = parse_printed(spec.published)  # ids and paths keep the first date
            seed = f"{p.key}@{p.host}:{p.family}:{p.variant}"
            if p.path:
                path = p.path
                if p.family == "old":
                    ident = path.rstrip("/").split("/")[-2]
                else:
                    ident = path.rsplit("_", 1)[1].split(".")[0]
                self._ids.add(ident)
            else:
                path, ident = self._article_path(cfg, p.family, col, seed, dt, p.republished)
            url = self.url(cfg, path)
            present = spec.exists_in(self.round)
            listed_in_round = self.round >= spec.added_in
            if not listed_in_round:
                continue
            title = spec.title + ("（图片版）" if p.variant == "image" else "")
            if p.listed:
                col.items.append(Item(title, path, dt.strftime("%Y-%m-%d")))
            if not present:
                self.gone.append(url)
                continue
            self._render_report(p, spec, cfg, col, path, ident, title, url, dt)

    def _render_report(
        self,
        p: Placement,
        spec: ReportSpec,
        cfg: HostCfg,
        col: Column,
        path: str,
        ident: str,
        title: str,
        url: str,
        dt: datetime,
    ) -> None:
        body = self.bodies[spec.key]
        punct = spec.punct()
        date_printed = printed_date(spec.published_in(self.round), p.meta)
        source = spec.source_text
        landing_url = None
        attachments: list[str] = []
        layout = spec.layout
        tables = body.tables.expected() if body.tables is not None else None
        variant = p.variant
        report_url = url
        if variant == "image":
            layout, tables = "image", None
            imgs = []
            for i in range(1, 4):
                img_path = f"{path.rsplit('/', 1)[0]}/W0{ident}_{i}.png"
                self.put(
                    cfg,
                    img_path,
                    A.make_png(400, 560, (250, 250, 250), stripes=1),
                    "image/png",
                    lm=dt.astimezone(UTC),
                )
                imgs.append(
                    f'<p style="text-align:center;"><img src="{img_path}" '
                    f'alt="{e(title)}（第{i}页）" width="400" height="560"></p>'
                )
            body_html = "\n".join(imgs)
        elif variant in ("docx", "pdf"):
            doc_path, doc_bytes, ctype = self._attachment(p, spec, body, path, ident)
            self.put(cfg, doc_path, doc_bytes, ctype, lm=dt.astimezone(UTC))
            landing_url, report_url = url, self.url(cfg, doc_path)
            name = f"{spec.title}.{variant}"
            if variant == "docx":
                body_html = f'<p>附件：<a href="{doc_path}" target="_blank">{e(name)}</a></p>'
            else:
                viewer = f"{cfg.prefix}/pdfjs/web/viewer.html?file={doc_path}"
                body_html = (
                    f'<p><iframe src="{viewer}" width="100%" height="800"></iframe></p>\n'
                    f'<p>附件：<a href="{viewer}" target="_blank">{e(name)}</a></p>'
                )
        elif variant == "xlsx":
            assert body.tables is not None
            grids = T.grid_rows(body.tables)
            xlsx = A.make_xlsx(
                spec.title,
                [("主动公开", grids["s2"]), ("依申请公开", grids["s3"]), ("复议诉讼", grids["s4"])],
            )
            x_path = f"{path.rsplit('/', 1)[0]}/P0{ident}.xlsx"
            self.put(
                cfg,
                x_path,
                xlsx,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                lm=dt.astimezone(UTC),
            )
            attachments.append(self.url(cfg, x_path))
            body_html = self._body_html(body, "xlsx", punct) + (
                f'\n<p>附件：<a href="javascript:void(0)" onclick="window.open(\'{x_path}\')">'
                f"{e(spec.title)}统计表.xlsx</a></p>"
            )
        else:
            body_html = self._body_html(body, layout, punct)

        heading = e(title)
        a = spec.agency_obj
        if p.heading == "agency_split":
            # The seed page: heading is the agency; the title is split over two body lines.
            heading = e(a.name)
            body_html = (
                f'<p style="text-align:center;"><strong>{e(a.name)}{spec.year}'
                "政府信息公开工作</strong></p>\n"
                '<p style="text-align:center;"><strong>年度报告</strong></p>\n' + body_html
            )
        elif p.heading == "split":
            heading = f"{e(a.in_title)}{spec.year}年<br/>政府信息公开工作年度报告"
        elif p.heading == "agency_after":
            heading = e(a.in_title)
            body_html = (
                f'<p style="text-align:center;"><strong>{e(title)}</strong></p>\n' + body_html
            )
        elif p.heading == "spaced":
            heading = e(f"{a.in_title}{spec.year}年 政府信息公开工作年度报告")

        xxgk = None
        pub_day = dt.strftime("%Y-%m-%d")
        if p.xxgk_table:
            written = (dt - timedelta(days=3 + _crc(spec.key) % 5)).strftime("%Y-%m-%d")
            xxgk = {
                "索引号": f"11152221011598{_crc(spec.key) % 10000:04d}F/{dt.year}-{ident[-5:]}",
                "发布机构": source or a.name,
                "发布日期": pub_day,
                "发文日期": (dt - timedelta(days=1)).strftime("%Y-%m-%d"),
                "成文日期": written,
                "主题分类": "政务公开",
                "文号": "",
            }
        html_text, style = self.article_page(
            cfg,
            p.family,
            path,
            ident,
            title=title,
            crumbs=col.crumbs,
            heading_html=heading,
            meta=p.meta,
            source=source,
            date_printed=date_printed,
            body_html=body_html,
            counter=p.counter,
            punct=punct,
            xxgk=xxgk,
            pubdate=dt.strftime("%Y-%m-%d %H:%M"),
            col_name=col.name,
        )
        charset: str | None = "default"
        if p.family == "trs":
            if p.charset == "none":
                # No charset anywhere: neither header nor meta.
                html_text = html_text.replace(
                    '<meta http-equiv="Content-Type" content="text/html; charset=gbk">\n', ""
                )
                charset = None
            elif p.charset == "wrong":
                charset = "utf-8"  # header lies; body is GBK (its meta says gbk)
        self._emit_article(cfg, path, html_text, dt, style, ident, url, charset)
        if p.flaky:
            self.flaky.add((cfg.host, path))
        if p.old_url:
            self.redirects[(cfg.host, p.old_url)] = (301, path)
            col.items.append(Item(title, p.old_url, dt.strftime("%Y-%m-%d")))
            col.items.remove(next(i for i in col.items if i.href == path))
        if not p.listed and cfg.sitemap:
            self.sitemap_urls.append(url)

        boiler = cfg.boilerplate() + self._widgets(p.family)
        prose = "\n".join(body.text_paragraphs())
        clicks = None
        if style:
            clicks = counter_base(url, self.round) + (1 if style == "B" else 0)
        self.reports.append(
            ReportPage(
                key=spec.key,
                url=report_url,
                host=cfg.host,
                title=title,
                agency=a.name,
                source=source,
                year=spec.year,
                published=parse_printed(date_printed).isoformat(),
                counter=style,
                counter_id=ident if style else None,
                clicks=clicks,
                duplicate_group=p.group,
                tables=tables if variant != "image" else None,
                layout=layout,
                template=spec.template,
                variant=variant,
                landing_url=landing_url,
                attachments=attachments,
                boilerplate=[b for b in boiler if b not in prose and b not in title],
                text="" if variant == "image" else prose,
                preferred=[] if variant == "image" else list(body.preferred),
                arithmetic_ok=(
                    body.tables.arithmetic_ok
                    if body.tables is not None and variant != "image"
                    else None
                ),
                charset={"none": "none", "wrong": "gbk (header says utf-8)"}.get(p.charset, "gbk")
                if p.family == "trs"
                else "utf-8",
                flaky=p.flaky,
            )
        )

    @staticmethod
    def _widgets(family: str) -> list[str]:
        return {
            "old": ["分享", "下载本页", "打印"],
            "new": ["字体大小", "A+", "分享：", "打印"],
            "trs": ["【打印本页】", "【关闭窗口】"],
            "hanweb": ["[打印本页]", "[关闭窗口]"],
        }[family]

    def _attachment(
        self, p: Placement, spec: ReportSpec, body: Body, path: str, ident: str
    ) -> tuple[str, bytes, str]:
        assert body.tables is not None
        stem = path.rsplit("/", 1)[0]
        if p.variant == "docx":
            grids = T.grid_rows(body.tables)
            order = ["s2", "s3", "s4"]
            # A "\x00<n>" paragraph stands for table n of the grid list.
            paras = [
                f"\x00{order.index(text)}" if kind == "table" else text
                for kind, text in body.blocks
            ]
            data = A.make_docx(spec.title, paras, [grids["s2"], grids["s3"], grids["s4"]])
            return (
                f"{stem}/P0{ident}.docx",
                data,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
        lines = [spec.title]
        rows = T.row_lines(body.tables)
        for kind, text in body.blocks:
            lines += rows[text] if kind == "table" else [text]
        return f"{stem}/P0{ident}.pdf", A.make_pdf(lines, spec.title), "application/pdf"

    # --- decoys and news ------------------------------------------------------------------

    def _simple_article(
        self,
        cfg: HostCfg,
        col: Column,
        seed: str,
        title: str,
        paras: list[str],
        day: date,
        source: str | None = None,
        kind: str = "news",
        family: str | None = None,
        extra_html: str = "",
    ) -> str:
        family = family or cfg.family
        dt = datetime(
            day.year,
            day.month,
            day.day,
            9 + _crc(seed) % 8,
            _crc(seed) % 60,
            _crc(seed + "s") % 60,
            tzinfo=CHINA,
        )
        path, ident = self._article_path(cfg, family, col, seed, dt)
        meta = {"old": "riqi", "new": "fabu", "trs": "author", "hanweb": "hanweb"}[family]
        body_html = "\n".join(f'<p style="text-indent:2em;">{e(x)}</p>' for x in paras)
        body_html += extra_html
        html_text, style = self.article_page(
            cfg,
            family,
            path,
            ident,
            title=title,
            crumbs=col.crumbs,
            heading_html=e(title),
            meta=meta,
            source=source or cfg.site_name,
            date_printed=printed_date(dt.strftime("%Y-%m-%d %H:%M:%S"), meta),
            body_html=body_html,
            pubdate=dt.strftime("%Y-%m-%d %H:%M"),
            col_name=col.name,
        )
        url = self.url(cfg, path)
        # News pages of the GBK site's 工作动态 are served without any charset.
        charset = None if (family == "trs" and col.base.endswith("gzdt3/")) else "default"
        if charset is None:
            html_text = html_text.replace(
                '<meta http-equiv="Content-Type" content="text/html; charset=gbk">\n', ""
            )
        self._emit_article(cfg, path, html_text, dt, style, ident, url, charset)
        col.items.append(Item(title, path, day.isoformat()))
        self.page_texts[url] = "\n".join(paras)
        if kind != "news":
            self.decoys.append({"url": url, "kind": kind, "title": title})
        return url

    def _place_decoys(self) -> None:
        sa = self._simple_article
        w = self.cols
        # Notices about compiling reports: in 通知公告 and in the year columns.
        for year in (2020, 2021, 2022, 2023, 2024, 2025):
            title, body = N.notice_compile(year)
            sa(
                WWW,
                w["w:tzgg"],
                f"notice-{year}",
                title,
                body,
                date(year, 12, 10),
                "盟政务服务局",
                kind="notice",
            )
            if year in (2021, 2023):
                sa(
                    WWW,
                    w[f"w:nb{year}"],
                    f"notice-nb-{year}",
                    title,
                    body,
                    date(year, 12, 12),
                    "盟政务服务局",
                    kind="notice",
                )
        title, body = N.notice_compile(2023, "兴安盟农牧局办公室")
        sa(
            NMJ,
            w["g:tzgg"],
            "nmj-notice-2023",
            "兴安盟农牧局关于报送2023年度政府信息公开工作年度报告的通知",
            body,
            date(2023, 12, 20),
            "盟农牧局",
            kind="notice",
        )
        sa(
            KYQQ,
            w["q:tzgg"],
            "kyqq-notice-2024",
            title.replace("做好", "科右前旗做好"),
            body,
            date(2024, 12, 16),
            "科右前旗政务服务与数据管理局",
            kind="notice",
        )
        # 法治政府建设年度报告: "年度报告" in the title, not an information-disclosure report.
        for year in (2021, 2022, 2023):
            title, body = N.rule_of_law_report("兴安盟", year)
            sa(
                WWW,
                w["w:fzzf"],
                f"fz-{year}",
                title,
                body,
                date(year + 1, 3, 20),
                "盟司法局",
                kind="rule_of_law",
            )
        title, body = N.rule_of_law_report("兴安盟公安局", 2022)
        sa(
            WWW,
            w["w:fzzf"],
            "fz-gaj-2022",
            title,
            body,
            date(2023, 3, 28),
            "盟公安局",
            kind="rule_of_law",
        )
        title, body = N.rule_of_law_report("兴安盟行署外事办公室", 2023)
        sa(
            WSB,
            w["s:nb"],
            "fz-wsb-2023",
            title,
            body,
            date(2024, 2, 20),
            "盟外事办",
            kind="rule_of_law",
        )
        # Budgets.
        for org, year, kind in (
            ("兴安盟公安局", 2022, "部门预算"),
            ("兴安盟民政局", 2023, "部门决算"),
            ("兴安盟行政公署", 2024, "年度预算执行情况"),
        ):
            title, body = N.budget_page(org, year, kind)
            sa(
                WWW,
                w["w:czyjs"],
                f"budget-{org}-{year}",
                title,
                body,
                date(year, 2, 15),
                "盟财政局",
                kind="budget",
            )
        title, body = N.budget_page("科尔沁右翼前旗", 2024, "部门预算")
        sa(
            KYQQ,
            w["q:czyjs"],
            "kyqq-budget-2024",
            title,
            body,
            date(2024, 2, 10),
            "科右前旗财政局",
            kind="budget",
        )
        # A news item quoting a report, and a 图解 page about one.
        quoted = self.bodies["meng-2021"].preferred[:2]
        title, body = N.news_quoting_report(REPORTS_BY_KEY["meng-2021"].title, quoted, 2021)
        sa(
            WWW,
            w["w:zwyw"],
            "quote-meng-2021",
            title,
            body,
            date(2022, 1, 29),
            "兴安日报",
            kind="news_quoting_report",
        )
        self.decoys[-1]["quotes"] = "meng-2021"
        title, body = N.report_reading(REPORTS_BY_KEY["mzj-2022"].title)
        sa(
            MZJ,
            w["m:nb"],
            "reading-mzj-2022",
            title,
            body,
            date(2023, 1, 21),
            "盟民政局",
            kind="reading",
        )
        # A dead link in a list (the article id does not exist).
        dead = f"{w['w:nb2022'].base}5132001/index.html"
        w["w:nb2022"].items.append(
            Item("兴安盟卫生健康委员会2022年政府信息公开工作年度报告", dead, "2023-01-29")
        )
        self.gone.append(self.url(WWW, dead))

    def _place_news(self) -> None:
        k = self.scale
        plan = [
            (WWW, "w:zwyw", 30),
            (WWW, "w:bmdt", 20),
            (WWW, "w:qxsdt", 15),
            (MZJ, "m:gzdt", 20),
            (WSB, "s:gzdt", 20),
            (NMJ, "g:gzdt", 20),
            (NMJ, "g:tzgg", 6),
            (KYQQ, "q:xwdt", 25),
            (KYQQ, "q:tzgg", 6),
            (KYZQ, "z:zwdt", 12),
            (WLHT, "l:zwdt", 12),
            (AES, "a:zwdt", 12),
        ]
        for cfg, colkey, n in plan:
            col = self.cols[colkey]
            orgs = None if cfg is WWW else [cfg.site_name]
            for i, art in enumerate(N.news_articles(colkey, n * k, orgs)):
                self._simple_article(
                    cfg,
                    col,
                    art.key,
                    art.title,
                    list(art.paragraphs),
                    art.day,
                    art.source,
                    extra_html=LINKS_IN_NEWS.get((colkey, i), ""),
                )

    # --- lists ----------------------------------------------------------------------------

    def _render_column(self, col: Column) -> None:
        cfg = col.cfg
        items = sorted(col.items, key=lambda i: (i.day, i.title), reverse=True)
        latest = max([i.day for i in items], default="2024-01-01")
        lm = datetime.fromisoformat(latest).replace(hour=12, tzinfo=CHINA)
        lm = max(lm.astimezone(UTC), ASSET_TIME)
        if cfg.family == "hanweb":
            self._render_hanweb_column(col, items, lm)
            return
        children = ""
        if col.children:
            boxes = []
            for ch in col.children:
                top = sorted(ch.items, key=lambda i: (i.day, i.title), reverse=True)[:3]
                boxes.append(
                    f'<div class="box"><h3><a href="{ch.href}">{e(ch.name)}</a></h3>'
                    f"{tpl.list_items([(i.title, i.href, i.day) for i in top])}</div>"
                )
            children = "\n".join(boxes) + "\n"
        pages = [items[i : i + col.page_size] for i in range(0, len(items), col.page_size)] or [[]]
        total = len(pages)
        for n, chunk in enumerate(pages):
            lis = "".join(
                f'<li><a href="{e(i.href)}"'
                + (f' onclick="{e(i.onclick)}"' if i.onclick else "")
                + f' target="_blank" title="{e(i.title)}">{e(i.title)}</a>'
                + f"<span>{i.day}</span></li>\n"
                for i in chunk
            )
            lst = f'<ul class="list">\n{lis}</ul>\n' if chunk else ""
            if cfg.family == "new":
                fname = "index.html" if n == 0 else f"index_{n + 1}.html"
                pager = tpl.next_links(
                    n + 1, total, lambda k: "index.html" if k == 1 else f"index_{k}.html"
                )
            else:
                fname = "index.html" if n == 0 else f"index_{n}.html"
                pager = tpl.create_page_script(total, n) if items else ""
            content = (
                f'<div class="main"><div class="lm-name">{e(col.name)}</div>\n'
                f"{col.note_html}{children if n == 0 else ''}{lst}{pager}</div>\n"
            )
            crumb_sep = " / " if cfg.family == "new" else " &gt; "
            self.put(
                cfg,
                col.base + fname,
                tpl.page(
                    cfg, f"{col.name}-{cfg.site_name}", col.crumbs, content, crumb_sep=crumb_sep
                ),
                lm=lm,
            )

    def _render_hanweb_column(self, col: Column, items: list[Item], lm: datetime) -> None:
        cfg = col.cfg
        pages = [items[i : i + col.page_size] for i in range(0, len(items), col.page_size)]
        children = "".join(f'<li><a href="{ch.href}">{e(ch.name)}</a></li>' for ch in col.children)
        script = ""
        if items:
            script = (
                f'<div id="div{col.col_id}"></div>\n<script type="text/javascript">\n'
                f'var jpageConfig = {{url: "/module/web/jpage/dataproxy.jsp", '
                f'params: {{columnid: "{col.col_id}", unitid: "5432", webid: "1"}}, '
                f"perPage: {col.page_size}, totalRecord: {len(items)}}};\n"
                f'$("#div{col.col_id}").jpage(jpageConfig);\n</script>\n'
            )
        content = (
            f'<div class="main"><div class="lm-name">{e(col.name)}</div>\n'
            + (f'<ul class="sub">{children}</ul>\n' if children else "")
            + script
            + "</div>\n"
        )
        self.put(
            cfg, col.href, tpl.page(cfg, f"{col.name}-{cfg.site_name}", col.crumbs, content), lm=lm
        )
        for n, chunk in enumerate(pages, 1):
            recs = "".join(
                f'<record><![CDATA[<li><a href="{e(i.href)}" title="{e(i.title)}" '
                f'target="_blank">{e(i.title)}</a><span>{i.day}</span></li>]]></record>\n'
                for i in chunk
            )
            nxt = ""
            if n < len(pages):
                nxt = (
                    f'<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page={n + 1}'
                    f'&columnid={col.col_id}"></a>]]></nextgroup>\n'
                )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
                f"{nxt}<recordset>\n{recs}</recordset>\n"
                f"<totalrecord>{len(items)}</totalrecord><totalpage>{len(pages)}</totalpage>\n"
                "</datastore>\n"
            )
            self.dataproxy[(col.col_id, n)] = xml.encode("utf-8")

    # --- home pages and other static pages ------------------------------------------------

    def _static_pages(self) -> None:
        w = self.cols
        top_news = sorted(w["w:zwyw"].items, key=lambda i: (i.day, i.title), reverse=True)[:8]
        top_notice = sorted(w["w:tzgg"].items, key=lambda i: (i.day, i.title), reverse=True)[:5]
        reports_new = [
            (r.title, urlsplit(r.url).path, r.published[:10])
            for r in self.reports
            if r.host == WWW.host and "/article_" in r.url
        ]
        home = (
            '<div class="main">\n'
            '<div class="box"><h3><a href="/xam/xwzx12/zwyw27/index.html">政务要闻</a></h3>'
            f"{tpl.list_items([(i.title, i.href, i.day) for i in top_news])}</div>\n"
            '<div class="box"><h3><a href="/xam/zwgk73/tzgg49/index.html">通知公告</a></h3>'
            f"{tpl.list_items([(i.title, i.href, i.day) for i in top_notice])}</div>\n"
            '<div class="box"><h3><a href="/xam/zwgk73/zfxxgk31/index.html">政府信息公开</a></h3>'
            f'<ul><li><a href="{XAM_NB}index.html">政府信息公开年报</a></li>'
            '<li><a href="/xam/zwgk73/zfxxgk31/zfxxgkzn44/index.html">'
            "政府信息公开指南</a></li></ul>"
            f"{tpl.list_items(sorted(reports_new, key=lambda x: x[2], reverse=True))}</div>\n"
            '<div class="box"><h3>部门网站</h3><ul>'
            '<li><a href="http://wsb.xam.gov.cn/" target="_blank">兴安盟行署外事办公室</a></li>'
            '<li><a href="http://mzj.xam.gov.cn/mzj/index.html" target="_blank">'
            "兴安盟民政局</a></li>"
            '<li><a href="http://nmj.xam.gov.cn/" target="_blank">兴安盟农牧局</a></li>'
            '<li><a href="http://tjj.xam.gov.cn/" target="_blank">兴安盟统计局</a></li>'
            "</ul></div>\n"
            '<div class="box"><h3>旗县市政府网站</h3><ul>'
            '<li><a href="http://www.wlht.gov.cn/" target="_blank">乌兰浩特市</a></li>'
            '<li><a href="http://www.aes.gov.cn/" target="_blank">阿尔山市</a></li>'
            '<li><a href="http://www.kyqq.gov.cn/" target="_blank">科尔沁右翼前旗</a></li>'
            '<li><a href="http://www.kyzq.gov.cn/" target="_blank">科尔沁右翼中旗</a></li>'
            "</ul></div>\n"
            '<div class="box"><h3><a href="/xam/hdjl95/index.html">互动交流</a></h3><ul>'
            '<li><a href="/xam/hdjl95/calendar.jsp?month=2026-01">活动日历</a></li>'
            '<li><a href="/xam/search/search.jsp?q=%E5%B9%B4%E6%8A%A5">站内搜索</a></li>'
            '<li><a href="/xam/member/login.jsp">用户登录</a></li></ul></div>\n'
            "</div>\n"
        )
        self.put(WWW, "/xam/index.html", tpl.page(WWW, "兴安盟行政公署", [], home))
        self.put(
            WWW,
            "/xam/zwgk73/zfxxgk31/zfxxgkzn44/index.html",
            tpl.page(
                WWW,
                "政府信息公开指南-兴安盟行政公署",
                w["w:zfxxgk"].crumbs,
                '<div class="main"><h1>兴安盟行政公署政府信息公开指南</h1>'
                "<p>为了更好地提供政府信息公开服务，"
                "根据《中华人民共和国政府信息公开条例》，编制本指南。</p></div>\n",
            ),
        )
        for path, name, text in (
            (
                "/xam/zjxa58/index.html",
                "走进兴安",
                "兴安盟位于内蒙古自治区东北部，大兴安岭中段，盟行政公署驻乌兰浩特市。",
            ),
            (
                "/xam/hdjl95/index.html",
                "互动交流",
                '<a href="/xam/hdjl95/calendar.jsp?month=2026-01">活动日历</a>',
            ),
            (
                "/xam/wzdt/index.html",
                "网站地图",
                " ".join(f'<a href="{h}">{n}</a>' for n, h in WWW.menu),
            ),
        ):
            body = text if text.startswith("<") or "<a" in text else e(text)
            self.put(
                WWW,
                path,
                tpl.page(
                    WWW,
                    f"{name}-兴安盟行政公署",
                    [("首页", "/xam/index.html"), (name, path)],
                    f'<div class="main"><p>{body}</p></div>\n',
                ),
            )
        # Department and county home pages.
        for cfg, tags in (
            (MZJ, ["m:zfxxgk", "m:nb", "m:gzdt"]),
            (WSB, ["s:zfxxgk", "s:nb", "s:gzdt"]),
            (NMJ, ["g:xxgk", "g:nb", "g:gzdt", "g:tzgg"]),
            (KYZQ, ["z:zfxxgk", "z:nb", "z:zwdt"]),
            (WLHT, ["l:zfxxgk", "l:nb", "l:zwdt"]),
            (AES, ["a:zfxxgk", "a:nb", "a:zwdt"]),
        ):
            boxes = []
            for t in tags:
                col = w[t]
                top = sorted(col.items, key=lambda i: (i.day, i.title), reverse=True)[:6]
                boxes.append(
                    f'<div class="box"><h3><a href="{col.href}">{e(col.name)}</a></h3>'
                    f"{tpl.list_items([(i.title, i.href, i.day) for i in top])}</div>"
                )
            content = '<div class="main">\n' + "\n".join(boxes) + "\n</div>\n"
            self.put(cfg, f"{cfg.prefix}/index.html", tpl.page(cfg, cfg.site_name, [], content))
        # Menu targets without content of interest.
        for cfg, path, name in (
            (MZJ, "/mzj/bsfw21/index.html", "办事服务"),
            (KYQQ, "/col/col1240/index.html", "政务服务"),
        ):
            self.put(
                cfg,
                path,
                tpl.page(
                    cfg,
                    f"{name}-{cfg.site_name}",
                    [("首页", cfg.menu[0][1]), (name, path)],
                    f'<div class="main"><p>{name}事项请登录内蒙古政务服务网办理。</p></div>\n',
                ),
            )
        # Hanweb home at "/" and /index.html (same page).
        boxes = []
        for t in ("q:xwdt", "q:tzgg", "q:zwgk"):
            col = w[t]
            top = sorted(col.items, key=lambda i: (i.day, i.title), reverse=True)[:6]
            boxes.append(
                f'<div class="box"><h3><a href="{col.href}">{e(col.name)}</a></h3>'
                f"{tpl.list_items([(i.title, i.href, i.day) for i in top])}</div>"
            )
        home_q = tpl.page(
            KYQQ, KYQQ.site_name, [], '<div class="main">\n' + "\n".join(boxes) + "\n</div>\n"
        )
        self.put(KYQQ, "/index.html", home_q)
        self.put(KYQQ, "/", home_q)
        # wsb and county sites answer "/" with the home page itself.
        for cfg in (WSB, KYZQ, WLHT, AES):
            self.res[(cfg.host, "/")] = self.res[(cfg.host, f"{cfg.prefix}/index.html")]
        # nmj: "/" is a meta refresh page.
        self.put(
            NMJ,
            "/",
            '<html><head><meta http-equiv="refresh" content="0;url=/xamagri/index.html">'
            "</head><body></body></html>",
            charset=None,
        )
        # The GBK site's 网上办事 page (entry of the jsessionid trap).
        self.put(
            NMJ,
            "/xamagri/wsbs/index.jsp",
            tpl.page(
                NMJ,
                "网上办事-兴安盟农牧局",
                [("首页", "/xamagri/index.html"), ("网上办事", "")],
                '<div class="main"><ul>'
                '<li><a href="/xamagri/wsbs/bszn.jsp">办事指南</a></li>'
                '<li><a href="/xamagri/gzdt3/index.html">工作动态</a></li>'
                '<li><a href="/xamagri/xxgk12/zfxxgknb7/index.html">年度报告</a></li>'
                '<li><a href="/xamagri/wsbs/index.jsp">网上办事</a></li></ul></div>\n',
            ),
        )
        self.put(
            NMJ,
            "/xamagri/wsbs/bszn.jsp",
            tpl.page(
                NMJ,
                "办事指南-兴安盟农牧局",
                [("首页", "/xamagri/index.html"), ("办事指南", "")],
                '<div class="main"><p>农牧业行政许可事项办事指南。</p>'
                '<a href="/xamagri/wsbs/index.jsp">返回</a></div>\n',
            ),
        )
        # Spam copy of the seed report on a non-government domain, linked from one news page.
        self._spam_site()
        # pdf.js viewer stub.
        self.put(
            WWW,
            "/xam/pdfjs/web/viewer.html",
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            '<title>PDF.js viewer</title><script src="viewer.js"></script></head>'
            '<body><div id="viewerContainer"></div></body></html>\n',
            lm=ASSET_TIME,
        )
        self.put(
            WWW,
            "/xam/pdfjs/web/viewer.js",
            "var file = new URLSearchParams(location.search).get('file');"
            "document.getElementById('viewerContainer').innerHTML = "
            '\'<embed src="\' + file + \'" width="100%" height="800">\';\n',
            "application/javascript",
            lm=ASSET_TIME,
        )

    def _spam_site(self) -> None:
        seed = next(r for r in self.reports if r.key == "gaj-2021")
        paras = seed.text.split("\n")
        spam = [
            "【推荐】代办各类资格证书，包过包拿证，详询客服QQ：8008208820。",
            "点击进入>>>2026最新版高收益理财平台，日赚三千不是梦！",
        ]
        mixed = paras[:3] + [spam[0]] + paras[3:8] + [spam[1]] + paras[8:12]
        body = "\n".join(f"<p>{e(x)}</p>" for x in mixed)
        path = urlsplit(SPAM_URL).path
        self.put(
            SPAM,
            path,
            tpl.page(
                SPAM,
                f"{seed.title}_兴安政务信息网",
                [("首页", "/")],
                f'<div class="main"><h1>{e(seed.title)}</h1>'
                f'<div class="info">来源：网络 2022-01-25</div>{body}</div>\n',
            ),
        )
        self.put(
            SPAM,
            "/",
            tpl.page(
                SPAM,
                "兴安政务信息网",
                [],
                f'<ul><li><a href="{path}">{e(seed.title)}</a></li></ul>\n',
            ),
        )
        url = self.url(SPAM, path)
        self.offsite.append(
            {"url": url, "kind": "spam_copy", "copy_of": seed.url, "title": seed.title}
        )
        self.decoys.append({"url": url, "kind": "spam_copy", "title": seed.title})

    def _assets(self) -> None:
        logo = A.make_png(400, 80, (180, 0, 0))
        banner = A.make_png(300, 80, (200, 40, 40))
        for cfg in ALL_HOSTS.values():
            css, js, img = cfg.assets
            self.put(cfg, css, tpl.CSS, "text/css", lm=ASSET_TIME)
            self.put(cfg, js, tpl.JS, "application/javascript", lm=ASSET_TIME)
            self.put(cfg, img, logo, "image/png", lm=ASSET_TIME)
            banner_path = img.rsplit("/", 1)[0] + "/banner.png"
            if (cfg.host, banner_path) not in self.res:
                self.put(cfg, banner_path, banner, "image/png", lm=ASSET_TIME)

    def _robots_and_sitemap(self) -> None:
        for cfg in ALL_HOSTS.values():
            self.put(
                cfg, "/robots.txt", cfg.robots_txt(), "text/plain", lm=ASSET_TIME, charset=None
            )
        # wsb sitemap: some articles, among them the report linked from nowhere else.
        urls = list(self.sitemap_urls)
        urls += [self.url(WSB, i.href) for i in self.cols["s:gzdt"].items[:5]]
        urls += [self.url(WSB, i.href) for i in self.cols["s:nb"].items if "/article_" in i.href][
            :2
        ]
        locs = "".join(f"<url><loc>{html.escape(u)}</loc></url>\n" for u in urls)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{locs}</urlset>\n"
        )
        self.put(WSB, "/sitemap.xml", xml, "application/xml", lm=HOME_TIME)

    def _traps_and_redirects(self) -> None:
        r = self.redirects
        r[(WWW.host, "/")] = (302, "/xam/index.html")
        r[(MZJ.host, "/")] = (302, "/mzj/index.html")
        # Old year-column link -> moved once (301) -> moved again (302): a redirect chain.
        y2020 = self.cols["w:nb2020"].base
        r[(WWW.host, "/xam/zwgk/nb/2020.shtml")] = (301, f"{y2020}index.shtml")
        r[(WWW.host, f"{y2020}index.shtml")] = (302, f"{y2020}index.html")


@lru_cache(maxsize=8)
def build(round_: int = 1, scale: int = 1) -> SiteBuild:
    """The site of one round at one scale (built once per process)."""
    return SiteBuild(round_, scale)


# --- runtime ----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


SPAM_URL = "http://www.xam-gov.com.cn/zwxx/2022/0125/87213.html"
# Links planted in ordinary news pages: (column, article index) -> HTML.
LINKS_IN_NEWS = {
    # An old link into the redirect chain, and an old wsb article URL (301 to its new URL).
    ("w:zwyw", 0): (
        '\n<p>详见：<a href="/xam/zwgk/nb/2020.shtml">2020年度政府信息公开工作年度报告专栏</a>；'
        '<a href="http://wsb.xam.gov.cn/wsb/zfxxgk82/zfxxgknb49/4705512/index.html">'
        "盟外事办年度报告</a></p>"
    ),
    # The only link to the non-government copy site.
    ("l:zwdt", 0): (
        f'\n<p>相关链接：<a href="{SPAM_URL}" target="_blank">'
        "兴安盟公安局2021年政府信息公开工作年度报告</a></p>"
    ),
}

_JSESSION = re.compile(r";jsessionid=([0-9A-Za-z]+)", re.I)


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


class Site:
    """One server's view of a build: adds per-lifetime state (hits, flaky failures)."""

    def __init__(self, round_: int = 1, scale: int = 1) -> None:
        self.build = build(round_, scale)
        self.round = round_
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], int] = {}
        self._flaky_seen: dict[tuple[str, str], int] = {}
        self._gz: dict[tuple[str, str], bytes] = {}

    def hosts(self) -> set[str]:
        return set(ALL_HOSTS) | {BARE_XAM}

    def respond(self, method: str, host: str, target: str, headers: dict[str, str]) -> Response:
        host = host.lower().split(":")[0]
        if host not in self.hosts():
            return self._text(
                502,
                "text/html",
                "<html><body><h1>502 Bad Gateway</h1>"
                f"<p>cannot connect to {e(host)}</p></body></html>",
            )
        if host == BARE_XAM:
            return self._redirect(301, f"http://www.xam.gov.cn{target}")
        cfg = ALL_HOSTS[host]
        parts = urlsplit(target)
        path, query = parts.path or "/", parts.query
        sid = None
        m = _JSESSION.search(path)
        if m and cfg.family == "trs":
            sid = m.group(1)
            path = _JSESSION.sub("", path)
        full = path + (f"?{query}" if query else "")
        b = self.build

        if (host, full) in b.redirects or (host, path) in b.redirects:
            status, loc = b.redirects.get((host, full)) or b.redirects[(host, path)]
            return self._redirect(status, loc if loc.startswith("http") else f"http://{host}{loc}")

        dyn = self._dynamic(cfg, path, query)
        if dyn is not None:
            return dyn

        res = b.res.get((host, full)) or (b.res.get((host, path)) if query else None)
        if res is None:
            return self._not_found(cfg)
        key = (host, path)
        if key in b.flaky:
            with self._lock:
                seen = self._flaky_seen.get(key, 0)
                self._flaky_seen[key] = seen + 1
            if seen < 2:
                return self._text(
                    503,
                    "text/html",
                    "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                    [("Retry-After", "1")],
                )
        body = res.body
        if (
            cfg.family == "trs"
            and res.ctype.startswith("text/html")
            and (sid is not None or path.startswith("/xamagri/wsbs/"))
        ):
            body = _session_links(body, sid or "", path)
        hdrs: list[tuple[str, str]] = [("Content-Type", res.ctype), *res.headers]
        if cfg.conditional and res.last_modified is not None and sid is None:
            etag = res.etag
            lm = _http_date(res.last_modified)
            hdrs += [("ETag", etag), ("Last-Modified", lm)]
            if _not_modified(headers, etag, res.last_modified):
                return Response(304, [("ETag", etag), ("Last-Modified", lm)], b"")
        compressible = res.ctype.startswith(("text/", "application/javascript", "application/xml"))
        if cfg.gzip and compressible:
            hdrs.append(("Vary", "Accept-Encoding"))
            if "gzip" in headers.get("accept-encoding", "").lower():
                with self._lock:
                    gz = self._gz.get((host, full))
                if gz is None:
                    gz = gzip.compress(body, compresslevel=6, mtime=0)
                    with self._lock:
                        self._gz[(host, full)] = gz
                body = gz
                hdrs.append(("Content-Encoding", "gzip"))
        return Response(res.status, hdrs, body)

    # --- dynamic routes -------------------------------------------------------------------

    def _dynamic(self, cfg: HostCfg, path: str, query: str) -> Response | None:
        q = dict(parse_qsl(query, keep_blank_values=True))
        b = self.build
        if cfg.family == "old" and path == f"{cfg.prefix}/clicks.jsp":
            cid = q.get("contentId", "")
            style_base = b.counters.get((cfg.host, cid))
            clicks = style_base[1] if style_base else 0
            return Response(
                200,
                [("Content-Type", "application/json;charset=UTF-8"), ("Cache-Control", "no-cache")],
                tpl.json_body({"contentId": cid, "clicks": clicks}),
            )
        if cfg.family == "trs" and path == f"{cfg.prefix}/count.jsp":
            aid = q.get("aid", "")
            base = b.counters.get((cfg.host, aid), ("B", 0))[1]
            with self._lock:
                if q.get("add") == "1" and (cfg.host, aid) in b.counters:
                    self._hits[(cfg.host, aid)] = self._hits.get((cfg.host, aid), 0) + 1
                n = base + self._hits.get((cfg.host, aid), 0)
            return Response(
                200,
                [
                    ("Content-Type", "application/javascript;charset=GBK"),
                    ("Cache-Control", "no-cache"),
                ],
                f"document.write('{n}');".encode(),
            )
        if cfg.family == "hanweb":
            if path == "/vc/vc/interface/artcount/artcount.jsp":
                art = q.get("artid", "")
                base = b.counters.get((cfg.host, art), ("C", 0))[1]
                with self._lock:
                    n = base + self._hits.get((cfg.host, art), 0)
                return Response(
                    200,
                    [("Content-Type", "text/plain;charset=UTF-8"), ("Cache-Control", "no-cache")],
                    f"\r\n{n}\r\n".encode(),
                )
            if path == "/module/visitcount/visit.jsp":
                art = q.get("i_articleid", "")
                with self._lock:
                    if (cfg.host, art) in b.counters:
                        self._hits[(cfg.host, art)] = self._hits.get((cfg.host, art), 0) + 1
                return Response(
                    200,
                    [("Content-Type", "text/html;charset=UTF-8")],
                    b"<html><body></body></html>",
                )
            if path == "/module/web/jpage/dataproxy.jsp":
                try:
                    page = int(q.get("page", "1") or 1)
                except ValueError:
                    page = 1
                xml = b.dataproxy.get((q.get("columnid", ""), page))
                if xml is None:
                    xml = (
                        b'<?xml version="1.0" encoding="UTF-8"?>\n<datastore><recordset>'
                        b"</recordset><totalrecord>0</totalrecord></datastore>\n"
                    )
                return Response(200, [("Content-Type", "text/xml;charset=UTF-8")], xml)
        if cfg is WWW and path == "/xam/hdjl95/calendar.jsp":
            return self._html(cfg, _calendar(q.get("month", "")))
        if cfg is WWW and path == "/xam/zwgk73/tzgg49/list.jsp":
            return self._html(cfg, _sort_trap(b, query, q))
        if path in (f"{cfg.prefix}/print/print.jsp", f"{cfg.prefix}/print.jsp"):
            # Print views (robots-disallowed): the page body again, without chrome.
            return self._html(
                cfg,
                '<html><body onload="window.print()"><p>打印预览</p>'
                f'<a href="{cfg.prefix}/index.html">返回</a></body></html>\n',
            )
        if path.startswith(f"{cfg.prefix}/search/") and cfg.family in ("old", "new"):
            return self._html(
                cfg,
                tpl.page(
                    cfg,
                    f"搜索-{cfg.site_name}",
                    [],
                    '<div class="main"><p>没有找到相关结果。</p></div>\n',
                ),
            )
        return None

    # --- helpers --------------------------------------------------------------------------

    def _html(self, cfg: HostCfg, text: str) -> Response:
        return Response(200, [("Content-Type", "text/html; charset=utf-8")], text.encode("utf-8"))

    def _text(
        self, status: int, ctype: str, text: str, extra: list[tuple[str, str]] | None = None
    ) -> Response:
        return Response(
            status,
            [("Content-Type", f"{ctype}; charset=utf-8"), *(extra or [])],
            text.encode("utf-8"),
        )

    def _redirect(self, status: int, location: str) -> Response:
        return Response(
            status,
            [("Location", location), ("Content-Type", "text/html")],
            f'<html><body><a href="{e(location)}">moved</a></body></html>'.encode(),
        )

    def _not_found(self, cfg: HostCfg) -> Response:
        text = tpl.page(
            cfg,
            f"404-{cfg.site_name}",
            [],
            '<div class="main"><h1>404</h1><p>您访问的页面不存在或已被删除。</p></div>\n',
        )
        enc = "gbk" if cfg.charset == "gbk" else "utf-8"
        return Response(
            404, [("Content-Type", f"text/html; charset={cfg.charset}")], text.encode(enc)
        )


def _not_modified(headers: dict[str, str], etag: str, lm: datetime) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return etag in tags or "*" in tags or f"W/{etag}" in tags
    ims = headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return lm.replace(microsecond=0) <= since
    return False


def _session_links(body: bytes, sid: str, path: str) -> bytes:
    """Append a fresh ;jsessionid to every site link (the endless session-id trap)."""
    text = body.decode("gbk")

    def sub(m: re.Match[str]) -> str:
        href = m.group(1)
        new = hashlib.sha1(f"{sid}|{path}|{href}".encode()).hexdigest()[:32].upper()
        base, _, q = href.partition("?")
        return f'href="{base};jsessionid={new}' + (f"?{q}" if q else "") + '"'

    text = re.sub(r'href="(/xamagri/[^";]+)"', sub, text)
    return text.encode("gbk")


def _calendar(month: str) -> str:
    m = re.fullmatch(r"(\d{4,})-(\d{2})", month)
    y, mo = (int(m.group(1)), int(m.group(2))) if m and 1 <= int(m.group(2)) <= 12 else (2026, 1)
    prev_y, prev_m = (y, mo - 1) if mo > 1 else (y - 1, 12)
    next_y, next_m = (y, mo + 1) if mo < 12 else (y + 1, 1)
    content = (
        f'<div class="main"><h1>活动日历 {y}年{mo}月</h1>'
        f'<p><a href="/xam/hdjl95/calendar.jsp?month={prev_y:04d}-{prev_m:02d}">上个月</a> '
        f'<a href="/xam/hdjl95/calendar.jsp?month={next_y:04d}-{next_m:02d}">下个月</a></p>'
        "<p>本月暂无活动安排。</p></div>\n"
    )
    return tpl.page(
        WWW,
        f"活动日历-{WWW.site_name}",
        [("首页", "/xam/index.html"), ("互动交流", "/xam/hdjl95/index.html")],
        content,
    )


def _sort_trap(b: SiteBuild, query: str, q: dict[str, str]) -> str:
    """A list whose next-page link keeps growing its query string."""
    try:
        page = max(1, int(q.get("page", "1")))
    except ValueError:
        page = 1
    items = sorted(b.cols["w:tzgg"].items, key=lambda i: (i.day, i.title), reverse=True)
    chunk = items[(page - 1) * 15 : page * 15]
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "page"]
    nxt = urlencode([("page", str(page + 1)), *pairs, ("sort", "time" if page % 2 else "title")])
    by_title = urlencode([("page", "1"), *pairs, ("sort", "title")])
    content = (
        '<div class="main"><div class="lm-name">通知公告</div>'
        f"{tpl.list_items([(i.title, i.href, i.day) for i in chunk])}"
        f'<p><a href="/xam/zwgk73/tzgg49/list.jsp?{e(by_title)}">按标题排序</a> '
        f'<a href="/xam/zwgk73/tzgg49/list.jsp?{e(nxt)}">下一页</a></p></div>\n'
    )
    return tpl.page(WWW, f"通知公告-{WWW.site_name}", b.cols["w:tzgg"].crumbs, content)
