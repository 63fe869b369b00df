"""Report bodies: the text of each annual report, built from the real page texts.

Report bodies are assembled from the real page texts in replica/texts/: a report based on a real
page starts with that page's own opening; the rest (and reports of other years) is completed from
sentences taken from the real pages, with agency, year and counts filled in. Everything is
deterministic: random choices use `random.Random(<report key>)`.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from replica import tables as T
from replica.catalog import ReportSpec
from replica.textutil import sentences

logger = logging.getLogger(__name__)

TEXTS_DIR = Path(__file__).with_name("texts")


@cache
def real_text(name: str) -> str:
    """A saved real page (replica/texts/<name>*.txt) without its URL line."""
    (path,) = sorted(TEXTS_DIR.glob(f"{name}*.txt"))
    text = path.read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("URL: "))


def real_paragraphs(
    name: str, start: str, stop: str | None = None, skip: tuple[str, ...] = ()
) -> list[str]:
    """Paragraphs from `start` (prefix of the first kept line) up to `stop` (excluded).

    Saved openings end mid-sentence before a [TRUNCATED ...] note: the broken tail is cut back to
    the last full sentence so pages never show a half sentence.
    """
    lines = [ln.strip() for ln in real_text(name).splitlines()]
    lines = [ln for ln in lines if ln and ln != "\u00a0"]
    truncated = any(ln.startswith(("[TRUNCATED", "[FRAGMENT")) for ln in lines)
    lines = [ln for ln in lines if not ln.startswith(("[TRUNCATED", "[FRAGMENT"))]
    i = next(k for k, ln in enumerate(lines) if ln.startswith(start))
    out: list[str] = []
    for ln in lines[i:]:
        if stop and ln.startswith(stop):
            truncated = False
            break
        if any(ln.startswith(s) for s in skip):
            continue
        out.append(ln)
    if truncated and out:
        last = out.pop()
        if "。" in last:
            out.append(last[: last.rindex("。") + 1])
    return out


# Real openings: (text file prefix, first kept line, stop line, skipped lines).
REAL_OPENINGS: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {
    "gaj2021": ("00_", "根据2019年5月15日", "二、主动公开政府信息情况", ()),
    "wsb2025": ("03_", "本年度报告根据", None, ()),
    "mzj2021": ("05_", "根据《中华人民共和国政府信息公开条例》和盟委", None, ()),
    "meng2024": ("06_", "本报告根据", None, ()),
    "meng2019": ("07_", "根据《中华人民共和国政府信息公开条例》要求", None, ()),
    "kyzq2020": ("09_", "一、总体情况", "二、主动公开政府信息情况", ()),
    "wlht2021": ("11_", "依据《中华人民共和国政府信息公开条例》", None, ()),
    "kyqq2025": ("12_", "本年度报告根据", None, ()),
    "aes2025": ("14_", "按照《中华人民共和国政府信息公开条例》", None, ()),
    "wljw2022": ("16_", "本年度报告是根据", None, ()),
    "np2012": ("22_", "本报告由南平市", None, ()),
}

# The 2012 report is the Nanping text moved to 兴安盟 (the only free-prose text we have).
NP_TO_XAM = [
    ("南平市人民政府信息公开工作领导小组办公室", "兴安盟行政公署政府信息公开工作领导小组办公室"),
    (
        "《福建省人民政府办公厅关于做好2012年政府信息公开工作年度报告有关事项的通知》(闽政办函〔2012〕157号)",
        "《内蒙古自治区人民政府办公厅关于做好2012年政府信息公开工作年度报告有关事项的通知》",
    ),
    ("汇总南平市各县(市、区)", "汇总全盟各旗县市"),
    ("市政府各有关部门", "盟直各有关部门"),
    ("“中国南平”网站(<http://www.np.gov.cn/>)", "兴安盟行政公署门户网站(http://www.xam.gov.cn/)"),
    ("“中国南平”网站", "兴安盟行政公署门户网站"),
    ("南平市政府信息公开工作领导小组办公室", "兴安盟政府信息公开工作领导小组办公室"),
    (
        "福建省南平市八一路439号,邮编:353000,电话:0599-8830330,传真:0599-8891101,"
        "电子邮箱:xxgk@np.gov.cn ",
        "乌兰浩特市兴安盟党政大楼,电话:0482-8266637,传真:0482-8266602,电子邮箱:admin@xam.gov.cn",
    ),
    ("2012年的南平市政府信息公开工作", "2012年的兴安盟政府信息公开工作"),
    ("国务院、省政府的统一部署", "国务院、自治区政府的统一部署"),
    ("中共南平市委、南平市人民政府", "盟委、行署"),
    ("市各级各部门", "全盟各级各部门"),
    (
        "《福建省人民政府办公厅转发国务院办公厅关于2012年政府信息公开重点工作安排的通知》(闽政办〔2012〕99号)",
        "《内蒙古自治区人民政府办公厅转发国务院办公厅关于2012年政府信息公开重点工作安排的通知》",
    ),
]

# --- Sentence templates taken from the real pages ({agency} {year} {we} {short} {phone}) ------
INTROS_2021 = [
    "根据2019年5月15日开始实施的《中华人民共和国政府信息公开条例》(国务院令第711号,以下简称《条例》)"
    "和《自治区人民政府办公厅关于印发{prev}年政务公开和政务服务工作要点的通知》要求,现将{agency}{year}年"
    "政府信息公开工作年度报告予以公布。本报告由总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、"
    "政府信息公开行政复议和行政诉讼情况、存在的主要问题和改进措施以及其他需要报告的事项共六部分组成。"
    "本报告中所列数据的统计期限为{year}年1月1日起至{year}年12月31日止。",
    "本年度报告根据《中华人民共和国政府信息公开条例》(国令第711号)、"
    "《国务院办公厅政府信息与政务公开办公室"
    "关于印发 <中华人民共和国政府信息公开工作年度报告格式> 的通知》"
    "(国办公开办函〔2021〕30号)制作。 "
    "全文包括{agency}{year}年政府信息公开总体情况,主动公开政府信息情况,收到和处理政府信息公开申请情况,"
    "政府信息公开行政复议、行政诉讼情况,存在的问题及改进情况,其他需要报告的事项。所列数据统计期限为{year}年"
    "1月1日至{year}年12月31日。如对本年度报告有疑问,请与{agency}联系(电话:{phone})。",
    "按照《中华人民共和国政府信息公开条例》(国务院令第711号)要求,现向社会公布{agency}{year}年度政府信息公开"
    "工作年度报告。本报告包括{year}年度政府信息公开工作总体情况,主动公开政府信息情况,收到和处理政府信息公开"
    "申请情况,因政府信息公开工作被申请行政复议、提起行政诉讼情况,政府信息公开工作存在的主要问题和改进情况,"
    "其他需要报告的事项等6项内容。本报告中所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。"
    "如对本年度报告有疑问,请与{agency}联系(电话:{phone})。",
    "依据《中华人民共和国政府信息公开条例》(以下简称《条例》)和《关于印发中华人民共和国政府信息公开工作"
    "年度报告格式的通知》(国办公开办函〔2021〕30号)要求编制本报告,报告全文由总体情况、主动公开政府信息情况、"
    "收到和处理政府信息公开申请情况、因政府信息公开工作被申请行政复议、提起行政诉讼情况、政府信息公开工作存在的"
    "主要问题及改进情况、其他需要报告的事项等六个部分组成,报告中所列数据的统计期限为{year}年1月1日至{year}年"
    "12月31日。如对本年度报告有任何疑问,请联系{agency}(联系电话:{phone})。",
]
INTROS_ANY = [
    "根据《中华人民共和国政府信息公开条例》和盟委、行署有关推行政务公开的要求部署,{we}将政府信息公开工作纳入"
    "重要的议事日程,按照公开、公正、规范、高效、便民、廉政、勤政的基本要求,坚持依法公开、真实公正、讲求实效、"
    "利于监督的原则,结合工作实际,积极推进政府信息公开工作。现将{agency}{year}年政府信息公开工作报告如下。",
    "本年度报告是根据《中华人民共和国政府信息公开条例》和盟政务公开领导小组的相关要求编写。全文包括总体情况,"
    "主动公开政府信息情况,收到和处理政府信息公开申请情况、政府信息公开行政复议、行政诉讼情况,存在的主要问题"
    "及改进情况,以及其他需要报告的事项。本报告中所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。"
    "如有疑问,请联系{agency}政务公开工作领导小组办公室,电话:{phone}。",
]
INTROS_2019 = [
    "根据《中华人民共和国政府信息公开条例》要求(以下简称《条例》)和《国务院办公厅政府信息与政务公开办公室关于"
    "政府信息公开工作年度报告有关事项的通知》(国办公开办函〔2019〕60号)要求,现发布《{agency}{year}年政府信息"
    "公开工作年度报告》,《报告》全文包括总体情况,主动公开政府信息情况,收到和处理政府信息公开申请情况,"
    "政府信息公开行政复议、行政诉讼情况,存在的主要问题及改进情况,其他需要报告的事项等六部分。",
]
GENERAL = [
    "按照党中央、国务院及盟委、行署的部署安排,{agency}政务公开工作紧紧围绕着力健全工作机制、加强信息管理、"
    "完善平台建设、强化政策解读等方面,取得了积极成效。",
    "{year}年,{agency}高度重视政府信息公开工作,严格落实《条例》要求,将其纳入年度重点工作,通过顶层规划、"
    "股室联动、规范流程,持续提升公开质量与效率,全力保障公众知情权、参与权和监督权。",
    "{year}年,{we}以《中华人民共和国政府信息公开条例》为根本遵循,严格落实自治区、盟行署关于推进政府信息公开"
    "工作部署,紧紧围绕年度工作要点,持续强化政府信息发布与解读实效,全面提升政府信息公开规范化、精细化水平。",
    "{year}年,{short}领导高度重视政府信息公开工作,认真贯彻落实国家有关决策部署精神和任务要求,更新了政务公开"
    "工作领导小组人员,严格落实工作责任制,明确公开内容和公开责任,健全工作机制,有效推进政府信息公开工作落实。",
]
ACTIVE = [
    "{year}年度,{we}门户网站主动公开政府信息{a}条,其中,机构设置类信息{b}条,财政预决算公开类信息{c}条,"
    "公告通知类信息{d}条,工作动态信息{e}条。",
    "{year}年全年,{we}共通过门户网站及政务新媒体方式主动公开{a}条,其中通过政府网站公开{b}条,"
    "微信公众号公开{c}条。",
    "{year}年度{short}聚焦核心业务,明确公开范围与重点,实现信息精准推送,全年主动公开各类政府信息{a}条,"
    "其中公开行政规范性文件{d}件、工作动态信息{b}条、通知公告{e}条。",
    "{year}年{agency}依托政务公开平台发布公开信息{a}条,及时公开各类公开事项,其中通过政府网站公开{b}条,"
    "通过政务新媒体公开{c}条,确保做到政务服务公开透明。",
]
APPLY_NONE = [
    "{year}年度,{agency}未收到政府信息公开申请。",
    "{year}年{we}未收到要求公开政府信息的申请。",
    "{year}年,{we}未收到政府信息公开申请,无上年结转政府信息公开申请。",
]
APPLY_SOME = ["{year}年度{agency}共有{n}件依申请公开信息,均已依法按时答复。"]

# (heading, paragraph) for 一 (三)-(五); "{short}" replaces the agency in the source sentence.
MANAGEMENT = [
    (
        "政府信息管理情况",
        "一是建立制度规范,深入贯彻落实《条例》,完善工作机制,规范工作流程。二是加强源头把控,"
        "将规范性文件公开纳入公文审核,凡应当主动公开的内容,全部公开,坚持“以公开为常态、以不公开为例外”,"
        "做到应公开、尽公开。",
    ),
    (
        "政府信息管理情况",
        "领导高度重视政府信息公开工作,把政府信息公开工作摆上重要议事日程,建立了办公室牵头,"
        "各业务科室按工作职责落实的工作机制。同时明确一名分管领导和一名兼职的政务公开工作人员负责本单位政务公开的"
        "日常工作,包括公开、更新本单位政务信息,对拟公开的政务信息进行保密审查。",
    ),
    (
        "政府信息管理情况",
        "进一步规范和完善{short}政务公开工作,找出短板与不足,坚持“以公开为常态、不公开为例外”"
        "的原则,进一步提升{we}政务信息公开质量和实效,创新监管方式,推动信息公开常态化。",
    ),
]
PLATFORM = [
    (
        "平台建设情况",
        "一是强化阵地管理。对{short}政府网站及政务新媒体运维情况进行大摸底、大排查,符合运维要求的,"
        "全部报备盟政务服务局并录入国务院“全国政务新媒体管理平台”规范运行。二是完善网站各项功能。完善{short}门户"
        "网站信息分享、下载功能,规范性文件与微信、微博等社交软件的信息分享已全部实现。",
    ),
    (
        "平台建设情况",
        "{we}及时根据最新政府信息公开条例要求,规范网站信息公开栏建设,及时更新信息公开指南和目录,"
        "完善目录分类设置,做好信息整合链接,方便社会公众查询。",
    ),
]
SUPERVISION = [
    (
        "监督保障情况",
        "一是加强政府信息公开内部督导检查。对网上公开政府信息实行实时监测,保证政务公开工作顺利开展。"
        "二是依据党中央、国务院及盟委、行署有关要求,将政务公开纳入绩效考核,确保政务公开各项工作有规划、有推进、"
        "有监督。",
    ),
    (
        "监督保障情况",
        "{year}年{short}未发生因信息公开工作开展不当被责任追究现象,未发生因不履行政务公开义务而发生的"
        "责任追究情况。",
    ),
]
PROBLEMS = [
    "“阳光意识”需进一步强化。从总体上看,{short}政务公开工作机制基本完善,个别业务部门主动公开意识不强的问题,"
    "需进一步转变工作思路,提升思想认识,使“以公开为常态、以不公开为例外”成为行政理念。",
    "信息公开平台建设需进一步优化。目前对大数据、云计算、人工智能等技术的利用程度低,打造“高效惠民的网上政府”"
    "还存在一定差距;个性化服务水平不高,政务一体化平台建设存在信息共享难题。",
    "政策解读回应效果需进一步提升。政策解读和回应工作开展主要集中于门户网站,缺乏对政务微博微信和移动客户端等"
    "新媒体的统筹运用,政府信息公开和政务服务社会知晓面、受众有限。",
    "组织建设仍需改进。政府信息公开工作业务骨干以兼职为主,队伍建设整体不够稳定,且法律、互联网及相关业务领域"
    "专业人员配备不足。",
]
MEASURES = [
    "健全制度机制保障。建立健全政府信息公开相关制度,确保政府信息公开管理有序、方式得当、渠道畅通;明确任务目标"
    "方向,推动{short}政务公开工作持续深入开展。",
    "规范公开平台建设。完善门户网站信息分享、下载等功能,优化服务流程,强化服务功能,提升用户体验。",
    "增强政策解读回应实效。丰富政策解读形式,提升非文字解读比例,灵活运用数字化、图表图解、音频、视频、动漫等"
    "方式展现,增强解读实效。",
    "加大政府信息公开工作人员培训力度,制定业务培训计划和考核考评办法,分级分层组织实施,切实提高具体承办人员的"
    "综合素质和业务能力。",
]
FEES = (
    "按照《国务院办公厅关于印发〈政府信息公开信息处理费管理办法〉的通知》(国办函〔2020〕109号)规定的按件、"
    "按量收费标准,本年度没有产生信息公开处理费。"
)
NOTHING_ELSE = "{agency}无其他需要报告的事项。"
SECTION_TITLES = {
    "s1": "一、总体情况",
    "s5": "五、存在的主要问题及改进情况",
    "s6": "六、其他需要报告的事项",
}
NUMS = "一二三四五六七八九十"


@dataclass
class Body:
    """A report body: blocks in page order plus its tables.

    blocks: ("h", text) subheading paragraph, ("p", text) paragraph, ("table", "s2"|"s3"|"s4").
    """

    blocks: list[tuple[str, str]] = field(default_factory=list)
    tables: T.ReportTables | None = None
    preferred: list[str] = field(default_factory=list)  # distinctive sentences, best first

    def text_paragraphs(self) -> list[str]:
        return [t for kind, t in self.blocks if kind in ("h", "p")]


_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|\([一二三四五六七八九十]+\)|• )\S{1,14}$")


def _fill(tpl: str, spec: ReportSpec, **extra: object) -> str:
    a = spec.agency_obj
    return tpl.format(
        agency=a.name,
        year=spec.year,
        prev=spec.year - 1,
        we=a.we,
        short=a.short,
        phone=a.phone,
        **extra,
    )


def _active_counts(rng: random.Random, edited: bool) -> dict[str, int]:
    a = rng.randint(60, 1800)
    b = rng.randint(a // 4, a // 2)
    c = a - b
    d = rng.randint(1, 12)
    e = rng.randint(5, 60)
    if edited:
        # Round-2 correction of the published count (the "edited sentence").
        a, c = a + 120, c + 120
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def build_body(spec: ReportSpec, round_: int = 1) -> Body:
    """The body of one report in one round (deterministic)."""
    rng = random.Random(spec.key)
    p = spec.punct()
    body = Body()
    edited = spec.edited_in is not None and round_ >= spec.edited_in

    if spec.template == "prose":
        return _prose_body(spec, p)

    if spec.layout is not None:
        body.tables = T.generate(
            spec.key,
            spec.template,
            applications=spec.applications,
            cells=spec.cells,
            digits=spec.digits,
            broken=spec.broken,
            fixed=spec.fixed_s2,
        )
    n_apps = spec.applications
    if n_apps is None and body.tables is not None:
        n_apps = int(body.tables.s3["new"][6].value or 0)

    # Opening: the real page's own text, or sentences from the real pages.
    sub_style = "paren"
    if spec.real:
        prefix, start, stop, skip = REAL_OPENINGS[spec.real]
        paras = real_paragraphs(prefix, start, stop, skip)
        for para in paras:
            kind = "h" if _HEADING.match(para) or para == "一、总体情况" else "p"
            if para.startswith("• "):
                sub_style = "bullet"
            body.blocks.append((kind, p(para)))
        if not any(t == p(SECTION_TITLES["s1"]) for _, t in body.blocks):
            body.blocks.insert(1, ("h", SECTION_TITLES["s1"]))
        # Distinctive sentences: long ones with figures, from the real text.
        cands = [s for _, t in body.blocks for s in _sentences(t)]
        cands = [s for s in cands if len(s) >= 24 and re.search(r"\d", s)]
        body.preferred = sorted(cands, key=len, reverse=True)[:6]
        seen_subs = _numbered_subsections(body.blocks)
    else:
        intros = INTROS_2019 if spec.template == "2019" else INTROS_2021 + INTROS_ANY
        intro = _fill(rng.choice(intros), spec)
        body.blocks.append(("p", p(intro)))
        body.blocks.append(("h", SECTION_TITLES["s1"]))
        body.blocks.append(("p", p(_fill(rng.choice(GENERAL), spec))))
        counts = _active_counts(rng, edited)
        active = p(_fill(rng.choice(ACTIVE), spec, **counts))
        body.blocks.append(("h", p("(一)主动公开情况")))
        body.blocks.append(("p", active))
        if n_apps:
            apply = p(_fill(APPLY_SOME[0], spec, n=n_apps))
        else:
            apply = p(_fill(rng.choice(APPLY_NONE), spec))
        body.blocks.append(("h", p("(二)依申请公开情况")))
        body.blocks.append(("p", apply))
        body.preferred = _sentences(active) + _sentences(p(intro))[:1]
        seen_subs = 2

    # Complete section 一 up to (五) when the opening numbers its subsections.
    pools = [MANAGEMENT, PLATFORM, SUPERVISION]
    for i in range(max(seen_subs, 2), 5 if seen_subs else 0):
        head, para = rng.choice(pools[i - 2])
        label = f"• {head}" if sub_style == "bullet" else f"({NUMS[i]}){head}"
        body.blocks.append(("h", p(label)))
        body.blocks.append(("p", p(_fill(para, spec))))

    if body.tables is not None:
        for key in ("s2", "s3", "s4"):
            body.blocks.append(("h", p(T.HEADINGS[key])))
            body.blocks.append(("table", key))

    if spec.real == "gaj2021":
        # The seed page is complete: its own sections 五 and 六.
        for para in real_paragraphs("00_", "五、存在的主要问题及改进情况", "地 址:"):
            body.blocks.append(("h" if _HEADING.match(para) else "p", p(para)))
        return body

    body.blocks.append(("h", p(SECTION_TITLES["s5"])))
    body.blocks.append(("h", p("(一)存在的主要问题")))
    for i, para in enumerate(rng.sample(PROBLEMS, 2), 1):
        body.blocks.append(("p", p(f"{i}.{_fill(para, spec)}")))
    body.blocks.append(("h", p("(二)改进措施")))
    for i, para in enumerate(rng.sample(MEASURES, 2), 1):
        body.blocks.append(("p", p(f"{i}.{_fill(para, spec)}")))
    body.blocks.append(("h", p(SECTION_TITLES["s6"])))
    if spec.year >= 2020:
        body.blocks.append(("p", p(FEES)))
    body.blocks.append(("p", p(_fill(NOTHING_ELSE, spec))))
    return body


def _prose_body(spec: ReportSpec, p: Callable[[str], str]) -> Body:
    body = Body()
    prefix, start, stop, skip = REAL_OPENINGS[spec.real or "np2012"]
    for para in real_paragraphs(prefix, start, stop, skip):
        for old, new in NP_TO_XAM:
            para = para.replace(old, new)
        body.blocks.append(("h" if _HEADING.match(para) else "p", p(para)))
    cands = [s for _, t in body.blocks for s in _sentences(t) if len(s) >= 24]
    body.preferred = sorted(cands, key=len, reverse=True)[:4]
    return body


def _sentences(text: str) -> list[str]:
    return sentences(text)


def _numbered_subsections(blocks: list[tuple[str, str]]) -> int:
    """How many (一)(二)... or bullet subsections the opening already has."""
    n = 0
    for kind, text in blocks:
        m = re.match(r"^[（(]([一二三四五六七八九十])[）)]", text)
        if m:
            n = max(n, NUMS.index(m.group(1)) + 1)
        elif kind == "h" and text.startswith("• "):
            n += 1
    return n
