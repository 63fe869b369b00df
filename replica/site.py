"""The replica's pages, built in memory: every page, list, attachment and asset of one round.

`build(round, scale)` renders the whole portal once per process (cached) from the catalogue
(`replica.catalog`), the report bodies (`replica.content`), the news and decoys
(`replica.news`), the hosts and columns (`replica.hosts`) and the page chrome
(`replica.templates`). What the pages are served with (validators, gzip, failures, counters,
traps) is `replica.portal`'s business.
"""

from __future__ import annotations

import html
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from replica import attachments as A
from replica import news as N
from replica import tables as T
from replica import templates as tpl
from replica.catalog import PLACEMENTS, REPORTS, REPORTS_BY_KEY, Placement, ReportSpec
from replica.content import Body, build_body
from replica.handlers import Resource
from replica.hosts import (
    AES,
    ALL_HOSTS,
    COLUMNS,
    KYQQ,
    KYZQ,
    MZJ,
    NB_COLUMN,
    NMJ,
    SPAM,
    WLHT,
    WSB,
    WWW,
    XAM_NB,
)
from replica.templates import HostCfg, e

logger = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
ASSET_TIME = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
HOME_TIME = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)
EDIT_TIME = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


@dataclass
class Item:
    title: str
    href: str
    day: str  # YYYY-MM-DD


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

    def newest(self, n: int | None = None) -> list[tuple[str, str, str]]:
        """(title, href, day) of the newest `n` items."""
        items = sorted(self.items, key=lambda i: (i.day, i.title), reverse=True)[:n]
        return [(i.title, i.href, i.day) for i in items]

    def box(self, n: int) -> str:
        """The column as a home-page box: its name and its newest `n` items."""
        return (
            f'<div class="box"><h3><a href="{self.href}">{e(self.name)}</a></h3>'
            f"{tpl.list_items(self.newest(n))}</div>"
        )


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


def _heading(style: str, spec: ReportSpec, title: str, body_html: str) -> tuple[str, str]:
    """(the <h1> HTML, the body) for a placement's heading style."""
    a = spec.agency_obj
    if style == "agency_split":
        # The seed page: heading is the agency; the title is split over two body lines.
        lines = (
            f'<p style="text-align:center;"><strong>{e(a.name)}{spec.year}'
            "政府信息公开工作</strong></p>\n"
            '<p style="text-align:center;"><strong>年度报告</strong></p>\n'
        )
        return e(a.name), lines + body_html
    if style == "split":
        return f"{e(a.in_title)}{spec.year}年<br/>政府信息公开工作年度报告", body_html
    if style == "agency_after":  # the heading names the body; the title opens the text
        title_line = f'<p style="text-align:center;"><strong>{e(title)}</strong></p>\n'
        return e(a.in_title), title_line + body_html
    if style == "spaced":
        return e(f"{a.in_title}{spec.year}年 政府信息公开工作年度报告"), body_html
    return e(title), body_html


def _xxgk_head(spec: ReportSpec, dt: datetime, ident: str, publisher: str) -> dict[str, str]:
    """Hanweb's 信息公开目录 header: three dates, only 发布日期 the publication date."""
    return {
        "索引号": f"11152221011598{_crc(spec.key) % 10000:04d}F/{dt.year}-{ident[-5:]}",
        "发布机构": publisher,
        "发布日期": dt.strftime("%Y-%m-%d"),
        "发文日期": (dt - timedelta(days=1)).strftime("%Y-%m-%d"),
        "成文日期": (dt - timedelta(days=3 + _crc(spec.key) % 5)).strftime("%Y-%m-%d"),
        "主题分类": "政务公开",
        "文号": "",
    }


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

    def _make_columns(self) -> None:
        for c in COLUMNS:
            home = "/index.html" if c.host.family == "hanweb" else f"{c.host.prefix}/index.html"
            parents = self.cols[c.parent].crumbs if c.parent else [("首页", home)]
            col = Column(c.host, c.base, c.name, parents, page_size=c.page_size,
                         note_html=c.note_html, col_id=c.col_id)  # fmt: skip
            self.cols[c.key] = col
            self.columns.append(col)
            if c.parent:
                self.cols[c.parent].children.append(col)

    # --- articles -------------------------------------------------------------------------

    def _report_col(self, p: Placement, spec: ReportSpec) -> Column:
        key = f"w:nb{spec.year}" if p.host == WWW.host else NB_COLUMN[p.host]
        return self.cols[key]

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

        a = spec.agency_obj
        heading, body_html = _heading(p.heading, spec, title, body_html)
        xxgk = _xxgk_head(spec, dt, ident, source or a.name) if p.xxgk_table else None
        html_text, style = tpl.article(
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

        boiler = cfg.boilerplate() + tpl.WIDGETS[p.family]
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
        html_text, style = tpl.article(
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
        """Pages that are not annual reports, in the order their ids are allocated."""
        rows: list[tuple[HostCfg, str, str, tuple[str, list[str]], date, str, str]] = []
        # Notices about compiling reports: in 通知公告 and in the year columns.
        for year in (2020, 2021, 2022, 2023, 2024, 2025):
            notice = N.notice_compile(year)
            rows.append((WWW, "w:tzgg", f"notice-{year}", notice, date(year, 12, 10),
                         "盟政务服务局", "notice"))  # fmt: skip
            if year in (2021, 2023):
                rows.append((WWW, f"w:nb{year}", f"notice-nb-{year}", notice,
                             date(year, 12, 12), "盟政务服务局", "notice"))  # fmt: skip
        title, body = N.notice_compile(2023, "兴安盟农牧局办公室")
        rows += [
            (NMJ, "g:tzgg", "nmj-notice-2023",
             ("兴安盟农牧局关于报送2023年度政府信息公开工作年度报告的通知", body),
             date(2023, 12, 20), "盟农牧局", "notice"),
            (KYQQ, "q:tzgg", "kyqq-notice-2024", (title.replace("做好", "科右前旗做好"), body),
             date(2024, 12, 16), "科右前旗政务服务与数据管理局", "notice"),
        ]  # fmt: skip
        # 法治政府建设年度报告: "年度报告" in the title, not an information-disclosure report.
        for year in (2021, 2022, 2023):
            rows.append((WWW, "w:fzzf", f"fz-{year}", N.rule_of_law_report("兴安盟", year),
                         date(year + 1, 3, 20), "盟司法局", "rule_of_law"))  # fmt: skip
        rows += [
            (WWW, "w:fzzf", "fz-gaj-2022", N.rule_of_law_report("兴安盟公安局", 2022),
             date(2023, 3, 28), "盟公安局", "rule_of_law"),
            (WSB, "s:nb", "fz-wsb-2023", N.rule_of_law_report("兴安盟行署外事办公室", 2023),
             date(2024, 2, 20), "盟外事办", "rule_of_law"),
        ]  # fmt: skip
        for org, year, kind in (
            ("兴安盟公安局", 2022, "部门预算"),
            ("兴安盟民政局", 2023, "部门决算"),
            ("兴安盟行政公署", 2024, "年度预算执行情况"),
        ):
            rows.append((WWW, "w:czyjs", f"budget-{org}-{year}", N.budget_page(org, year, kind),
                         date(year, 2, 15), "盟财政局", "budget"))  # fmt: skip
        rows.append((KYQQ, "q:czyjs", "kyqq-budget-2024",
                     N.budget_page("科尔沁右翼前旗", 2024, "部门预算"), date(2024, 2, 10),
                     "科右前旗财政局", "budget"))  # fmt: skip
        # A news item quoting a report, and a 图解 page about one.
        quoted = self.bodies["meng-2021"].preferred[:2]
        rows += [
            (WWW, "w:zwyw", "quote-meng-2021",
             N.news_quoting_report(REPORTS_BY_KEY["meng-2021"].title, quoted, 2021),
             date(2022, 1, 29), "兴安日报", "news_quoting_report"),
            (MZJ, "m:nb", "reading-mzj-2022", N.report_reading(REPORTS_BY_KEY["mzj-2022"].title),
             date(2023, 1, 21), "盟民政局", "reading"),
        ]  # fmt: skip
        for cfg, col, seed, (title, paras), day, source, kind in rows:
            self._simple_article(cfg, self.cols[col], seed, title, paras, day, source, kind)
            if seed == "quote-meng-2021":
                self.decoys[-1]["quotes"] = "meng-2021"
        w = self.cols
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
        children = "".join(ch.box(3) + "\n" for ch in col.children)
        pages = [items[i : i + col.page_size] for i in range(0, len(items), col.page_size)] or [[]]
        total = len(pages)
        for n, chunk in enumerate(pages):
            lst = tpl.list_items([(i.title, i.href, i.day) for i in chunk]) if chunk else ""
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
        reports_new = [
            (r.title, urlsplit(r.url).path, r.published[:10])
            for r in self.reports
            if r.host == WWW.host and "/article_" in r.url
        ]
        home = (
            '<div class="main">\n'
            '<div class="box"><h3><a href="/xam/xwzx12/zwyw27/index.html">政务要闻</a></h3>'
            f"{tpl.list_items(w['w:zwyw'].newest(8))}</div>\n"
            '<div class="box"><h3><a href="/xam/zwgk73/tzgg49/index.html">通知公告</a></h3>'
            f"{tpl.list_items(w['w:tzgg'].newest(5))}</div>\n"
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
        # Pages with a line of text: (host, path, name, crumbs, content).
        xam_home, nmj_home = ("首页", "/xam/index.html"), ("首页", "/xamagri/index.html")
        guide = "/xam/zwgk73/zfxxgk31/zfxxgkzn44/index.html"
        sitemap = " ".join(f'<a href="{h}">{n}</a>' for n, h in WWW.menu)
        texts = [
            (WWW, guide, "政府信息公开指南", w["w:zfxxgk"].crumbs,
             "<h1>兴安盟行政公署政府信息公开指南</h1><p>为了更好地提供政府信息公开服务，"
             "根据《中华人民共和国政府信息公开条例》，编制本指南。</p>"),
            (WWW, "/xam/zjxa58/index.html", "走进兴安", None,
             "<p>兴安盟位于内蒙古自治区东北部，大兴安岭中段，盟行政公署驻乌兰浩特市。</p>"),
            (WWW, "/xam/hdjl95/index.html", "互动交流", None,
             '<p><a href="/xam/hdjl95/calendar.jsp?month=2026-01">活动日历</a></p>'),
            (WWW, "/xam/wzdt/index.html", "网站地图", None, f"<p>{sitemap}</p>"),
        ]  # fmt: skip
        for cfg, path, name, crumbs, text in texts:
            crumbs = crumbs or [xam_home, (name, path)]
            content = f'<div class="main">{text}</div>\n'
            self.put(cfg, path, tpl.page(cfg, f"{name}-{cfg.site_name}", crumbs, content))
        # Department and county home pages: boxes of their columns.
        for cfg, tags in (
            (MZJ, ["m:zfxxgk", "m:nb", "m:gzdt"]),
            (WSB, ["s:zfxxgk", "s:nb", "s:gzdt"]),
            (NMJ, ["g:xxgk", "g:nb", "g:gzdt", "g:tzgg"]),
            (KYZQ, ["z:zfxxgk", "z:nb", "z:zwdt"]),
            (WLHT, ["l:zfxxgk", "l:nb", "l:zwdt"]),
            (AES, ["a:zfxxgk", "a:nb", "a:zwdt"]),
            (KYQQ, ["q:xwdt", "q:tzgg", "q:zwgk"]),
        ):
            content = '<div class="main">\n' + "\n".join(w[t].box(6) for t in tags) + "\n</div>\n"
            self.put(cfg, f"{cfg.prefix}/index.html", tpl.page(cfg, cfg.site_name, [], content))
        self.res[(KYQQ.host, "/")] = self.res[(KYQQ.host, "/index.html")]
        # Menu targets without content of interest.
        for cfg, path, name in (
            (MZJ, "/mzj/bsfw21/index.html", "办事服务"),
            (KYQQ, "/col/col1240/index.html", "政务服务"),
        ):
            crumbs = [("首页", cfg.menu[0][1]), (name, path)]
            content = f'<div class="main"><p>{name}事项请登录内蒙古政务服务网办理。</p></div>\n'
            self.put(cfg, path, tpl.page(cfg, f"{name}-{cfg.site_name}", crumbs, content))
        # wsb, Hanweb and county sites answer "/" with the home page itself.
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
        # The GBK site's 网上办事 page (entry of the jsessionid trap) and its guide.
        for path, name, content in (
            ("/xamagri/wsbs/index.jsp", "网上办事",
             '<div class="main"><ul><li><a href="/xamagri/wsbs/bszn.jsp">办事指南</a></li>'
             '<li><a href="/xamagri/gzdt3/index.html">工作动态</a></li>'
             '<li><a href="/xamagri/xxgk12/zfxxgknb7/index.html">年度报告</a></li>'
             '<li><a href="/xamagri/wsbs/index.jsp">网上办事</a></li></ul></div>\n'),
            ("/xamagri/wsbs/bszn.jsp", "办事指南",
             '<div class="main"><p>农牧业行政许可事项办事指南。</p>'
             '<a href="/xamagri/wsbs/index.jsp">返回</a></div>\n'),
        ):  # fmt: skip
            title = f"{name}-{NMJ.site_name}"
            self.put(NMJ, path, tpl.page(NMJ, title, [nmj_home, (name, "")], content))
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
