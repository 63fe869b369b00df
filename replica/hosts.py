"""The replica's hosts and their columns: CMS family, path prefix, menus, footers, robots rules,
assets, and the tree of list columns each host has."""

from __future__ import annotations

from dataclasses import dataclass

from replica.templates import HostCfg

XAM_FOOTER = (
    "地 址：内蒙古乌兰浩特市兴安盟党政大楼电话： 0482-8266637（工作时间）"
    "传真： 0482-8266602（工作时间）"
    "Email: admin@xam.gov.cn",
    "兴安盟行政公署主办政府网站标识码 1522000001蒙ICP备05002755号-2蒙公网安备 15220102010009号"
    "中国互联网举报中心",
    "Copyright 2015 www.xam.gov.cn All Rights Reserved",
)


def _dept_footer(name: str, code: str, icp: str) -> tuple[str, ...]:
    return (
        f"主办单位：{name} 承办：兴安盟行政审批政务服务与数据管理局",
        f"政府网站标识码 {code} {icp} 蒙公网安备 15220102010009号",
    )


WWW = HostCfg(
    host="www.xam.gov.cn",
    family="old",
    prefix="/xam",
    site_name="兴安盟行政公署",
    menu=(
        ("首页", "/xam/index.html"),
        ("走进兴安", "/xam/zjxa58/index.html"),
        ("新闻中心", "/xam/xwzx12/index.html"),
        ("政务公开", "/xam/zwgk73/index.html"),
        ("政务服务", "http://zwfw.nmg.gov.cn/"),
        ("互动交流", "/xam/hdjl95/index.html"),
        ("网站地图", "/xam/wzdt/index.html"),
    ),
    footer=XAM_FOOTER,
    gzip=True,
    conditional=True,
    disallow=("/xam/search/", "/xam/member/", "/xam/print/"),
    assets=("/xam/css/main.css", "/xam/js/jquery.min.js", "/xam/images/logo.png"),
)
MZJ = HostCfg(
    host="mzj.xam.gov.cn",
    family="old",
    prefix="/mzj",
    site_name="兴安盟民政局",
    menu=(
        ("网站首页", "/mzj/index.html"),
        ("政府信息公开", "/mzj/zfxxgk64/index.html"),
        ("民政动态", "/mzj/gzdt18/index.html"),
        ("办事服务", "/mzj/bsfw21/index.html"),
    ),
    footer=_dept_footer("兴安盟民政局", "1522000014", "蒙ICP备05002755号-7"),
    disallow=("/mzj/search/", "/mzj/print/"),
    assets=("/mzj/css/main.css", "/mzj/js/jquery.min.js", "/mzj/images/logo.png"),
)
WSB = HostCfg(
    host="wsb.xam.gov.cn",
    family="new",
    prefix="/wsb",
    site_name="兴安盟行署外事办公室",
    menu=(
        ("网站首页", "/wsb/index.html"),
        ("政府信息公开", "/wsb/zfxxgk82/index.html"),
        ("外事动态", "/wsb/gzdt37/index.html"),
        ("在线服务", "/wsb/search/index.html"),
    ),
    footer=_dept_footer("兴安盟行署外事办公室", "1522000031", "蒙ICP备05002755号-11"),
    disallow=("/wsb/search/",),
    sitemap=True,
    assets=(
        "/wsb/static/css/style.css",
        "/wsb/static/js/jquery.min.js",
        "/wsb/static/images/logo.png",
    ),
)
NMJ = HostCfg(
    host="nmj.xam.gov.cn",
    family="trs",
    prefix="/xamagri",
    site_name="兴安盟农牧局",
    menu=(
        ("首页", "/xamagri/index.html"),
        ("信息公开", "/xamagri/xxgk12/index.html"),
        ("工作动态", "/xamagri/gzdt3/index.html"),
        ("通知公告", "/xamagri/tzgg5/index.html"),
        ("网上办事", "/xamagri/wsbs/index.jsp"),
    ),
    footer=_dept_footer("兴安盟农牧局", "1522000022", "蒙ICP备05002755号-9"),
    charset="gbk",
    disallow=("/xamagri/admin/", "/xamagri/print.jsp"),
    assets=("/xamagri/images/style.css", "/xamagri/images/jquery.js", "/xamagri/images/logo.png"),
)
KYQQ = HostCfg(
    host="www.kyqq.gov.cn",
    family="hanweb",
    prefix="",
    site_name="科尔沁右翼前旗人民政府",
    menu=(
        ("首页", "/index.html"),
        ("政务公开", "/col/col1225/index.html"),
        ("新闻动态", "/col/col1201/index.html"),
        ("通知公告", "/col/col1203/index.html"),
        ("政务服务", "/col/col1240/index.html"),
    ),
    footer=(
        "主办：科尔沁右翼前旗人民政府办公室 承办：科右前旗政务服务与数据管理局",
        "政府网站标识码 1522210001 蒙ICP备10001836号-1",
    ),
    gzip=True,
    # The jpage list endpoint and the read-only counter stay reachable under robots rules.
    allow=("/module/web/jpage/dataproxy.jsp",),
    disallow=("/module/", "/jsearchfront/", "/admin/"),
    assets=("/css/style.css", "/script/jquery.min.js", "/images/logo.png"),
)


def _county(host: str, prefix: str, name: str, code: str, icp: str, nb_slug: str) -> HostCfg:
    return HostCfg(
        host=host,
        family="new",
        prefix=prefix,
        site_name=name,
        menu=(
            ("网站首页", f"{prefix}/index.html"),
            ("政府信息公开", f"{prefix}/zfxxgk/{nb_slug}/index.html"),
            ("政务动态", f"{prefix}/zwdt/index.html"),
            ("互动交流", f"{prefix}/search/index.html"),
        ),
        footer=(f"主办：{name}办公室", f"政府网站标识码 {code} {icp}"),
        disallow=(f"{prefix}/search/", f"{prefix}/print/"),
        assets=(
            f"{prefix}/static/css/style.css",
            f"{prefix}/static/js/jquery.min.js",
            f"{prefix}/static/images/logo.png",
        ),
        extra={"nb_slug": nb_slug},
    )


KYZQ = _county(
    "www.kyzq.gov.cn",
    "/kyzq",
    "科尔沁右翼中旗人民政府",
    "1522220001",
    "蒙ICP备10002017号-1",
    "zfxxgknb88",
)
WLHT = _county(
    "www.wlht.gov.cn",
    "/wlht",
    "乌兰浩特市人民政府",
    "1522010001",
    "蒙ICP备09004012号-1",
    "zfxxgknb61",
)
AES = _county(
    "www.aes.gov.cn", "/aes", "阿尔山市人民政府", "1522020001", "蒙ICP备10001219号-1", "zfxxgknb17"
)
SPAM = HostCfg(
    host="www.xam-gov.com.cn",
    family="spam",
    prefix="",
    site_name="兴安政务信息网",
    menu=(("首页", "/"), ("政务信息", "/zwxx/"), ("便民查询", "/cx/")),
    footer=("本站信息来源于网络，如有侵权请联系删除", "客服QQ：8008208820"),
    assets=("/style.css", "/common.js", "/logo.png"),
)
# The bare domain only redirects to www (real seed URLs use http://xam.gov.cn/...).
BARE_XAM = "xam.gov.cn"

GOV_HOSTS = [WWW, MZJ, WSB, NMJ, KYQQ, KYZQ, WLHT, AES]
ALL_HOSTS = {h.host: h for h in GOV_HOSTS + [SPAM]}


# --- Columns (list pages) -------------------------------------------------------------------

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
# The 年报 column of each host but www (whose reports go to the year columns).
NB_COLUMN = {
    MZJ.host: "m:nb",
    WSB.host: "s:nb",
    NMJ.host: "g:nb",
    KYQQ.host: "q:nb",
    KYZQ.host: "z:nb",
    WLHT.host: "l:nb",
    AES.host: "a:nb",
}


@dataclass(frozen=True)
class ColumnCfg:
    key: str  # "<host tag>:<name>"
    host: HostCfg
    base: str  # directory path ending in "/" (hanweb: "/col/col<id>/")
    name: str
    parent: str | None = None  # key of the parent column
    page_size: int = 15
    col_id: str = ""  # hanweb column id
    note_html: str = ""  # extra links under the column name


def _columns() -> list[ColumnCfg]:
    C = ColumnCfg
    cols = [
        C("w:xwzx", WWW, "/xam/xwzx12/", "新闻中心"),
        C("w:zwyw", WWW, "/xam/xwzx12/zwyw27/", "政务要闻", "w:xwzx", 20),
        C("w:bmdt", WWW, "/xam/xwzx12/bmdt29/", "部门动态", "w:xwzx", 20),
        C("w:qxsdt", WWW, "/xam/xwzx12/qxsdt31/", "旗县市动态", "w:xwzx", 20),
        C("w:zwgk", WWW, "/xam/zwgk73/", "政务公开"),
        C(
            "w:zfxxgk",
            WWW,
            "/xam/zwgk73/zfxxgk31/",
            "政府信息公开",
            "w:zwgk",
            note_html=(
                '<ul class="sub"><li><a href="/xam/zwgk73/zfxxgk31/zfxxgkzn44/index.html">'
                "政府信息公开指南</a></li></ul>\n"
            ),
        ),
        C("w:nb", WWW, XAM_NB, "政府信息公开年报", "w:zfxxgk"),
        *(
            C(f"w:nb{y}", WWW, f"{XAM_NB}{cid}/", f"{y}年度", "w:nb", 4)
            for y, cid in XAM_YEAR_COLS.items()
        ),
        C(
            "w:tzgg",
            WWW,
            "/xam/zwgk73/tzgg49/",
            "通知公告",
            "w:zwgk",
            note_html=(
                '<div class="sort"><a href="/xam/zwgk73/tzgg49/list.jsp?page=1&amp;sort=time">'
                "按时间排序</a></div>\n"
            ),
        ),
        C("w:czyjs", WWW, "/xam/zwgk73/czyjs52/", "财政预决算", "w:zwgk"),
        C("w:fzzf", WWW, "/xam/zwgk73/fzzfjs55/", "法治政府建设", "w:zwgk"),
        C("m:zfxxgk", MZJ, "/mzj/zfxxgk64/", "政府信息公开"),
        C("m:nb", MZJ, MZJ_NB, "政府信息公开年报", "m:zfxxgk", 5),
        C("m:gzdt", MZJ, "/mzj/gzdt18/", "民政动态"),
        C("s:zfxxgk", WSB, "/wsb/zfxxgk82/", "政府信息公开"),
        C("s:nb", WSB, "/wsb/zfxxgk82/zfxxgknb49/", "政府信息公开年报", "s:zfxxgk", 4),
        C("s:gzdt", WSB, "/wsb/gzdt37/", "外事动态", page_size=12),
        C("g:xxgk", NMJ, "/xamagri/xxgk12/", "信息公开"),
        C("g:nb", NMJ, NMJ_NB, "年度报告", "g:xxgk", 5),
        C("g:gzdt", NMJ, "/xamagri/gzdt3/", "工作动态"),
        C("g:tzgg", NMJ, "/xamagri/tzgg5/", "通知公告"),
        # Hanweb columns by id.
        C("q:zwgk", KYQQ, "/col/col1225/", "政务公开", col_id="1225"),
        C("q:nb", KYQQ, "/col/col1229/", "政府信息公开年报", "q:zwgk", 3, "1229"),
        C("q:czyjs", KYQQ, "/col/col1233/", "财政预决算", "q:zwgk", 10, "1233"),
        C("q:xwdt", KYQQ, "/col/col1201/", "新闻动态", col_id="1201"),
        C("q:tzgg", KYQQ, "/col/col1203/", "通知公告", col_id="1203"),
    ]
    for tag, cfg in (("z", KYZQ), ("l", WLHT), ("a", AES)):
        nb = f"{cfg.prefix}/zfxxgk/{cfg.extra['nb_slug']}/"
        cols += [
            C(f"{tag}:zfxxgk", cfg, f"{cfg.prefix}/zfxxgk/", "政府信息公开"),
            C(f"{tag}:nb", cfg, nb, "政府信息公开年报", f"{tag}:zfxxgk", 10),
            C(f"{tag}:zwdt", cfg, f"{cfg.prefix}/zwdt/", "政务动态"),
        ]
    return cols


COLUMNS = _columns()
