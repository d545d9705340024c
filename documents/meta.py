"""Report metadata: title, agency, year, template and publication date.

The title is the first short line near the top that names a 年度报告 (portal prefixes such
as 标题： and site suffixes such as "-沭阳县发改局" removed); the agency is the title minus
its year and the words 政府信息公开…年度报告. The publication date is only taken where
the page states it: a labelled date near the top (发布日期, 公开日期, 成文日期 …) or a
publication <meta> tag; a date at the signature is the document's date, not publication.

This module must not read tables; the template evidence from table 二 is passed in.
"""

from __future__ import annotations

import datetime as dt
import re

from documents.encoding import nfkc

_TITLE_PREFIX = re.compile(r"^(?:标题|名称|题目|文章标题|信息名称)\s*[:：]?\s*")
_DATE = r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})"
_LABELLED_DATE = re.compile(r"(?:发布时间|发布日期|公开日期|公开时间|成文日期|发文日期|印发日期|生成日期|发布于)[\s:：]*" + _DATE)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text))


# A title line that holds only the end of a title ("年度报告", "2022年政府信息公开工作年度报告"):
# the title began on the line above (PDF title pages and their conversions wrap titles).
_TITLE_TAIL = re.compile(r"^(?:\d{4}年度?)?(?:政府信息公开|政务公开|信息公开)?(?:工作)?(?:年度报告|年报)")
_SENTENCE = re.compile(r"[。，,:：；;！!？?]")
# What a report's title calls it: 年度报告, 年报, or 政府信息公开工作报告 ("2024年度政府信息公开工作报告").
_REPORT_WORDS = re.compile(r"年度报告|年报|(?:政府信息公开|政务公开|信息公开)(?:工作)?报告")
_TITLE_END = re.compile(r"^(.*(?:年度报告|年报|工作报告)(?:[（(][^）)]*[）)])?)(?:发布|来源|时间|日期|作者|浏览|点击|字号|索引号).*$")


def find_title(lines: list[str], stop: int | None, html_title: str | None) -> str | None:
    limit = min(stop - 1 if stop else 60, 80, len(lines))
    for need_year in (True, False):  # "2022年…年度报告" beats a breadcrumb "首页>…>年度报告"
        previous = ""
        for line in lines[:limit]:
            text = _TITLE_PREFIX.sub("", line.strip().split("\t")[-1] if "\t" in line else line.strip())
            # A date or source after the title on the same line ("…年度报告发布日期：…"): the
            # title ends at 年度报告.
            compact = _TITLE_END.sub(r"\1", _compact(text))
            wrapped = (previous and len(previous) <= 40 and len(compact) <= 20 and not _REPORT_WORDS.search(compact)
                       and _REPORT_WORDS.search(previous + compact) and not _SENTENCE.search(compact))
            if wrapped:
                compact = previous + compact  # "…年度政府信息公开工" / "作报告": a title wrapped mid-word
            if (_REPORT_WORDS.search(compact) and len(compact) <= 60 and "。" not in compact
                    and not re.search(r"[>›»]", compact)):
                # A site name after a dash: "…年度报告-沭阳县发改局".
                compact = re.split(r"[-_|—–]+(?!.*报告)", compact)[0]
                if not wrapped and previous and len(previous) <= 40 and _TITLE_TAIL.match(compact) \
                        and previous not in compact:
                    compact = previous + compact  # wrapped: the agency (and year) on the line above
                if not need_year or re.search(r"\d{4}年", compact):
                    return compact
            stripped = _compact(line)
            if stripped and not re.fullmatch(r"[-—\d\s第页/]+", stripped):
                previous = stripped if not _SENTENCE.search(stripped) and not _REPORT_WORDS.search(stripped) else ""
    if html_title and "报告" in html_title:
        return re.split(r"[-_|—–]+(?!.*报告)", _compact(html_title))[0]
    return None


def agency_of(title: str | None) -> str | None:
    if not title:
        return None
    text = re.sub(r"^关于", "", title)
    text = re.sub(r"\d{4}年度?", "", text)
    text = re.sub(r"(?:政府信息公开|政务公开|信息公开)(?:工作)?(?:年度)?(?:报告|年报).*$", "", text)
    text = re.sub(r"(?:工作)?年度报告.*$", "", text)
    return text.strip() or None


_PERIOD = re.compile(r"统计(?:期限|时限|时间|区间|期间|周期|范围)[^。]{0,16}?(\d{4})年0?1月0?1日")
_NAMED_YEAR = re.compile(r"(\d{4})年度?(?:政府信息公开|政务公开)(?:工作)?年度报告")


def year_of(title: str | None, lines: list[str]) -> tuple[int | None, str | None]:
    """(year reported on, where it was read: "title", "period" (统计期限 1月1日…) or "text"
    (the report names itself "2022年度政府信息公开工作年度报告" near the top)); (None, None)
    when the document does not establish it."""
    if title:
        m = re.search(r"(20\d{2}|19\d{2})年", title)
        if m:
            return int(m.group(1)), "title"
    # Joined without spaces: a PDF's text wraps "统计期限为 2024 年 1 月 1 日" over lines.
    head = _compact("".join(lines[:200]))
    m = _PERIOD.search(head)
    if m:
        return int(m.group(1)), "period"
    m = _NAMED_YEAR.search(_compact("".join(lines[:30])))
    if m:
        return int(m.group(1)), "text"
    return None, None


def template_of(table_template: str | None, year: int | None) -> tuple[str, str | None]:
    """(template, how it was established): "tables" when the tables' own columns or rows
    show it, "year" when only the established year implies it, None when unknown."""
    if table_template in ("2021", "2019"):
        return table_template, "tables"
    if year is not None and year >= 2021:
        return "2021", "year"
    if year in (2019, 2020):
        return "2019", "year"
    return "unknown", None


# The last word of an agency's name that says what kind of body it is. Governments
# (人民政府, 管委会, 街道办事处, 乡/镇) report 工作考核、社会评议和责任追究 and may make 规章
# (省级 and 设区的市); departments (局, 委, 办, 中心 …) do not. A hint only: rules decide.
_GOVERNMENT = re.compile(r"(?:人民政府|政府|管理委员会|管委会|办事处|街道|乡|镇)$")
_DEPARTMENT = re.compile(r"(?:局|委员会|委|办公室|办|中心|厅|院|所|署|部|馆|站|队|处|会)$")


def level_hint(agency: str | None) -> tuple[str | None, str | None]:
    """("government" | "department", the word that says so) from the agency's own name."""
    if not agency:
        return None, None
    name = re.sub(r"[（(][^）)]*[）)]$", "", agency)
    for level, pattern in (("government", _GOVERNMENT), ("department", _DEPARTMENT)):
        m = pattern.search(name)
        if m:
            return level, m.group(0)
    return None, None


def _iso(y: str, m: str, d: str) -> str | None:
    try:
        return dt.date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def published_of(lines: list[str], meta_value: str | None) -> str | None:
    for line in lines[:60]:
        normal = nfkc(line)
        if "日期" not in normal and "时间" not in normal and "发布于" not in normal:
            continue  # every label of _LABELLED_DATE holds one of these
        m = _LABELLED_DATE.search(normal)
        if m and (iso := _iso(*m.groups())):
            return iso
    if meta_value:
        m = re.search(_DATE, nfkc(meta_value))
        if m:
            return _iso(*m.groups())
    return None
