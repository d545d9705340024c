"""Find the annual-report links on an agency's listing page (its 政府信息公开年报 column).

Only the link text decides: a year and the words of an annual GOI report, not a work plan
(工作要点) or a notice. The publication date is read from the link's list item when shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urljoin, urldefrag

from selectolax.lexbor import LexborHTMLParser as HTMLParser

YEAR = re.compile(r"(20\d{2})\s*年")
REPORT_WORDS = re.compile(r"信息公开.{0,8}(年度报告|年报|工作报告)|(年度报告|年报).{0,4}$")
NOT_REPORT = re.compile(r"要点|通知|方案|计划|意见|目录|指南")
DATE = re.compile(r"(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass(frozen=True)
class ReportLink:
    url: str
    title: str
    year: int
    published: date | None


def parse_date(text: str) -> date | None:
    match = DATE.search(text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def is_report_title(title: str) -> bool:
    return bool(REPORT_WORDS.search(title)) and not NOT_REPORT.search(title)


def find_report_links(html: str, base_url: str) -> list[ReportLink]:
    """Report links in page order, each URL once."""
    tree = HTMLParser(html)
    seen: set[str] = set()
    links: list[ReportLink] = []
    for a in tree.css("a[href]"):
        title = " ".join((a.attributes.get("title") or a.text(deep=True) or "").split())
        if not is_report_title(title):
            continue
        year_match = YEAR.search(title)
        url = urldefrag(urljoin(base_url, a.attributes.get("href") or ""))[0]
        # A menu entry such as 政府信息公开年报 (no year, or a link back to this page) is the
        # column itself, not a report in it.
        if not year_match or url == urldefrag(base_url)[0] or url in seen:
            continue
        if not url.startswith(("http://", "https://")):
            continue
        seen.add(url)
        # The date sits beside the link in the same list item or table row.
        holder = a.parent
        while holder is not None and holder.tag not in ("li", "tr", "dd", "div", "p"):
            holder = holder.parent
        around = holder.text(deep=True) if holder is not None else ""
        links.append(ReportLink(url=url, title=title, year=int(year_match.group(1)),
                                published=parse_date(around.replace(title, ""))))
    return links


def decode_page(data: bytes, header_charset: str | None = None) -> str:
    """Listing pages come in UTF-8 or GBK, declared or not: same decoding as reports."""
    from documents.encoding import declared_charset, decode_bytes

    text, _encoding = decode_bytes(data, declared_charset(data, header_charset))
    return text
