"""The catalogue of annual reports: issuing agencies, one spec per report (year, template,
table layout, what changes in round 2) and where each copy is published (host, CMS family,
metadata line, variant). `replica.content` writes the bodies; `replica.site` renders the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from replica.hosts import AES, KYQQ, KYZQ, MZJ, MZJ_NB, NMJ, WLHT, WSB, WWW, XAM_NB
from replica.textutil import fw, hw


@dataclass(frozen=True)
class Agency:
    name: str  # full issuing body
    source: str  # the usual 来源 text
    short: str  # how the body names itself in running text
    we: str  # 我局 / 我办 / 我委 / 我盟 ...
    phone: str
    title_name: str = ""  # name used in report titles (兴安盟, 科尔沁右翼前旗), default `name`

    @property
    def in_title(self) -> str:
        return self.title_name or self.name


AGENCIES: dict[str, Agency] = {
    "gaj": Agency("兴安盟公安局", "盟公安局", "公安局", "我局", "0482-8266637"),
    "mzj": Agency("兴安盟民政局", "盟民政局", "民政局", "我局", "0482-8267136"),
    "wsb": Agency("兴安盟行署外事办公室", "盟外事办", "外事办", "我办", "0482-8266956"),
    "nmj": Agency("兴安盟农牧局", "盟农牧局", "农牧局", "我局", "0482-8223071"),
    "meng": Agency(
        "兴安盟行政公署", "盟行政审批和政务服务局", "兴安盟", "我盟", "0482-8201600", "兴安盟"
    ),
    "kyqq": Agency(
        "科尔沁右翼前旗人民政府",
        "科右前旗政务服务与数据管理局",
        "科右前旗",
        "我旗",
        "0482-8395216",
        "科尔沁右翼前旗",
    ),
    "kyzq_lcj": Agency("科右中旗林业和草原局", "林草局", "林草局", "我局", "0482-4512267"),
    "wlht": Agency("乌兰浩特市人民政府", "乌兰浩特市", "乌兰浩特市", "我市", "0482-8299108"),
    "wlht_wjw": Agency("乌兰浩特市卫生健康委员会", "市卫健委", "市卫健委", "我委", "0482-8299226"),
    "aes_wjw": Agency("阿尔山市卫生健康委员会", "市卫健委", "市卫健委", "我委", "0482-7122361"),
    "xfj": Agency("兴安盟信访局", "盟信访局", "信访局", "我局", "0482-8266173"),
    "czj": Agency("兴安盟财政局", "盟财政局", "财政局", "我局", "0482-8266350"),
    "tjj": Agency("兴安盟统计局", "盟统计局", "统计局", "我局", "0482-8266412"),
    "jyj": Agency("兴安盟教育局", "盟教育局", "教育局", "我局", "0482-8213566"),
}


@dataclass(frozen=True)
class ReportSpec:
    key: str
    agency: str  # key into AGENCIES
    year: int
    published: str  # China time as the page prints it: "2022-01-21 18:27:17", "2021-01-29"
    template: str  # "2021" | "2019" | "prose"
    layout: str | None  # html | flat | rows | docx | xlsx | pdf | None (prose)
    real: str | None = None  # key into REAL_OPENINGS
    cells: str = "zero"  # zero | blank | slash (see tables.generate)
    digits: str = "half"  # half | full
    broken: bool = False  # own arithmetic broken on purpose
    applications: int | None = None  # new applications (fixed by the real text)
    source: str | None = "agency"  # "agency": the agency's usual 来源; None: empty 来源
    halfwidth: bool = False  # keep the saved text's half-width punctuation
    added_in: int = 1  # first round the report exists
    removed_in: int | None = None  # round from which the page answers 404
    edited_in: int | None = None  # round from which one sentence reads differently
    redated: tuple[int, str] | None = None  # (round, date): from that round the page prints it
    fixed_s2: dict | None = None  # section-2 values copied from the real page

    @property
    def agency_obj(self) -> Agency:
        return AGENCIES[self.agency]

    @property
    def title(self) -> str:
        return f"{self.agency_obj.in_title}{self.year}年政府信息公开工作年度报告"

    @property
    def source_text(self) -> str | None:
        return self.agency_obj.source if self.source == "agency" else self.source

    def published_in(self, round_: int) -> str:
        """The publication date the page prints in ``round_`` (a CMS re-save can change it)."""
        if self.redated is not None and round_ >= self.redated[0]:
            return self.redated[1]
        return self.published

    def exists_in(self, round_: int) -> bool:
        return round_ >= self.added_in and (self.removed_in is None or round_ < self.removed_in)

    def punct(self) -> Callable[[str], str]:
        return hw if self.halfwidth else fw


def _seed_section2() -> dict:
    """Section-2 values printed on the seed page (00_seed_xam_gaj_2021_full.txt)."""
    return {
        "rules": {"issued": 0, "repealed": 0, "in_force": 0},
        "normative_documents": {"issued": 2, "repealed": 0, "in_force": 2},
        "licensing": 307111,
        "penalty": 10,
        "enforcement": 289,
        "fees_10k_yuan": 3413.765,
    }


# One row per report: key, agency, year, publication time as printed, template, table layout,
# then what sets it apart.
R = ReportSpec
# fmt: off
REPORTS: list[ReportSpec] = [
    # www.xam.gov.cn (main portal)
    R("meng-2012", "meng", 2012, "2013-01-25 09:12:40", "prose", None, real="np2012",
      source="盟行署办公厅"),
    R("meng-2019", "meng", 2019, "2020-03-11 10:05:33", "2019", "html", real="meng2019"),
    R("gaj-2019",  "gaj",  2019, "2020-01-20 16:05:12", "2019", "flat", cells="blank"),
    R("gaj-2020",  "gaj",  2020, "2021-01-22 11:30:45", "2019", "html"),
    R("meng-2020", "meng", 2020, "2021-01-29 17:02:11", "2019", "flat"),
    R("gaj-2021",  "gaj",  2021, "2022-01-21 18:27:17", "2021", "flat", real="gaj2021",
      applications=0, halfwidth=True, fixed_s2=_seed_section2()),
    R("meng-2021", "meng", 2021, "2022-01-28 16:40:05", "2021", "html"),
    R("gaj-2022",  "gaj",  2022, "2023-01-19 09:41:27", "2021", "html", digits="full"),
    R("meng-2022", "meng", 2022, "2023-01-30 10:20:18", "2021", "html"),
    R("xfj-2022",  "xfj",  2022, "2023-01-16 15:03:09", "2021", "rows"),
    R("czj-2022",  "czj",  2022, "2023-01-31 11:15:00", "2021", "docx"),
    R("gaj-2023",  "gaj",  2023, "2024-01-23 10:12:55", "2021", "rows",
      redated=(2, "2024-03-05 08:40:12")),
    R("meng-2023", "meng", 2023, "2024-01-29 15:20:31", "2021", "html", edited_in=2),
    R("tjj-2023",  "tjj",  2023, "2024-01-25 14:47:06", "2021", "xlsx"),
    R("meng-2024", "meng", 2024, "2025-01-20 17:24",    "2021", "html", real="meng2024",
      source=None),
    R("jyj-2024",  "jyj",  2024, "2025-01-23 09:30:00", "2021", "pdf"),
    R("gaj-2024",  "gaj",  2024, "2025-01-21 18:02:44", "2021", "flat"),
    R("meng-2025", "meng", 2025, "2026-01-29 16:10:00", "2021", "html"),
    R("gaj-2025",  "gaj",  2025, "2026-01-27 10:08:19", "2021", "html", added_in=2),
    # mzj.xam.gov.cn
    R("mzj-2020", "mzj", 2020, "2021-01-26 10:33:20", "2019", "flat"),
    R("mzj-2021", "mzj", 2021, "2022-01-24 15:49:02", "2021", "html", real="mzj2021",
      applications=0),
    R("mzj-2022", "mzj", 2022, "2023-01-20 09:55:41", "2021", "html"),
    R("mzj-2023", "mzj", 2023, "2024-01-22 16:18:03", "2021", "html", broken=True),
    R("mzj-2024", "mzj", 2024, "2025-01-24 11:27:36", "2021", "rows", removed_in=2),
    # wsb.xam.gov.cn
    R("wsb-2020", "wsb", 2020, "2021-01-28 09:30", "2019", "html"),
    R("wsb-2022", "wsb", 2022, "2023-01-18 10:05", "2021", "flat"),
    R("wsb-2023", "wsb", 2023, "2024-01-19 15:40", "2021", "html"),
    R("wsb-2024", "wsb", 2024, "2025-01-17 11:02", "2021", "rows"),
    R("wsb-2025", "wsb", 2025, "2026-01-20 17:20", "2021", "html", real="wsb2025",
      applications=0),
    # nmj.xam.gov.cn (GBK)
    R("nmj-2020", "nmj", 2020, "2021-01-29", "2019", "flat"),
    R("nmj-2021", "nmj", 2021, "2022-01-27", "2021", "flat", digits="full"),
    R("nmj-2022", "nmj", 2022, "2023-01-30", "2021", "html"),
    R("nmj-2023", "nmj", 2023, "2024-01-26", "2021", "html"),
    R("nmj-2024", "nmj", 2024, "2025-01-22", "2021", "rows"),
    # www.kyqq.gov.cn (Hanweb)
    R("kyqq-2022", "kyqq", 2022, "2023-01-31 10:00", "2021", "html"),
    R("kyqq-2023", "kyqq", 2023, "2024-01-30 16:45", "2021", "flat"),
    R("kyqq-2024", "kyqq", 2024, "2025-01-24 09:12", "2021", "html", source=None),
    R("kyqq-2025", "kyqq", 2025, "2026-01-30 16:31", "2021", "rows", real="kyqq2025"),
    # county sites on the dated-article CMS
    R("kyzq-lcj-2020", "kyzq_lcj", 2020, "2021-01-29 16:22",    "2019", "flat", real="kyzq2020"),
    R("kyzq-lcj-2021", "kyzq_lcj", 2021, "2022-01-27 09:18",    "2021", "html"),
    R("wlht-2021",     "wlht",     2021, "2022-01-25 10:15",    "2021", "html", real="wlht2021"),
    R("wlht-wjw-2022", "wlht_wjw", 2022, "2023-01-18 16:40:12", "2021", "flat", real="wljw2022",
      cells="slash", applications=0),
    R("aes-wjw-2025",  "aes_wjw",  2025, "2026-01-15 09:19",    "2021", "html", real="aes2025",
      applications=1),
    R("aes-wjw-2024",  "aes_wjw",  2024, "2025-01-16 10:30",    "2021", "flat"),
]
# fmt: on
REPORTS_BY_KEY = {r.key: r for r in REPORTS}


# --- Where each report is published -----------------------------------------------------------


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
# One row per published copy: report key, host, CMS family, metadata line, then its quirks.
# fmt: off
PLACEMENTS: list[Placement] = [
    # www.xam.gov.cn
    _P("meng-2012", _W, "old", "riqi"),
    _P("meng-2019", _W, "old", "riqi", group="meng-2019"),
    _P("meng-2019", _W, "new", "fabu", group="meng-2019", republished=True, listed=False,
       path="/xam/2020-03/11/article_2024041412203766299.html"),
    _P("gaj-2019",  _W, "old", "riqi_spaced"),
    _P("gaj-2020",  _W, "old", "riqi"),
    _P("wsb-2020",  _W, "old", "riqi", group="wsb-2020"),
    _P("meng-2020", _W, "old", "riqi"),
    _P("gaj-2021",  _W, "old", "riqi", heading="agency_split",
       path=XAM_NB + "4800984/4862348/index.html"),
    _P("mzj-2021",  _W, "old", "riqi", group="mzj-2021"),
    _P("meng-2021", _W, "old", "riqi"),
    _P("gaj-2022",  _W, "old", "riqi", flaky=True),
    _P("meng-2022", _W, "old", "riqi", group="meng-2022"),
    _P("meng-2022", _W, "old", "riqi", group="meng-2022", variant="image"),
    _P("xfj-2022",  _W, "old", "riqi"),
    _P("czj-2022",  _W, "old", "riqi", variant="docx"),
    _P("gaj-2023",  _W, "old", "riqi"),
    _P("meng-2023", _W, "old", "riqi"),
    _P("tjj-2023",  _W, "old", "riqi", variant="xlsx"),
    _P("meng-2024", _W, "new", "fabu", path="/xam/2025-01/20/article_2025012017242828970.html"),
    _P("jyj-2024",  _W, "old", "riqi", variant="pdf"),
    _P("gaj-2024",  _W, "old", "riqi"),
    _P("meng-2025", _W, "old", "riqi"),
    _P("gaj-2025",  _W, "old", "riqi"),
    # mzj.xam.gov.cn
    _P("mzj-2020", _M, "old", "shijian"),
    _P("mzj-2021", _M, "old", "shijian", group="mzj-2021", path=MZJ_NB + "4866590/index.html"),
    _P("mzj-2022", _M, "old", "shijian"),
    _P("mzj-2023", _M, "old", "shijian"),
    _P("mzj-2024", _M, "old", "shijian"),
    # wsb.xam.gov.cn
    _P("wsb-2020", _S, "new", "fabu", group="wsb-2020", republished=True,
       old_url="/wsb/zfxxgk82/zfxxgknb49/4705512/index.html"),
    _P("wsb-2022", _S, "new", "fabu", republished=True, listed=False),
    _P("wsb-2023", _S, "new", "fabu", republished=True),
    _P("wsb-2024", _S, "new", "fabu"),
    _P("wsb-2025", _S, "new", "fabu", heading="spaced",
       path="/wsb/2026-01/20/article_2026012017235865780.html"),
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
    _P("kyzq-lcj-2020", KYZQ.host, "new", "fabu", republished=True,
       path="/kyzq/2021-01/28/article_2024041405435289175.html"),
    _P("kyzq-lcj-2021", KYZQ.host, "new", "fabu", republished=True),
    _P("wlht-2021", WLHT.host, "new", "fabu", republished=True,
       path="/wlht/2022-01/04/article_2024041410511629403.html"),
    _P("wlht-wjw-2022", WLHT.host, "old", "riqi_nocount", counter=False,
       path="/wlht/bmzfxxgk/zfzcbmyzsjg/wjw/zfxxgknb2655/5420275/5426708/index.html"),
    _P("aes-wjw-2025", AES.host, "new", "fabu", heading="split",
       path="/aes/2026-01/15/article_2026011509191225642.html"),
    _P("aes-wjw-2024", AES.host, "new", "fabu"),
]
# fmt: on
