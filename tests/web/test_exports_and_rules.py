"""The overview's CSV and Excel exports, the preview of a proposed rule change (page and API),
and the Chinese error pages of refused form actions."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from openpyxl import load_workbook

from tests.web.conftest import ADMIN, TOKEN, VIEWER, VIEWER_TOKEN, csrf_from, login

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RO = {"Authorization": f"Bearer {VIEWER_TOKEN}"}


def _relaxed_ari01(text: str) -> str:
    """arithmetic.yaml with ARI-01 tolerating any difference: its findings must disappear."""
    start = text.index("- id: ARI-01")
    end = text.index("\n- id:", start)
    rule = text[start:end]
    assert "tolerance: 0\n" in rule
    return text[:start] + rule.replace("tolerance: 0\n", "tolerance: 1000000\n") + text[end:]


def test_the_overview_exports_as_excel_and_csv_with_the_filters(client):
    r = client.get("/api/agencies.xlsx", headers=RO)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("单位代码", "单位", "层级") and "状态" in header and "得分" in header
    by_slug = {row[0]: dict(zip(header, row)) for row in body}
    assert by_slug["qinghe-sthj"]["状态"] == "逾期未发布"
    assert by_slug["qinghe-fgj"]["未整改错误"] == 2 and isinstance(by_slug["qinghe-fgj"]["得分"], int)
    assert len(body) == len(client.get("/api/agencies", headers=RO).json())

    late = load_workbook(io.BytesIO(client.get("/api/agencies.xlsx", params={"state": "late"}, headers=RO).content),
                         read_only=True).worksheets[0]
    assert [row[0] for row in late.iter_rows(min_row=2, values_only=True)] == ["songlin-jyj"]

    text = client.get("/api/agencies.csv", params={"state": "missing"}, headers=RO).content.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert table and {row["状态"] for row in table} == {"逾期未发布"} and "qinghe-sthj" in {row["单位代码"] for row in table}

    assert client.get("/api/agencies.xlsx").status_code == 401
    assert client.get("/api/agencies.xlsx", params={"sort": "bogus"}, headers=RO).status_code == 422
    login(client, VIEWER)
    page = client.get("/", params={"state": "late"}).text
    assert re.search(r'id="export-xlsx" href="/api/agencies.xlsx\?state=late', page)


def test_an_admin_previews_a_rule_change_and_nothing_is_saved(client, seeded):
    rules_file = Path(seeded.rules.directory) / "arithmetic.yaml"
    original = rules_file.read_text(encoding="utf-8")
    login(client, ADMIN)
    page = client.get("/rules", params={"file": "arithmetic.yaml"}).text
    version = re.search(r'id="ruleset-version">([^<]+)<', page).group(1)
    assert "- id: ARI-01" in page and 'id="rules-diff-form"' in page
    token = csrf_from(page)

    r = client.post("/rules/diff", data={"csrf_token": token, "file": "arithmetic.yaml", "year": 2025,
                                         "content": _relaxed_ari01(original)})
    assert r.status_code == 200, r.text
    result = r.text[r.text.index('id="diff-result"'):]
    assert "2025年度" in result and 'name="year" type="number" min="2000" max="2100" value="2025"' in r.text
    assert "青河区发展和改革局" in result  # the agency whose ARI-01 findings go away
    assert re.search(r"<td>ARI-01</td><td[^>]*>\+0</td><td[^>]*>−[1-9]", result)
    assert rules_file.read_text(encoding="utf-8") == original  # a preview saves nothing
    assert re.search(r'id="ruleset-version">([^<]+)<', client.get("/rules").text).group(1) == version

    typo = original.replace("severity: error", "severity: eror", 1)
    r = client.post("/rules/diff", data={"csrf_token": token, "file": "arithmetic.yaml", "year": 2025, "content": typo})
    assert r.status_code == 422 and 'id="diff-error"' in r.text
    assert re.search(r"rules/arithmetic\.yaml:\d+", r.text) and "eror" in r.text
    assert "severity: eror" in r.text  # the admin's text is kept in the form to fix it

    r = client.post("/rules/diff", data={"csrf_token": token, "file": "../../etc/x.yaml", "year": 2025, "content": "[]"})
    assert r.status_code == 400 and "文件名只能由" in r.text

    r = client.post("/rules/diff", data={"csrf_token": "forged", "file": "arithmetic.yaml", "year": 2025, "content": ""})
    assert r.status_code == 403 and "CSRF 校验失败" in r.text and 'id="error-title">无权操作<' in r.text


def test_a_read_only_user_sees_the_rules_but_cannot_preview(client):
    token = login(client, VIEWER)
    page = client.get("/rules").text
    assert 'id="rules"' in page and 'id="rules-diff-form"' not in page
    r = client.post("/rules/diff", data={"csrf_token": token, "file": "arithmetic.yaml", "year": 2025, "content": "[]"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "需要管理员权限" in r.text and "请使用管理员账户登录" in r.text
    r = client.post("/actions/silence", data={"csrf_token": token, "rule_id": "ARI-01", "until": "2026-12-31",
                                              "reason": "x"})
    assert r.status_code == 403 and "需要管理员权限" in r.text


def test_the_rules_diff_api(client, seeded):
    original = (Path(seeded.rules.directory) / "arithmetic.yaml").read_text(encoding="utf-8")
    body = {"file": "arithmetic.yaml", "content": _relaxed_ari01(original)}
    diff = client.post("/api/rules/diff", json=body, headers=AUTH).json()
    assert diff["by_rule"]["ARI-01"]["disappeared"] > 0 and diff["by_rule"]["ARI-01"]["appeared"] == 0
    assert {c["agency_slug"] for c in diff["changes"]} == {"qinghe-fgj"}
    assert all(c["score_after"] > c["score_before"] for c in diff["changes"])
    assert diff["current_version"] != diff["proposed_version"]

    other_year = client.post("/api/rules/diff", json={**body, "year": 2019}, headers=AUTH).json()
    assert other_year["snapshots"] == 0 and other_year["changes"] == []  # no report on 2019 is stored

    unchanged = client.post("/api/rules/diff", json={**body, "content": original}, headers=AUTH).json()
    assert unchanged["changes"] == [] and unchanged["current_version"] == unchanged["proposed_version"]

    assert client.post("/api/rules/diff", json=body, headers=RO).status_code == 403
    assert client.post("/api/rules/diff", json=body).status_code == 401
    bad = client.post("/api/rules/diff", json={**body, "content": "- id: [unclosed"}, headers=AUTH)
    assert bad.status_code == 422 and "rules/arithmetic.yaml" in bad.json()["detail"]
    assert client.post("/api/rules/diff", json={"file": "x.yaml"}, headers=AUTH).status_code == 422


def test_a_rule_that_would_crash_the_preview_is_a_422_naming_its_line(client, seeded):
    """A 400-term expression (RecursionError once): the API answers 422 with file:line, as `rules check`."""
    deep = ("- id: ARI-99\n  title: 测试\n  severity: error\n  category: arithmetic\n"
            "  basis: {text: 测试, status: VERIFIED}\n  check:\n    kind: expression\n"
            "    assert: apply.new.total == " + " + ".join(["1"] * 400) + "\n")
    r = client.post("/api/rules/diff", json={"file": "deep.yaml", "content": deep, "year": 2025}, headers=AUTH)
    assert r.status_code == 422, r.text
    assert "deep.yaml:8: 表达式嵌套 402 层，超过上限 100 层" in r.json()["detail"]
    [problem] = [p for p in r.json()["problems"] if p["code"] == "expression_depth"]  # and by code, for a program
    assert problem["line"] == 8 and problem["file"].endswith("deep.yaml")


def test_refused_and_malformed_form_actions_get_a_chinese_page(client):
    token = login(client, ADMIN)
    r = client.post("/actions/silence", data={"csrf_token": token, "until": "2026-12-31"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "以下内容缺失或格式不对：规则编号、原因" in r.text and "rule_id" not in r.text
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "没有这个页面" in missing.text
    api = client.get("/api/no-such", headers=AUTH)
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}  # the API keeps JSON errors


def test_the_overview_pages_through_many_agencies(client, monkeypatch):
    import web.app

    login(client, VIEWER)
    every = re.findall(r'data-slug="([^"]+)"', client.get("/").text)
    monkeypatch.setattr(web.app, "OVERVIEW_PAGE", 3)
    first = client.get("/", params={"sort": "name"}).text
    assert len(re.findall(r'data-slug="([^"]+)"', first)) == 3 and 'id="next-page"' in first
    assert f"共 {len(every)} 个单位" in first and 'id="prev-page"' not in first
    seen = []
    for page in range(1, -(-len(every) // 3) + 1):
        seen += re.findall(r'data-slug="([^"]+)"', client.get("/", params={"sort": "name", "page": page}).text)
    assert sorted(seen) == sorted(every) and len(seen) == len(every)  # every agency once, none twice
    beyond = client.get("/", params={"page": 999}).text  # past the end: the last page, not an empty one
    assert re.findall(r'data-slug="([^"]+)"', beyond) and 'id="next-page"' not in beyond
    assert client.get("/", params={"page": 0}).status_code == 422
