"""Who a report is about, from names alone: is the agency a document names the agency it is
filed under, and may it make 规章 (its level comes from the roster, the command line or the
reading's level_hint, documents/meta.py).

Names vary between a roster and a report's title (淮安市洪泽区人民政府 / 洪泽区人民政府,
沭阳县发展和改革局 / 沭阳县发改局), so a name is split into its places (淮安市, 洪泽区) and its
body (人民政府, 发展和改革局): the most local places must agree, and the bodies must be the same
or one an abbreviation of the other. Every answer may be None, "not known": a caller must
then not act as if it knew (a rule that needs the fact does not run; a filing is not doubted).
Must not read files, the database or reports.
"""

from __future__ import annotations

import re
import unicodedata

# A place: a name of 2–6 characters (counties may have one: 沛县) and an administrative suffix.
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "省", "市", "州", "盟", "地区", "县", "区", "旗",
             "镇", "乡", "街道")
_ONE_CHAR_OK = ("县", "旗")  # 沛县, but never 城市 or 城乡 in 城市管理局, 住房和城乡建设局
_NOT_PLACE = re.compile(r"[和与及的局委办厅部署院]")
# What an agency's name ends with; a name that ends otherwise is not one we can judge.
_BODY_END = re.compile(r"(政府|管委会|管理委员会|办事处|公署|街道|镇|乡|办公室|办|局|委|委员会|厅|部|署|院|中心|站|所|队|馆|处"
                       r"|总局|分局|支队|大队|会)$")
# Central bodies with the power to make 规章 (立法法 第九十一条).
_CENTRAL = re.compile(r"^(国务院|国家|中华人民共和国|中国人民银行|审计署|海关总署)")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


def normalize(name: str | None) -> str:
    """NFKC, no spaces or brackets, 人民政府 → 政府 (titles write both)."""
    text = unicodedata.normalize("NFKC", name or "")
    text = re.sub(r"[\s\"'“”‘’《》（）()]", "", text)
    text = text.replace("中华人民共和国", "") if not text.startswith("中华人民共和国") else text
    return text.replace("人民政府", "政府")


def _place_at(text: str, pos: int) -> int | None:
    """End of the place that starts at ``pos`` (the shortest valid one), or None."""
    for end in range(pos + 1, min(len(text), pos + 7) + 1):
        for suffix in _SUFFIXES:
            if text.startswith(suffix, end):
                name = text[pos:end]
                if _NOT_PLACE.search(name) or (len(name) < 2 and suffix not in _ONE_CHAR_OK):
                    continue
                return end + len(suffix)
    return None


def split_name(name: str) -> tuple[list[str], str]:
    """(places from the widest to the most local, body): 淮安市洪泽区政府 → ([淮安市, 洪泽区], 政府)."""
    text = normalize(name)
    places: list[str] = []
    pos = 0
    while pos < len(text) and (end := _place_at(text, pos)) is not None:
        places.append(text[pos:end])
        pos = end
    return places, text[pos:]


def looks_like_agency(name: str | None) -> bool:
    text = normalize(name)
    return 2 <= len(text) <= 40 and bool(_BODY_END.search(text))


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _lcs(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ch in a:
        cur = [0]
        for j, other in enumerate(b):
            cur.append(prev[j] + 1 if ch == other else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def same_body(a: str, b: str) -> bool:
    """政府 / 政府 yes; 发展和改革局 / 发改局 yes (an abbreviation); 政府 / 政府办公室 no (an office of
    that government is another body); 教育局 / 发展和改革局 no."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if not short:
        return False
    if long.startswith(short):
        return False  # 政府 → 政府办公室: a body under the other
    if _subsequence(short, long):
        return True
    return _lcs(a, b) / len(short) >= 0.8  # 发展和改革委员会 / 发展和改革局 (renamed)


def same_agency(filed: str | None, stated: str | None) -> bool | None:
    """Whether the agency a document names (``stated``) is the one it is filed under; None
    when the document names none we can judge."""
    if not looks_like_agency(stated) or not normalize(filed):
        return None
    a, b = normalize(filed), normalize(stated)
    if a == b or a.endswith(b) or b.endswith(a):  # a parent place added or left out
        return True
    places_a, body_a = split_name(a)
    places_b, body_b = split_name(b)
    if places_a and places_b and places_a[-1] != places_b[-1]:
        return False  # 松林县 against 洪泽区: another place
    if not body_a or not body_b:
        return None
    return same_body(body_a, body_b)


def filing_mismatch(filed_agency: str, filed_year: int | None, stated_agency: str | None,
                    stated_year: int | None) -> str | None:
    """Why a document is not the report it is filed as (a Chinese sentence), or None."""
    problems = []
    if same_agency(filed_agency, stated_agency) is False:
        problems.append(f"文件所载单位为“{stated_agency}”，而登记的单位为“{filed_agency}”")
    if filed_year and stated_year and filed_year != stated_year:
        problems.append(f"文件所载为{stated_year}年度报告，而登记的是{filed_year}年度")
    if not problems:
        return None
    return "；".join(problems) + "。不作为该单位该年度的报告评分，也不发送通知，请人工确认。"


# --- the power to make 规章 ----------------------------------------------------------------

def infer_rulemaking(name: str | None, level: str | None) -> bool | None:
    """Whether the agency may make 规章 (立法法 第九十一条、第九十三条): State Council departments,
    and the governments of provinces, autonomous regions, municipalities, 设区的市 and 自治州.
    None when the name cannot tell: a 市人民政府 may be a 设区的市 or a county-level city."""
    text = normalize(name)
    if not text or level not in ("government", "department"):
        return None
    if level == "department":
        return bool(_CENTRAL.match(text))
    places, body = split_name(text)
    if body and not re.search(r"政府$", body):
        return False  # 管委会, 办事处, 公署: not a people's government with that power
    if not places:
        return None
    local = places[-1]
    if local.endswith(("省", "自治区", "自治州", "特别行政区")) or (len(places) == 1 and local in _MUNICIPALITIES):
        return True
    if local.endswith(("区", "县", "旗", "镇", "乡", "街道", "自治县", "自治旗")):
        return False
    return None  # a 市 (prefecture-level or county-level) or a 地区, 盟: not known from the name
