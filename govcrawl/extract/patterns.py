"""Heuristics as data: label, title and boilerplate patterns used by the page parsers.

Everything here is plain data (regular-expression sources, names, thresholds) so that site
profiles can override it and so that a change of heuristic is a change of data, not of code.
Patterns are matched against whitespace-normalised text; labels allow spaces between their
characters because portals print them spaced out (``发 布 日 期``).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- generic pieces

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Colons, full-width colons or a table-cell bar between a label and its value.
LABEL_SEP = r"\s*(?:[:：]|\|)?\s*"


def spaced(word: str) -> str:
    """Regex source matching ``word`` with optional whitespace between its characters."""
    return r"\s*".join(word)


# --------------------------------------------------------------------------- metadata labels

SOURCE_LABELS: tuple[str, ...] = (
    # 信息来源 / 文章来源 / 来源 all end in 来源.
    spaced("来源"),
)

# Labels that name the publication date itself, strongest first.
PUBLISHED_LABELS: tuple[str, ...] = (
    spaced("发布日期"),
    spaced("发布时间"),
    spaced("发表日期"),
    spaced("发表时间"),
    spaced("公开日期"),
    spaced("公布日期"),
    spaced("上网时间"),
    spaced("上网日期"),
)

# Bare labels (时间 / 日期) only count inside a short metadata line.
GENERIC_DATE_LABELS: tuple[str, ...] = (spaced("时间"), spaced("日期"))

# Other dates a page prints; masked before the publication date is looked for, so that the
# bare 时间 / 日期 labels never pick them up.
OTHER_DATE_LABELS: tuple[str, ...] = (
    r"(?:"
    + "|".join(
        spaced(w)
        for w in (
            "成文",
            "发文",
            "当前",  # 当前时间 in a page's top bar is today's date
            "今天",
            "今日",
            "系统",
            "印发",
            "生效",
            "施行",
            "实施",
            "截止",
            "统计",
            "办理",
            "受理",
            "开始",
            "结束",
            "有效",
            "废止",
            "失效",
            "更新",
            "修改",
            "修订",
            "会议",
            "活动",
            "报名",
            "申请",
            "答复",
            "签发",
            "起草",
        )
    )
    + r")\s*(?:"
    + spaced("日期")
    + "|"
    + spaced("时间")
    + ")",
)

# Labels that end the 来源 value when printed on the same line.
SOURCE_STOP_LABELS: tuple[str, ...] = tuple(
    spaced(w)
    for w in (
        "作者",
        "发布日期",
        "发布时间",
        "发表时间",
        "发布机构",
        "时间",
        "日期",
        "点击量",
        "点击数",
        "点击",
        "浏览量",
        "浏览次数",
        "浏览",
        "阅读量",
        "阅读次数",
        "阅读",
        "访问量",
        "访问",
        "字体",
        "字号",
        "分享",
        "打印",
        "责任编辑",
        "编辑",
        "审核",
        "索引号",
        "文号",
        "关键词",
        "信息分类",
        "主题分类",
    )
) + (r"【", r"\[", r"\|")

# Other labels a metadata line may carry; used to recognise such lines.
META_LINE_LABELS: tuple[str, ...] = tuple(
    spaced(w)
    for w in (
        "来源",
        "作者",
        "发布日期",
        "发布时间",
        "点击量",
        "点击数",
        "浏览次数",
        "浏览量",
        "阅读次数",
        "阅读量",
        "访问量",
        "字体",
        "索引号",
        "发布机构",
        "文号",
        "责任编辑",
        "时间",
        "日期",
    )
)

# <meta> names / properties that carry a publication date (lower case).
META_DATE_NAMES: tuple[str, ...] = (
    "pubdate",
    "publishdate",
    "publish_date",
    "publish-date",
    "publishtime",
    "publish_time",
    "firstpublishedtime",
    "article:published_time",
    "og:published_time",
    "og:release_date",
    "datepublished",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
)

# <meta> names whose content is the article title (lower case).
META_TITLE_NAMES: tuple[str, ...] = ("articletitle", "og:title")

# Dates as printed: 2022-01-21 18:27:17, 2026-01-20 17:20, 2021年01月29日, 2021/01/29, 2021.01.29.
DATE_VALUE = (
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:(?:\s*|T)(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2}))?)?"
)

# Page numbers printed by PDFs and flipbooks ("- 2 -", "—3—", "第 2 页", "第2页 共5页", "2/5"):
# never content, wherever a text layer puts them (inside a table, between a label and its row).
PAGE_NUMBER = (
    r"[-—–―−]\s*\d{1,3}\s*[-—–―−]|第\s*\d{1,3}\s*页(?:\s*[,，]?\s*共\s*\d{1,3}\s*页)?"
    r"|\d{1,3}\s*/\s*\d{1,3}"
)

# --------------------------------------------------------------------------- titles

# Class / id values of elements that hold an article heading.
TITLE_CLASS = r"(?i)(?:^|[\s_-])(?:title|tit|bt|biaoti|headline|arttitle|art_title)(?:$|[\s_-])"
# Ancestors whose headings are not the article heading (menus, sidebars, related lists).
NON_ARTICLE_CLASS = (
    r"(?i)(?:^|[\s_-])(?:nav|menu|footer|foot|header|head|top|side|sidebar|left|right|related|"
    r"relate|xgxx|list|links?|friend|banner|logo)(?:$|[\s_-])"
)
# Separators between the article title and the site name in <title>.
TITLE_SEPARATORS = r"\s*(?:[|_–—]|\s-\s|-(?=[^\d]))\s*"
# Flipbook page prefixes ("Page 8 - ...").
TITLE_PREFIXES = (r"^\s*(?:Page|P\.?)\s*\d+\s*[-–—:]\s*",)
# A heading that is only an agency or place name (the real title then follows in the body).
BARE_AGENCY = (
    r"^["
    + CJK
    + r"()（）]{2,24}(?:局|委员会|委|办公室|办|人民政府|政府|行政公署|公署|行署|中心|院|厅|部|"
    r"旗|县|市|区|盟|州|乡|镇|街道|苏木|嘎查)$"
)
# Lines that are share / print / font-size widgets: only widget words and punctuation ...
WIDGET_LINE = (
    r"^(?:\s|分享到?|打印(?:本页|此页)?|关闭(?:本页|窗口)?|下载本页|收藏(?:本页)?|字体(?:大小)?|字号|[大中小]|"
    r"A\+|A-|A|微信|微博|QQ空间|QQ|返回顶部|[【】\[\]()（）:：|/])*$"
)
# ... and at least one widget word (so a lone 中 or 【】 in a body is not taken for one).
WIDGET_WORD = r"分享|打印|关闭|下载本页|收藏|字体|字号|A\+|A-|微信|微博|返回顶部"

# --------------------------------------------------------------------------- classification

# A report title: 政府信息公开工作年度报告, 信息公开年度报告, 信息公开年报, 政务公开工作年度报告 ...
REPORT_PHRASE = (
    r"(?:信息公开|政务公开)\s*(?:工作)?\s*(?:情况)?\s*(?:年\s*度)?\s*(?:工作)?\s*"
    r"(?:报\s*告|年\s*报)"
)
# Titles that name a report but are something else.
EXCLUDED_TITLES: tuple[tuple[str, str], ...] = (
    (r"关于.*(?:通知|函|意见|方案|办法|批复|公告)", "notice about reports"),
    (r"(?:通知|通报|公告|函)$", "notice"),
    (r"编制|做好|报送|督查|考核|评估|检查|整改|抽查", "work about reports"),
    (r"法治政府", "rule-of-law report"),
    (r"预算|决算|三公经费", "budget"),
    (r"统计公报|国民经济和社会发展", "statistical bulletin"),
    (r"工作总结|工作要点|工作计划|工作方案|年终总结", "work summary or plan"),
    (
        r"解读|图解|一图读懂|图文|视频|新闻|发布会|答记者问|培训|推进会|会议|动态",
        "news or interpretation",
    ),
    (r"指南|目录|制度|规定|细则|办法", "guide or rules"),
)
# Numbered section headings of the report templates (2008, 2019 and 2021 formats).
REPORT_SECTIONS: tuple[str, ...] = (
    r"(?:总体情况|概\s*述)",
    r"主动公开政府信息(?:的)?情况",
    r"(?:收到和处理|依申请公开)政府信息(?:公开)?(?:申请)?(?:的)?情况",
    r"(?:被申请)?行政复议[、,和及]?\s*(?:提起)?行政诉讼",
    r"(?:存在的?)?(?:主要)?问题(?:及|和)?(?:改进|整改)",
    r"其他需要报告的事项",
    r"(?:不予公开|收费及减免|咨询处理)情况",
)
SECTION_NUMBER = (
    r"^\s*[一二三四五六七八九十]{1,3}\s*[、.．]\s*(?:政府信息公开(?:工作)?|因政府信息公开工作)?"
)

# Statement of the reporting period: 统计期限为2021年1月1日 (also with the 年 dropped).
PERIOD_YEAR = (
    r"统计(?:期限|时限|时间|区间|周期|范围)[^0-9]{0,8}"
    r"(?P<y>(?:19|20)\d{2})\s*年?\s*(?:度\s*)?0?1\s*月\s*0?1\s*日"
)
# 2021年, / 2021年度 at the start of a sentence.
BODY_YEAR = (
    r"(?:^|[。;；\n])\s*(?P<y>(?:19|20)\d{2})\s*年\s*度?\s*(?:[,，、]|以来|全年|共|我|本|全|，)"
)

# Issuing agency stated in the report's first sentences.
AGENCY_STATEMENTS: tuple[str, ...] = (
    r"现(?:将|向社会公布|予以公布|公布|发布|印发)《?(?P<a>[^，,。；;《》()（）]{2,30}?)\s*"
    r"(?:(?:19|20)\d{2}|[〇○零一二三四五六七八九]{4})\s*年\s*度?\s*(?:政府)?(?:信息公开|政务公开)",
    r"本报告由(?P<a>[^，,。；;《》“”]{2,30}?(?:人民政府|行政公署|政府|局|委员会|办公室|中心))",
    r"全文包括(?P<a>[^，,。；;]{2,30}?)\s*(?:19|20)\d{2}\s*年\s*度?\s*(?:政府)?信息公开",
)
# Pronouns and fragments that are not an agency name.
NOT_AGENCY = (
    r"^(?:我|本|该|全|各)(?:局|办|委|院|中心|单位|部门|机关|市|县|旗|区|盟|乡|镇)?$"
    r"|^(?:我们|本机关|本单位)$"
    r"|^(?:我|本|该)(?:局|办|委|院|厅|部|机关|单位)"  # 我局根据…: a sentence, not a name
)
# Organ suffixes: a name ending in one of these is an agency, not a place.
ORGAN_SUFFIX = (
    r"(?:局|委员会|委|办公室|办|人民政府|政府|行政公署|公署|行署|中心|院|厅|部|所|站|队|会|处|署|"
    r"馆|社|集团|公司|事务所|管理处|管委会|办事处)$"
)
# Place suffixes: a title naming only a place (兴安盟, 突泉县, 平潭综合实验区) does not name the
# issuing body; the body is what the page itself prints after the place's name.
PLACE_SUFFIXES: tuple[str, ...] = (
    "盟",
    "街道",
    "苏木",
    "嘎查",
    "自治区",
    "自治州",
    "自治旗",
    "自治县",
    "省",
    "市",
    "州",
    "旗",
    "县",
    "区",
    "乡",
    "镇",
)
# A place's government as pages print it after the place's name (科尔沁右翼前旗人民政府,
# 兴安盟行政公署, 平潭综合实验区管理委员会). Only a name the page prints counts: a body is never
# made by appending one of these to a place (平潭综合实验区人民政府 does not exist).
PLACE_BODY_NAMES = r"(?:人民政府|行政公署|行署|管理委员会|管委会|街道办事处|办事处)"
# Labels of the 信息公开目录 header row that names the publishing body.
AGENCY_HEADER_LABELS: tuple[str, ...] = (
    spaced("发布机构"),
    spaced("发文机关"),
    spaced("发布单位"),
    spaced("公开主体"),
)
# Footer labels naming the body that runs the site (主办单位: 科尔沁右翼前旗人民政府).
SITE_OWNER_LABELS = r"主\s*办(?:\s*单\s*位)?\s*[:：]?"
# A signature: an agency-name line next to a date line among the last lines of the content.
SIGNATURE_SEARCH_LINES = 8

# Anchor URLs that point at annual reports whatever the anchor text says.
REPORT_URL_HINTS: tuple[str, ...] = (
    r"(?i)annualreport",
    r"(?i)xxgknb|zfxxgknb|gknb",
    r"(?i)/ndbg/|ndbg_|/nb/",
)
# Anchor text truncated by the list template ("...年度...", "…").
TRUNCATED_TEXT = r"(?:\.{2,}|…+|。。+)\s*$"

# --------------------------------------------------------------------------- list pages

LIST_MIN_LONG_LINKS = 6  # anchors with at least LONG_LINK_CJK CJK characters
LONG_LINK_CJK = 8
LIST_BODY_MAX_CJK = 400  # a list page carries little text outside its links

# --------------------------------------------------------------------------- content

# Class / id values of the element holding the article body.
CONTENT_CLASS = (
    r"(?i)(?:^|[\s_-])(?:zoom|content|contents|article|article-content|detail-content|detail|"
    r"trs_editor|bt_content|wz_con|con|conTxt|txt|text|zwgk-text|main-text|view|pages_content|"
    r"news_content|xxgk_content|artibody|ccontent|Custom_UnionStyle)(?:$|[\s_-])"
)

# Whole lines that are page chrome, not report text (matched on short lines only).
BOILERPLATE_LINES: tuple[str, ...] = (
    r"ICP\s*备|公网安备|网站标识码|网站识别码|版权所有|Copyright|All\s+Rights\s+Reserved",
    r"^(?:主办单位|主办|承办单位|承办|协办单位|技术支持|运维单位|联系我们|网站地图)\s*[:：]",
    r"主办\s*(?:单位)?\s*[:：]|[^\s]主办(?:\s|$)|建议使用.{0,20}(?:分辨率|浏览器)",
    r"^(?:当前位置|您现在的位置|您当前所在位置|您的位置|所在位置)\s*[:：]?",
    r"^\s*(?:上一篇|下一篇|相关链接|相关信息|相关文章|扫一扫|打开微信)",
)
BOILERPLATE_MAX_LEN = 160

# --------------------------------------------------------------------------- counters

# URL paths that look like click counters.
COUNTER_PATH = r"(?i)count|click|hits|visit|artcount"
# Counter URLs that add a hit when fetched (never fetch these when a read-only one exists).
COUNTER_ADDS_HIT = r"(?i)visit|[?&](?:add|addhit|inc)=(?:1|true|yes)|hit"
# Cache-busters scripts append so no cache answers: jQuery's cache:false (``_=<ms>``),
# ``"&r=" + Math.random()``, ``"&t=" + new Date().getTime()``. A counter request is archived
# without them, and replay ignores them (a pywb url_normalize rule, govcrawl/publish/replay.py):
# the parameter names, and the values that make one a cache-buster (a random fraction, epoch
# seconds or milliseconds) so that ``?v=2`` on a stylesheet is left alone.
CACHE_BUSTER_NAMES = r"(?:_|r|rnd|rand|random|t|ts|time|timestamp|nocache)"
CACHE_BUSTER_VALUE = r"(?:0?\.\d+|1\d{9}|1\d{12})"
# The script expressions that produce such values.
CACHE_BUSTER_EXPR = (
    r"(?:Math\.random\(\)|\(?\s*new\s+Date\s*(?:\(\s*\))?\s*\)?\s*\.\s*(?:getTime|valueOf)\(\)"
    r"|Date\.now\(\)|\+\s*new\s+Date(?:\(\s*\))?)"
)
# Third-party analytics that are never the page's click counter.
COUNTER_IGNORE = (
    r"(?i)cnzz\.com|hm\.baidu\.com|google-analytics|googletagmanager|51\.la|tongji|webdig"
    r"|ucap/analytics"
)
# Static files (a counter library script, an icon) are never the counter endpoint itself.
COUNTER_STATIC_FILES = r"(?i)\.(?:js|css|png|jpe?g|gif|svg|ico|webp|bmp|woff2?|ttf|eot|map)$"
# JSON keys that carry the count, in order of preference.
COUNTER_KEYS: tuple[str, ...] = (
    "clicks",
    "click",
    "count",
    "hits",
    "hit",
    "num",
    "value",
    "views",
    "visits",
    "total",
    "pv",
    "readcount",
    "artcount",
    "clickcount",
    "hitcount",
    "viewcount",
)
COUNTER_WRAPPER_KEYS: tuple[str, ...] = ("data", "result", "obj", "body", "content")
