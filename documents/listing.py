"""Which links on an agency's page are annual reports: tolerant title matching, year and date.

Real titles vary a lot: 政府信息公开工作年度报告, 政务公开工作年度报告, 信息公开年报, 年度报告
（2023年）, 二〇二三年…, link text cut short with an ellipsis (the title attribute then holds the
whole title). Plans (工作要点), guides (指南), notices (通知) and explanations of a report
(解读, 图解) are not reports. Each match carries a confidence, so a weak match ("2023年年报"
with no 信息公开) is recorded as such rather than trusted like a full title.

This module must not fetch; ``documents.discovery`` builds listing pages and articles on it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import urldefrag, urljoin

from selectolax.lexbor import LexborHTMLParser as HTMLParser

_CN_DIGITS = {"〇": "0", "○": "0", "零": "0", "Ｏ": "0", "O": "0", "一": "1", "二": "2", "三": "3", "四": "4",
              "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
CN_YEAR = re.compile(r"二[〇○零ＯO][一二三四五六七八九〇○零ＯO]{2}")
YEAR_MARKED = re.compile(r"(?<!\d)(20\d{2})\s*(?:年|年度)|[（(]\s*(20\d{2})\s*[)）]")
YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
REPORT_WORDS = re.compile(r"信息公开.{0,8}(年度报告|年报|工作报告)|(年度报告|年报).{0,4}$")
STRONG = re.compile(r"政府信息公开.{0,4}(工作)?(年度报告|年报)")
MEDIUM = re.compile(r"(信息公开|政务公开).{0,8}(年度报告|年报|工作报告)")
WEAK = re.compile(r"(年度报告|年报)")
CUT_SHORT = re.compile(r"(政府信息公开|信息公开).{0,6}(工作)?(年度|年)?.{0,3}(…|\.\.\.)$")
NOT_REPORT = re.compile(r"要点|通知(?!书)|方案|计划|意见|目录|指南|解读|图解|答问|问答|征求|统计表|总结|制度|规定|办法")
DATE = re.compile(r"(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass(frozen=True)
class ReportLink:
    url: str
    title: str
    year: int
    published: date | None
    confidence: float = 1.0


def normalise(text: str) -> str:
    """Full-width digits and brackets to ASCII, runs of spaces to one."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def parse_date(text: str) -> date | None:
    match = DATE.search(normalise(text))
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def title_year(title: str) -> int | None:
    """The report year named in a title: 2023年, 2023年度, （2023）, 二〇二三年."""
    title = CN_YEAR.sub(lambda m: "".join(_CN_DIGITS.get(c, c) for c in m.group(0)), normalise(title))
    # "2023年" or "（2023）" first: a bare number may be part of a name (第2050中学).
    for match in YEAR_MARKED.finditer(title):
        return int(match.group(1) or match.group(2))
    match = YEAR.search(title)
    return int(match.group(1)) if match else None


def title_confidence(title: str) -> float:
    """How sure a title names an annual GOI report: 0 (not one) to 0.95."""
    title = normalise(title)
    if not title or NOT_REPORT.search(title):
        return 0.0
    if STRONG.search(title):
        return 0.95
    if MEDIUM.search(title):
        return 0.85
    if CUT_SHORT.search(title):
        return 0.6
    if WEAK.search(title):
        return 0.5
    return 0.0


def is_report_title(title: str) -> bool:
    return title_confidence(title) > 0


def link_title(a) -> str:
    """The whole title: a title attribute beats link text cut short with an ellipsis."""
    text = " ".join((a.text(deep=True) or "").split())
    attr = " ".join((a.attributes.get("title") or "").split())
    if attr and (not text or len(attr) > len(text.rstrip("…. "))):
        return attr
    return text


def date_beside(a, title: str) -> date | None:
    """The date sits beside the link in the same list item or table row."""
    holder = a.parent
    while holder is not None and holder.tag not in ("li", "tr", "dd", "div", "p"):
        holder = holder.parent
    around = holder.text(deep=True) if holder is not None else ""
    return parse_date(around.replace(a.text(deep=True) or "", "").replace(title, ""))


def find_report_links(html: str, base_url: str) -> list[ReportLink]:
    """Report links in page order, each URL once."""
    tree = HTMLParser(html)
    seen: set[str] = set()
    links: list[ReportLink] = []
    base = urldefrag(base_url)[0]
    for a in tree.css("a[href]"):
        title = link_title(a)
        confidence = title_confidence(title)
        if not confidence:
            continue
        year = title_year(title)
        url = urldefrag(urljoin(base_url, (a.attributes.get("href") or "").strip()))[0]
        # A menu entry such as 政府信息公开年报 (no year, or a link back to this page) is the
        # column itself, not a report in it.
        if not year or url == base or url in seen or not url.startswith(("http://", "https://")):
            continue
        seen.add(url)
        links.append(ReportLink(url=url, title=title, year=year, published=date_beside(a, title),
                                confidence=confidence))
    return links


def decode_page(data: bytes, header_charset: str | None = None) -> str:
    """Listing pages come in UTF-8 or GBK, declared or not: same decoding as reports."""
    from documents.encoding import declared_charset, decode_bytes

    text, _encoding = decode_bytes(data, declared_charset(data, header_charset))
    return text
