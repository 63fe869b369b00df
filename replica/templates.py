"""Page chrome of the CMS families the replica imitates.

Families:
  old     numeric-column CMS (www.xam.gov.cn, mzj.xam.gov.cn): createPageHTML pagination,
          counter style A.
  new     dated-article CMS (wsb, kyzq, wlht, aes; new-style articles on www.xam.gov.cn):
          plain 下一页 links, no counter.
  trs     GBK department site (nmj.xam.gov.cn/xamagri/): TRS-like URLs, counter style B.
  hanweb  大汉 county site (www.kyqq.gov.cn): jpage lists fed by dataproxy.jsp, counter style C.
  spam    a non-government copy site.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from replica.textutil import fw


def e(s: str) -> str:
    return html.escape(s, quote=True)


@dataclass(frozen=True)
class HostCfg:
    host: str
    family: str
    prefix: str  # path prefix of the site ("/xam", "/xamagri", "" for hanweb)
    site_name: str
    menu: tuple[tuple[str, str], ...]
    footer: tuple[str, ...]
    gzip: bool = False
    conditional: bool = False
    charset: str = "utf-8"
    disallow: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    sitemap: bool = False
    assets: tuple[str, str, str] = ("", "", "")  # css, js, logo paths
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def robots_txt(self) -> str:
        lines = ["User-agent: *"]
        # Allow lines first: first-match parsers (urllib.robotparser) and longest-match parsers
        # (Protego, Google) then agree.
        lines += [f"Allow: {a}" for a in self.allow]
        lines += [f"Disallow: {d}" for d in self.disallow]
        if self.sitemap:
            lines += ["", f"Sitemap: {self.base}/sitemap.xml"]
        return "\n".join(lines) + "\n"

    def boilerplate(self) -> list[str]:
        """Strings of the chrome that clean text must not contain."""
        return [label for label, _ in self.menu if len(label) >= 4] + list(self.footer)


def page_head(
    cfg: HostCfg, title: str, extra_meta: str = "", meta_charset: str | None = None
) -> str:
    css, js, _ = cfg.assets
    cs = meta_charset if meta_charset is not None else cfg.charset
    meta = ""
    if cs:
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={cs}">\n'
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f"{meta}"
        f"<title>{e(title)}</title>\n"
        f"{extra_meta}"
        f'<link rel="stylesheet" type="text/css" href="{css}">\n'
        f'<script type="text/javascript" src="{js}"></script>\n'
        "</head>\n"
    )


def top_and_menu(cfg: HostCfg) -> str:
    _, _, logo = cfg.assets
    menu = "".join(f'<li><a href="{e(h)}">{e(lab)}</a></li>' for lab, h in cfg.menu)
    return (
        '<div class="top">'
        f'<a href="{cfg.prefix}/index.html"><img src="{logo}" alt="{e(cfg.site_name)}" '
        'width="400" height="80"></a></div>\n'
        f'<div class="nav"><ul>{menu}</ul></div>\n'
    )


def footer(cfg: HostCfg) -> str:
    return (
        '<div class="footer">'
        + "".join(f"<p>{e(line)}</p>" for line in cfg.footer)
        + "</div>\n</body>\n</html>\n"
    )


def breadcrumb(
    crumbs: list[tuple[str, str]], sep: str = " &gt; ", label: str = "当前位置："
) -> str:
    parts = [f'<a href="{e(h)}">{e(n)}</a>' if h else e(n) for n, h in crumbs]
    return f'<div class="position">{label}{sep.join(parts)}</div>\n'


def page(
    cfg: HostCfg,
    title: str,
    crumbs: list[tuple[str, str]],
    content: str,
    *,
    extra_meta: str = "",
    meta_charset: str | None = None,
    crumb_sep: str = " &gt; ",
) -> str:
    return (
        page_head(cfg, title, extra_meta, meta_charset)
        + "<body>\n"
        + top_and_menu(cfg)
        + (breadcrumb(crumbs, crumb_sep) if crumbs else "")
        + content
        + footer(cfg)
    )


# --- Lists ------------------------------------------------------------------------------------


def list_items(items: list[tuple[str, str, str]]) -> str:
    """items: (title, href, date YYYY-MM-DD)."""
    lis = "".join(
        f'<li><a href="{e(h)}" target="_blank" title="{e(t)}">{e(t)}</a><span>{d}</span></li>\n'
        for t, h, d in items
    )
    return f'<ul class="list">\n{lis}</ul>\n'


def create_page_script(total: int, current: int) -> str:
    """TRS-style pagination: the page count exists only in this script call."""
    return (
        '<div class="page"><script type="text/javascript">\n'
        f'createPageHTML({total}, {current}, "index", "html");\n'
        "</script></div>\n"
    )


def next_links(page_no: int, total: int, href_of: Callable[[int], str]) -> str:
    """New-CMS pagination: plain 上一页/下一页 anchors (no page count anywhere)."""
    parts = []
    if page_no > 1:
        parts.append(f'<a href="{href_of(1)}">首页</a>')
        parts.append(f'<a href="{href_of(page_no - 1)}">上一页</a>')
    if page_no < total:
        parts.append(f'<a href="{href_of(page_no + 1)}">下一页</a>')
    return f'<div class="pages">{" ".join(parts)}</div>\n'


# --- Article fragments ------------------------------------------------------------------------


def counter_a(prefix: str, content_id: str) -> tuple[str, str]:
    """(HTML where 点击量 goes, inline script): style A of notes/counters.md."""
    span = '<span id="hits"></span>'
    script = (
        '<script type="text/javascript">\n'
        f'$.ajax({{url: "{prefix}/clicks.jsp", data: {{contentId: "{content_id}"}}, '
        'dataType: "json",\n        success: function (d) { $("#hits").text(d.clicks); }});\n'
        "</script>\n"
    )
    return span, script


def counter_b(prefix: str, aid: str) -> str:
    return f'<script src="{prefix}/count.jsp?aid={aid}&amp;add=1"></script>'


def counter_c(col: str, art: str) -> tuple[str, str]:
    iframe = (
        f'<iframe src="/module/visitcount/visit.jsp?type=3&amp;i_webid=1&amp;i_columnid={col}'
        f'&amp;i_articleid={art}" style="display:none"></iframe>\n'
    )
    script = (
        '<script type="text/javascript">\n'
        f'$.get("/vc/vc/interface/artcount/artcount.jsp?webid=1&artid={art}", '
        'function (n) { $("#artcount").html(n); });\n</script>\n'
    )
    return iframe, script


def article(
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
        counter_html, scripts = counter_a(cfg.prefix, ident)
        style = "A"
    elif counter and family == "trs":
        counter_html = counter_b(cfg.prefix, ident)
        style = "B"
    elif counter and family == "hanweb":
        col = path.split("_")[1]
        iframe, script = counter_c(col, ident)
        counter_html = '<span id="artcount"></span>'
        scripts = iframe + script
        style = "C"
    info = meta_line(meta, e(source) if source else None, date_printed, counter_html, punct)
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
        page(cfg, page_title, crumbs, content, extra_meta=extra_meta, crumb_sep=crumb_sep),
        style,
    )


# The share/print widgets of each family's articles: chrome that clean text must not contain.
WIDGETS = {
    "old": ["分享", "下载本页", "打印"],
    "new": ["字体大小", "A+", "分享：", "打印"],
    "trs": ["【打印本页】", "【关闭窗口】"],
    "hanweb": ["[打印本页]", "[关闭窗口]"],
}


# --- Static assets ----------------------------------------------------------------------------

CSS = """body{margin:0;font:14px/1.8 "Microsoft YaHei",SimSun,sans-serif;color:#333;
background:#f4f4f4}
.top{background:#b40000 url(../images/banner.png) no-repeat right top;height:80px}
.nav ul{margin:0;padding:0;background:#c81e1e;list-style:none;overflow:hidden}
.nav li{float:left}.nav a{display:block;padding:6px 18px;color:#fff;text-decoration:none}
.position{padding:8px 16px;font-size:12px;color:#666}
.article,.main{background:#fff;margin:0 16px;padding:16px 40px}
.art-title,h1{text-align:center;font-size:22px;color:#b40000}
.art-info,.info{text-align:center;font-size:12px;color:#888;border-bottom:1px solid #ddd}
.nb-table{border-collapse:collapse}.nb-table td{border:1px solid #999;padding:2px 4px}
ul.list li span{float:right;color:#999}
.footer{margin-top:16px;padding:12px;text-align:center;font-size:12px;color:#666;background:#eee}
"""

# A small jQuery stand-in: enough of $.ajax/$.get/$.getJSON/$(sel).text()/.html() for the
# counter scripts to run in a browser when the archive is replayed.
JS = r"""/*! replica mini-jquery (ajax, get, getJSON, text, html) */
(function (w) {
  function $(sel) {
    var els = typeof sel === "string" ? document.querySelectorAll(sel) : [sel];
    return {
      text: function (v) { els.forEach(function (el) { el.textContent = v; }); return this; },
      html: function (v) { els.forEach(function (el) { el.innerHTML = v; }); return this; }
    };
  }
  function qs(data) {
    return Object.keys(data || {}).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(data[k]);
    }).join("&");
  }
  $.ajax = function (o) {
    var url = o.url + (o.data ? (o.url.indexOf("?") < 0 ? "?" : "&") + qs(o.data) : "");
    var x = new XMLHttpRequest();
    x.open(o.type || "GET", url);
    x.onload = function () {
      var body = x.responseText;
      if (o.dataType === "json") { try { body = JSON.parse(body); } catch (e) {} }
      if (o.success) { o.success(body); }
    };
    x.send();
  };
  $.get = function (url, fn) { $.ajax({url: url, success: fn}); };
  $.getJSON = function (url, fn) { $.ajax({url: url, dataType: "json", success: fn}); };
  w.$ = w.jQuery = $;
  w.createPageHTML = function (total, cur, name, ext) {
    var out = [];
    for (var i = 0; i < total; i++) {
      var href = i === 0 ? name + "." + ext : name + "_" + i + "." + ext;
      out.push(i === cur ? "<span>" + (i + 1) + "</span>"
                         : '<a href="' + href + '">' + (i + 1) + "</a>");
    }
    document.write(out.join(" "));
  };
})(window);
"""


def json_body(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def meta_line(
    fmt: str,
    source: str | None,
    date: str,
    counter_html: str = "",
    punct: Callable[[str], str] = fw,
) -> str:
    """The 来源/发布日期 line in one of the real formats.

    fmt: "riqi" 发布日期 + 点击量, "riqi_nocount" without 点击量, "riqi_spaced" 发 布 日 期,
         "shijian" 时间 + 点击量,
         "fabu" 发布时间 (new CMS), "author" 来源 + 作者 + 发布时间 (nmj, counter B),
         "hanweb" 发布时间 + 浏览次数.
    """
    src = source or ""
    colon = punct(":")
    if fmt == "riqi":
        return f"来源{colon}{src} 发布日期{colon}{date} 点击量{colon}{counter_html}"
    if fmt == "riqi_nocount":  # old-CMS page kept on a host without the counter
        return f"来源{colon}{src} 发布日期{colon}{date}"
    if fmt == "riqi_spaced":
        return f"来源{colon}{src} 发 布 日 期{colon}{date} 点击量{colon}{counter_html}"
    if fmt == "shijian":
        return f"来源{colon}{src} 时间{colon}{date} 点击量{colon}{counter_html}"
    if fmt == "fabu":
        return f"来源{colon}{src} 发布时间{colon}{date}"
    if fmt == "author":
        return (
            f"来源{colon}{src} 作者{colon}{src} 发布时间{colon}{date} 点击量{colon}{counter_html}"
        )
    if fmt == "hanweb":
        return f"来源{colon}{src} 发布时间{colon}{date} 浏览次数{colon}{counter_html}"
    raise ValueError(fmt)
