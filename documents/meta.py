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


def find_title(lines: list[str], stop: int | None, html_title: str | None) -> str | None:
    limit = min(stop - 1 if stop else 60, 80, len(lines))
    for need_year in (True, False):  # "2022年…年度报告" beats a breadcrumb "首页>…>年度报告"
        previous = ""
        for line in lines[:limit]:
            text = _TITLE_PREFIX.sub("", line.strip().split("\t")[-1] if "\t" in line else line.strip())
            compact = _compact(text)
            if (("年度报告" in compact or "年报" in compact) and len(compact) <= 60 and "。" not in compact
                    and not re.search(r"[>›»]", compact) and (not need_year or re.search(r"\d{4}年", compact))):
                # A site name after a dash: "…年度报告-沭阳县发改局".
                compact = re.split(r"[-_|—–]+(?!.*报告)", compact)[0]
                if re.match(r"^\d{4}年", compact) and previous and len(previous) <= 30:
                    compact = previous + compact  # agency on the line above (PDF title pages)
                return compact
            stripped = _compact(line)
            if stripped and not re.fullmatch(r"[-—\d\s第页/]+", stripped):
                previous = stripped if not re.search(r"[。，,:：]", stripped) else ""
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


def year_of(title: str | None, lines: list[str]) -> int | None:
    if title:
        m = re.search(r"(20\d{2}|19\d{2})年", title)
        if m:
            return int(m.group(1))
    for line in lines[:200]:
        m = re.search(r"统计(?:期限|时限|时间|区间|期间)[^。]{0,12}?(\d{4})年0?1月0?1日", _compact(line))
        if m:
            return int(m.group(1))
    return None


def template_of(table_template: str | None, year: int | None) -> str:
    if table_template in ("2021", "2019"):
        return table_template
    if year is not None and year >= 2021:
        return "2021"
    if year in (2019, 2020):
        return "2019"
    return "unknown"


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
