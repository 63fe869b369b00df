"""The replica's hosts: CMS family, path prefix, menus, footers, robots rules, assets."""

from __future__ import annotations

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
