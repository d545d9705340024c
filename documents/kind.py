"""Is this document an annual report? Decided by what it says of itself.

A document that says it is a 政府信息公开工作年度报告 is one, however incomplete: its own
title names a report, its first lines call it 本报告 / 年度报告, or its body follows the
template (section headings in order, the application table, the blocks of table 二). An
incomplete report is read for what it holds, and the structure rules say what is missing.

A document is something else only when its own title says so (a 工作要点, a 通知, a 目录,
a news item: the title's last words), or when nothing in it is report-like at all (a news
article that mentions reports). Names of other documents inside 《》 or quotes ("根据《2023年
政务公开工作要点》…") never decide it: they are cut out before anything is matched.

This module must not read tables; it is given what the reading found.
"""

from __future__ import annotations

import re

from documents.encoding import nfkc

# The last words of a title that names another kind of document.
_OTHER_KIND = re.compile(r"(?:工作要点|要点|实施方案|工作方案|方案|工作计划|计划|通知|公告|通告|意见|办法|规定|细则|规划|指南"
                         r"|目录|新闻|动态|简报|会议|推进会|座谈会|培训会)$")
_QUOTED = re.compile(r"《[^》]*》|“[^”]*”|\"[^\"]*\"|「[^」]*」")
_SITE_SUFFIX = re.compile(r"[-_|—–]+[^-_|—–]*$")
_SAYS_REPORT = re.compile(r"年度报告|年报|工作报告|本报告|(?:此|该)报告")
_TITLE_LIKE_END = re.compile(r"[。；;，,！!？?:：]")


def _own(text: str) -> str:
    """The text with the names of other documents (in 《》 or quotes) cut out."""
    return _QUOTED.sub("", re.sub(r"\s+", "", nfkc(text)))


def _title_line(lines: list[str], html_title: str | None) -> str | None:
    """The document's own title as it stands at the top: the page <title> (without its
    site name) or the first short line that is not a sentence, a breadcrumb or a date."""
    if html_title:
        return _SITE_SUFFIX.sub("", re.sub(r"\s+", "", nfkc(html_title))) or None
    for line in lines[:8]:
        text = re.sub(r"\s+", "", nfkc(line))
        if not text or re.fullmatch(r"[\d\-/.年月日:：\s]+|正文|[#*>]+", text):
            continue
        if len(text) <= 60 and not _TITLE_LIKE_END.search(text) and not re.search(r"[>›»]", text):
            return text
        return None  # the document opens with a sentence: it has no title line
    return None


def other_kind(title: str | None, lines: list[str], html_title: str | None) -> str | None:
    """The title of a document that calls itself another kind of document, else None."""
    own = title or _title_line(lines, html_title)
    if not own:
        return None
    text = _SITE_SUFFIX.sub("", _own(own)) if not title else _own(own)
    if _OTHER_KIND.search(text):
        return own
    return None


def says_report(title: str | None, lines: list[str]) -> bool:
    """The document calls itself a report: its title, or its first lines (not a name in 《》)."""
    if title:
        return True
    head = _own("".join(lines[:12]))
    return bool(_SAYS_REPORT.search(head)) and ("政府信息公开" in head or "政务公开" in head)


_LISTED = re.compile(r"(\d{4})年度?.{0,30}?(?:年度报告|年报)")


def report_list(lines: list[str]) -> bool:
    """A column page listing reports: short lines naming the reports of several years."""
    years = set()
    for line in lines[:150]:
        text = re.sub(r"\s+", "", nfkc(line))
        m = _LISTED.search(text) if len(text) <= 80 and "。" not in text else None
        if m:
            years.add(m.group(1))
    return len(years) >= 3


def follows_template(sections_present: int, found_apply: bool, table_fields: int) -> bool:
    """The body follows the template: headings in order, the application table, or any
    statistics of the three tables."""
    return found_apply or sections_present >= 2 or table_fields > 0
