"""Names: is a document's agency the one it is filed under; level and 规章 power from a name."""

import pytest

from documents.meta import level_hint
from rules.identity import filing_mismatch, infer_rulemaking, same_agency, split_name


@pytest.mark.parametrize("filed, stated, same", [
    ("松林县人民政府", "淮安市洪泽区人民政府", False),      # another place
    ("淮安市洪泽区人民政府", "洪泽区人民政府", True),        # the city left out
    ("沛县人民政府", "徐州市沛县人民政府", True),            # a one-character county, the city added
    ("沭阳县发展和改革局", "沭阳县发改局", True),            # an abbreviation
    ("沭阳县发展和改革局", "宿迁市沭阳县发展改革局", True),  # 和 left out, the city added
    ("沭阳县发展和改革局", "沭阳县发展和改革委员会", True),  # renamed 委 → 局
    ("松林县卫生健康委员会", "松林县卫健委", True),
    ("示范市人民政府", "示范市青河区人民政府", False),       # the city is not its district
    ("平桥区人民政府", "平桥区人民政府办公室", False),       # the government is not its office
    ("青河区生态环境局", "青河区人民政府", False),
    ("沭阳县城市管理局", "沭阳县住房和城乡建设局", False),   # 城市, 城乡 are no places
    ("青河区发展和改革局", "区发展和改革局", True),
    ("青河区人民政府", "2024年", None),                    # no agency named: cannot tell
    ("青河区人民政府", None, None),
])
def test_same_agency(filed, stated, same):
    assert same_agency(filed, stated) is same


def test_places_and_body():
    assert split_name("徐州市沛县人民政府") == (["徐州市", "沛县"], "政府")
    assert split_name("沭阳县住房和城乡建设局") == (["沭阳县"], "住房和城乡建设局")
    assert split_name("延边朝鲜族自治州人民政府") == (["延边朝鲜族自治州"], "政府")


def test_filing_mismatch_says_both_sides_in_chinese():
    reason = filing_mismatch("松林县人民政府", 2025, "淮安市洪泽区人民政府", 2024)
    assert "淮安市洪泽区人民政府" in reason and "松林县人民政府" in reason and "2024年度" in reason
    assert "请人工确认" in reason
    assert filing_mismatch("洪泽区人民政府", 2024, "淮安市洪泽区人民政府", 2024) is None
    assert filing_mismatch("洪泽区人民政府", 2024, None, None) is None  # nothing stated: no doubt raised
    assert "2023年度" in filing_mismatch("洪泽区人民政府", 2024, "洪泽区人民政府", 2023)


@pytest.mark.parametrize("name, level, rulemaking", [
    ("宿迁市人民政府", "government", None),      # 设区的市 or a county-level city: not known from the name
    ("淮安市洪泽区人民政府", "government", False),
    ("江苏省人民政府", "government", True),
    ("上海市人民政府", "government", True),
    ("延边朝鲜族自治州人民政府", "government", True),
    ("某某街道办事处", "government", False),
    ("经济技术开发区管委会", "government", False),
    ("某某镇人民政府", "government", False),
    ("上海市科委", "department", False),
    ("沭阳县发改局", "department", False),
    ("平桥区人民政府办公室", "department", False),
    ("国家统计局", "department", True),
    ("松林县卫生健康委员会", "department", False),
    ("某某服务中心", "department", False),
    ("测试机关", None, None),
    ("", None, None),
])
def test_level_and_rulemaking_from_the_name(name, level, rulemaking):
    assert level_hint(name)[0] == level  # the reading's hint (documents/meta.py)
    assert infer_rulemaking(name, level) is rulemaking
