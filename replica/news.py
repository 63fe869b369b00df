"""Ordinary pages of the replica: news articles and decoys (pages that are not annual reports)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

TOPICS = [
    "政务公开",
    "优化营商环境",
    "安全生产",
    "森林草原防灭火",
    "乡村振兴",
    "民族团结进步创建",
    "文明城市创建",
    "高标准农田建设",
    "黑土地保护",
    "河湖长制",
    "冬季供暖保障",
    "招商引资",
    "耕地保护",
    "就业创业",
    "消防安全",
    "防汛抗旱",
    "营商环境提升",
    "信访积案化解",
]
ACTS = [
    "法治宣传进社区",
    "学雷锋志愿服务",
    "政策宣讲进万家",
    "安全生产月",
    "全民国家安全教育日",
    "民法典宣传月",
    "科技下乡",
    "关爱留守儿童",
    "反诈宣传",
    "无偿献血",
]
ORGS = [
    "兴安盟行政公署",
    "盟民政局",
    "盟公安局",
    "盟农牧局",
    "盟外事办",
    "盟统计局",
    "盟财政局",
    "盟教育局",
    "盟卫生健康委员会",
    "盟生态环境局",
]
# Sentences from the real report texts that read like ordinary work news.
SENTENCES = [
    "会议强调，要坚持以公开为常态、不公开为例外，不断完善制度建设，加强信息发布，抓好政策解读和回应关切。",
    "会议要求，各部门要进一步推进决策、执行、管理、服务和结果公开，加强政策解读，及时回应社会关切。",
    "下一步，将以铸牢中华民族共同体意识为工作主线，紧紧围绕盟委、行署中心工作，切实以公开促落实、强监管、优服务。",
    "活动现场，工作人员向群众发放宣传资料，耐心解答群众咨询，切实保障人民群众的知情权、参与权、表达权、监督权。",
    "与会人员围绕落实五大任务和全方位建设“模范自治区”进行了深入交流。",
    "通过此次活动，进一步增强了干部职工的责任意识和服务意识，为开展好政务服务工作提供了积极参考。",
    "各旗县市要结合工作实际，健全工作机制，规范工作流程，确保各项工作有规划、有推进、有监督。",
    "此次培训采取专题讲座与案例分析相结合的方式，切实提高具体承办人员的综合素质和业务能力。",
    "据悉，该项工作已纳入年度绩效考核，将定期通报工作进展情况。",
    "调研组一行深入企业、社区和项目现场，详细了解工作推进情况，听取意见建议。",
]


@dataclass(frozen=True)
class NewsArticle:
    key: str
    title: str
    day: date
    paragraphs: tuple[str, ...]
    source: str


def news_articles(
    prefix: str,
    count: int,
    orgs: list[str] | None = None,
    start: date = date(2019, 3, 1),
    end: date = date(2026, 2, 10),
) -> list[NewsArticle]:
    """`count` deterministic news articles spread between `start` and `end`."""
    rng = random.Random(f"news:{prefix}")
    orgs = orgs or ORGS
    span = (end - start).days
    out = []
    for i in range(count):
        day = start + timedelta(days=(i * 7919 + rng.randint(0, 6)) % span)
        org = rng.choice(orgs)
        topic = rng.choice(TOPICS)
        kind = rng.randrange(5)
        if kind == 0:
            title = f"{org}召开{topic}工作推进会"
            first = (
                f"{day.month}月{day.day}日，{org}召开{topic}工作推进会，"
                "总结前一阶段工作，安排部署下一步重点任务。"
            )
        elif kind == 1:
            act = rng.choice(ACTS)
            title = f"{org}开展“{act}”主题活动"
            first = f"{day.month}月{day.day}日，{org}组织干部职工开展“{act}”主题活动。"
        elif kind == 2:
            title = f"{org}举办{topic}专题培训班"
            first = f"为提升业务水平，{day.month}月{day.day}日，{org}举办{topic}专题培训班。"
        elif kind == 3:
            title = f"盟领导调研{topic}工作"
            first = f"{day.month}月{day.day}日，盟领导带队调研{topic}工作，{org}主要负责同志陪同。"
        else:
            title = f"{org}：{topic}工作取得阶段性成效"
            first = f"今年以来，{org}扎实推进{topic}各项工作，取得阶段性成效。"
        # A serial makes titles unique within the column, as real lists have no exact repeats.
        title = f"{title}（{day.year}年第{i + 1}期）" if rng.random() < 0.5 else title
        body = (first, *rng.sample(SENTENCES, 3))
        out.append(NewsArticle(f"{prefix}-news-{i}", title, day, body, org))
    return out


# --- Decoys: pages that look like annual reports but are not ----------------------------------


def notice_compile(
    year: int, issuer: str = "兴安盟政务公开领导小组办公室"
) -> tuple[str, list[str]]:
    title = f"关于做好{year}年度政府信息公开工作年度报告编制和发布工作的通知"
    body = [
        "各旗县市人民政府，盟直各部门：",
        f"根据《中华人民共和国政府信息公开条例》规定，为做好{year}年度政府信息公开工作年度报告编制和发布工作，"
        "现将有关事项通知如下：",
        "一、各单位要严格按照《国务院办公厅政府信息与政务公开办公室关于印发<中华人民共和国政府信息公开工作年度报告格式>"
        "的通知》（国办公开办函〔2021〕30号）要求编制年度报告，确保数据准确、勾稽关系正确。",
        f"二、年度报告应于{year + 1}年1月31日前在本单位门户网站政府信息公开专栏发布，"
        f"并报送{issuer}备案。",
        "三、未按时发布年度报告的单位将在全盟政务公开考核中予以扣分。",
        issuer,
    ]
    return title, body


def rule_of_law_report(org: str, year: int) -> tuple[str, list[str]]:
    title = f"{org}{year}年法治政府建设年度报告"
    body = [
        f"{year}年，{org}坚持以习近平法治思想为指导，深入贯彻落实《法治政府建设实施纲要（2021－2025年）》，"
        "扎实推进依法行政，法治政府建设取得新成效。现将有关情况报告如下：",
        "一、主要举措和成效",
        "（一）完善依法行政制度体系。严格落实重大行政决策程序规定，全面推行行政规范性文件合法性审核机制。",
        "（二）推进严格规范公正文明执法。全面推行行政执法公示制度、执法全过程记录制度、重大执法决定法制审核制度。",
        "二、存在的不足和原因",
        "行政执法人员法治素养有待进一步提高，执法监督体系有待进一步完善。",
        f"三、{year + 1}年工作打算",
        "持续深化法治政府建设，为经济社会高质量发展提供坚实法治保障。",
    ]
    return title, body


def budget_page(org: str, year: int, kind: str = "部门预算") -> tuple[str, list[str]]:
    title = f"{org}{year}年{kind}"
    body = [
        f"第一部分 {org}概况",
        "一、部门职责",
        "二、机构设置",
        f"第二部分 {org}{year}年{kind}表",
        f"按照预算管理有关规定，现将{org}{year}年{kind}公开如下。",
        f"{year}年收入预算合计{1200 + year % 7 * 131}.56万元，"
        f"支出预算合计{1200 + year % 7 * 131}.56万元。",
        "第三部分 名词解释",
    ]
    return title, body


def news_quoting_report(title: str, sentences: list[str], year: int) -> tuple[str, list[str]]:
    """A news item that quotes an annual report: contains its sentences but is not the report."""
    head = f"我盟{year}年政府信息公开工作年度报告发布"
    body = [
        f"近日，《{title}》在兴安盟行政公署门户网站政府信息公开专栏正式发布。",
        "报告显示：" + sentences[0],
        *sentences[1:2],
        "报告全文可在政府信息公开年报专栏查阅。",
    ]
    return head, body


def report_reading(title: str) -> tuple[str, list[str]]:
    """A 图解/解读 page about a report."""
    return f"图解：{title}", [
        f"一图读懂《{title}》。",
        "本期图解从主动公开、依申请公开、政府信息管理、平台建设、监督保障五个方面进行解读。",
    ]
