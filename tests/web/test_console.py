"""The office's console on the demo's data over several days: the questions it answers at a
glance, evidence people read, the new pages, and the bugs the clerk's trial found (each test
here failed on the code before issue 18)."""

from __future__ import annotations

import io
import logging
import re
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from models import Agency, Report, Snapshot
from models.db import session_scope
from tests.web.conftest import CLERK, DIRECTOR, csrf_from


def signed_in(app, user, client_address=("testclient", 50000)) -> tuple[TestClient, str]:
    client = TestClient(app, client=client_address)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": user[0], "password": user[1], "csrf_token": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client, csrf_from(client.get("/").text)


@pytest.fixture(scope="module")
def clerk(world_app):
    return signed_in(world_app, CLERK)[0]


@pytest.fixture(scope="module")
def director(world_app):
    return signed_in(world_app, DIRECTOR)


def report_of(world, slug: str, year: int = 2025) -> tuple[int, list[int]]:
    with session_scope(world.db_url) as session:
        agency = session.exec(select(Agency).where(Agency.slug == slug)).one()
        report = session.exec(select(Report).where(Report.agency_id == agency.id, Report.year == year)).one()
        versions = list(session.exec(select(Snapshot.id).where(Snapshot.report_id == report.id).order_by(Snapshot.id)))
        return report.id, versions


# ---- the overview answers the office's questions ------------------------------------------------

def test_the_overview_counts_down_both_deadlines_and_names_who_is_late(clerk):
    html = clerk.get("/").text
    countdown = re.search(r'id="countdown">(.*?)</div>\s*</div>\s*</div>', html, re.S).group(0)
    assert "政府部门年报截止 2026年1月31日" in countdown and "人民政府年报截止 2026年3月31日" in countdown
    assert "已过" in countdown  # the demo's clock is past both
    late = re.search(r'id="late-list">(.*?)</section>', html, re.S).group(1)
    assert "青河区生态环境局" in late and "逾期未发布" in late and re.search(r"已过 \d+ 天", late)
    # Each published report is linked with its publication date; the open cases say until when.
    row = re.search(r'<tr data-slug="songlin-jyj".*?</tr>', html, re.S).group(0)
    assert re.search(r'<a href="/reports/\d+">2026年2月16日</a>', row)
    assert 'id="board"' in html and "已逾期" in html  # the alert list: overdue first
    for chart in ("各地区按期发布率", "各地区平均得分", "得分分布"):
        assert f"<title>{chart}" in html
    assert 'id="regions"' in html and 'data-region="青河区"' in html
    assert "http://" not in re.sub(r'(href|xmlns)="[^"]*"', "", html.split("<body>")[1])  # nothing loaded from elsewhere


def test_the_board_lists_open_deficiencies_overdue_first(clerk):
    html = clerk.get("/deficiencies").text
    groups = re.findall(r'<h2 id="group-(\w+)"', html)
    assert groups[0] == "overdue" and set(groups) <= {"overdue", "error", "warning", "info"}
    overdue = clerk.get("/deficiencies", params={"overdue": "1"}).text
    assert re.findall(r'<h2 id="group-(\w+)"', overdue) == ["overdue"]
    assert "已过" in overdue


def test_a_region_page_sets_its_agencies_side_by_side_and_against_the_others(clerk):
    html = clerk.get("/regions/青河区").text
    assert {"青河区人民政府", "青河区发展和改革局", "青河区生态环境局"} <= set(re.findall(r">(青河区[^<]+)</a>", html))
    assert "松林县" in html  # the other region, in the comparison charts
    assert re.search(r'<text[^>]*class="hl"[^>]*>青河区</text>', html)  # this region stands out
    assert clerk.get("/regions/没有这个区").status_code == 404


def test_the_region_roll_up_is_in_the_exports(clerk):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(clerk.get("/api/agencies.xlsx").content), read_only=True)
    assert [s.title for s in book.worksheets] == ["2025年度各单位", "按地区汇总"]
    regions = list(book.worksheets[1].iter_rows(values_only=True))
    assert regions[0][:2] == ("地区", "单位数") and {r[0] for r in regions[1:]} == {"青河区", "松林县"}
    text = clerk.get("/api/regions.csv").content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("地区,单位数,已到截止日,按期发布") and "青河区,3," in text


# ---- evidence for people --------------------------------------------------------------------------

def test_a_finding_reads_as_numbers_in_place_and_the_cells_are_outlined(world, clerk):
    report_id, versions = report_of(world, "qinghe-fgj")
    html = clerk.get(f"/reports/{report_id}", params={"snapshot": versions[0]}).text  # before the correction
    finding = next(part for part in html.split('<div class="panel finding"') if part.startswith(' data-rule="ARI-01"'))
    assert "表三“一、本年新收”行自然人列：31 件" in finding and "算式：31 + 2 = 33；30 + 2 = 32；两者相差 1。" in finding
    assert "依据：国办公开办函〔2021〕30号" in finding and "apply." not in finding
    flagged = set(re.findall(r'class="num flagged[^"]*" data-field="([^"]+)"', html))
    assert {"apply.new.natural", "apply.carried.natural", "apply.results_total.natural"} <= flagged
    # The corrected version: ARI-01's cells are no longer outlined.
    corrected = clerk.get(f"/reports/{report_id}").text
    assert not set(re.findall(r'class="num flagged[^"]*" data-field="([^"]+)"', corrected)) & flagged - {
        "apply.carry_forward.total"}


def test_the_report_page_groups_what_could_not_be_judged_and_agrees_with_the_rules(world, clerk):
    wjw, _ = report_of(world, "songlin-wjw")
    html = clerk.get(f"/reports/{wjw}").text
    unsure = re.search(r'<details id="not-evaluated">(.*?)</details>', html, re.S).group(1)
    assert unsure.count("报告未填写所需的表格数据") == 1  # the reason once, not forty times
    assert "商业企业列" in unsure and "ARI-01" in unsure
    assert not re.search(r'<div class="panel finding" data-rule="ARI-0[12]"', html)  # not shown as failures
    qu, _ = report_of(world, "qinghe-qu")
    sections = re.search(r'<table id="sections">.*?</table>', clerk.get(f"/reports/{qu}").text, re.S).group(0)
    other = re.search(r'<tr data-section="other">.*?</tr>', sections, re.S).group(0)
    assert "内容为空" in other and "具备" not in other  # STR-01 says section 六 is empty; so does the table


# ---- notices and silences -------------------------------------------------------------------------

def test_the_notices_page_filters_by_choice_lists_and_agency_names(clerk):
    html = clerk.get("/notices").text
    kinds = re.search(r'<select name="kind".*?</select>', html, re.S).group(0)
    assert '<option value="deficiency" >整改通知</option>' in kinds.replace('  ', ' ') or "整改通知" in kinds
    assert "青河区发展和改革局" in re.search(r'<select name="agency".*?</select>', html, re.S).group(0)
    by_name = clerk.get("/notices", params={"agency": "青河区发展和改革局"})
    assert by_name.status_code == 200  # a Chinese name used to be a 404
    names = set(re.findall(r'<td data-label="单位">([^<]*)</td>', by_name.text))
    assert names == {"青河区发展和改革局"}
    unknown = clerk.get("/notices", params={"agency": "没有的单位"})
    assert unknown.status_code == 200 and "没有名为“没有的单位”的单位" in unknown.text
    alerts = clerk.get("/notices", params={"kind": "alert"}).text
    assert set(re.findall(r'<td data-label="类型">([^<]*)</td>', alerts)) == {"监测提醒"}


def test_the_silences_page_says_who_and_why(clerk):
    html = clerk.get("/silences").text
    # other tests of the same demo world may add silences of their own: find this one's row
    rows = [r for r in re.findall(r'<tr data-active="1">.*?</tr>', html, re.S) if "TXT-11" in r]
    assert rows, "no active silence of TXT-11 on the page"
    assert "全部单位" in rows[0] and "错别字另行通报" in rows[0] and "王科员" in rows[0]


# ---- bugs found in the clerk's trial --------------------------------------------------------------

def test_ids_beyond_64_bits_are_a_chinese_404_not_a_crash(world, director, clerk):
    huge = 2**63
    for path in (f"/reports/{huge}", f"/notices/{huge}", f"/reports/{huge}/original", f"/reports/1?snapshot={huge}"):
        r = clerk.get(path)
        assert r.status_code == 404 and "未找到" in r.text and "没有编号为" in r.text, path
    assert clerk.get(f"/api/reports/{huge}").status_code == 404
    client, csrf = director
    r = client.post(f"/actions/notices/{huge}/ack", data={"csrf_token": csrf}, headers={"referer": "http://testserver/notices"})
    assert r.status_code == 200 and "不存在或已确认" in r.text


def test_an_unknown_version_is_not_shown_as_a_clean_report(world, clerk):
    report_id, versions = report_of(world, "qinghe-qu")
    r = clerk.get(f"/reports/{report_id}", params={"snapshot": max(versions) + 1000})
    assert r.status_code == 404 and "这份年报没有编号为" in r.text
    with session_scope(world.db_url) as session:  # another report's version is not this report's either
        other = session.exec(select(Snapshot.id).where(Snapshot.report_id != report_id)).first()
    assert clerk.get(f"/reports/{report_id}", params={"snapshot": other}).status_code == 404


def test_a_gbk_original_is_served_in_its_own_charset(world, clerk):
    wjw, _ = report_of(world, "songlin-wjw")  # saved in GBK, no charset anywhere
    r = clerk.get(f"/reports/{wjw}/original")
    assert r.status_code == 200
    charset = re.search(r"charset=([\w-]+)", r.headers["content-type"]).group(1).lower()
    assert charset in ("gbk", "gb18030", "gb2312")
    assert "卫生健康委员会" in r.content.decode(charset) and "卫生健康委员会" in r.text


def test_exports_leave_empty_cells_empty_and_name_the_report_year(clerk):
    import csv
    from openpyxl import load_workbook

    text = clerk.get("/api/agencies.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert not any(cell == "'" for row in rows for cell in row)  # a lone ' in every empty cell, before
    sthj = next(r for r in rows if "青河区生态环境局" in r)
    assert sthj[rows[0].index("发布日期")] == "" and sthj[rows[0].index("发布截止日期")] == "2026年1月31日"
    sheet = load_workbook(io.BytesIO(clerk.get("/api/agencies.xlsx").content)).worksheets[0]
    assert sheet.title == "2025年度各单位"  # the report year, not the current one
    assert not any(c.value == "'" for row in sheet.iter_rows() for c in row)
    published = [c.value for c in sheet[1]].index("发布日期") + 1
    assert sheet.cell(row=2, column=published).number_format.startswith('yyyy"年"')


def test_the_rule_preview_counts_a_severity_change(world, director):
    client, csrf = director
    original = (world.rules.directory / "text.yaml").read_text(encoding="utf-8")
    start = original.index("- id: TXT-04")
    end = original.index("\n- id:", start)
    assert "severity: warning" in original[start:end]
    proposal = original[:start] + original[start:end].replace("severity: warning", "severity: error") + original[end:]
    diff = client.post("/api/rules/diff", json={"file": "text.yaml", "content": proposal, "year": 2025},
                       headers={"X-CSRF-Token": csrf}).json()
    assert diff["by_rule"]["TXT-04"]["reweighed"] >= 1 and diff["changes"], diff  # "0 份会变化", before
    changed = [f for c in diff["changes"] for f in c["reweighed"] if f["rule_id"] == "TXT-04"]
    assert changed[0]["severity_before"] == "warning" and changed[0]["severity_after"] == "error"
    page = client.post("/rules/diff", data={"csrf_token": csrf, "file": "text.yaml", "year": 2025,
                                            "content": proposal}).text
    assert int(re.search(r'id="diff-count">(\d+)<', page).group(1)) >= 1 and "警示 → 错误" in page


def _text_boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    """(text, left, top, right, bottom) of every label of a rendered chart, as a browser lays it out
    near enough: CJK one em wide, digits and latin about 0.6 em, the glyphs from one em above the
    baseline to 0.3 em below it."""
    boxes = []
    for x, y, size, anchor, text in re.findall(
            r'<text x="([\d.]+)" y="([\d.]+)" font-size="(\d+)" text-anchor="(\w+)"[^>]*>([^<]*)</text>', svg):
        x, y, size = float(x), float(y), int(size)
        width = sum(size if ord(ch) > 0x2e80 else size * 0.6 for ch in text)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        boxes.append((text, left, y - size, left + width, y + size * 0.3))
    return boxes


def test_trend_chart_labels_stay_inside_the_picture():
    from web.charts import FONT, WIDTH, line_chart

    svg = str(line_chart("历年得分", [("2023年", 100), ("2024年", 0), ("2025年", 100)]))
    height = int(re.search(r'viewBox="0 0 \d+ (\d+)"', svg).group(1))
    for text, left, top, right, bottom in _text_boxes(svg):
        assert top >= 0 and bottom <= height, (text, top)  # the old chart drew "100" at y=2
        assert left >= 0 and right <= WIDTH + FONT, (text, left)


@pytest.mark.parametrize("scores", [[100, 80, 90], [50, 60], [0, 100, 0], [100], [98.5, 100, 100, 75, 60, 100]])
def test_trend_chart_labels_do_not_overlap(scores):
    """The first point's value stood over the axis's "100" (a score of 100 the first year)."""
    from web.charts import line_chart

    svg = str(line_chart("历年得分", [(f"{2020 + i}年", v) for i, v in enumerate(scores)]))
    boxes = _text_boxes(svg)
    assert len(boxes) == 3 + 2 * len(scores)  # the axis's 0, 50, 100; each point's value and year
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, f"{a[0]!r} at {a[1:]} overlaps {b[0]!r} at {b[1:]}"


def test_a_failed_repoll_says_it_failed(world, director):
    client, csrf = director
    site = world.portals.root / "qinghe-fgj"
    shutil.move(site, site.with_name("qinghe-fgj-away"))  # the site answers 404
    try:
        r = client.post("/actions/agencies/qinghe-fgj/repoll", data={"csrf_token": csrf},
                        headers={"referer": "http://testserver/agencies/qinghe-fgj"})
    finally:
        shutil.move(site.with_name("qinghe-fgj-away"), site)
    flash = re.search(r'<div class="flash bad" id="flash">(.*?)</div>', r.text, re.S).group(1)
    assert "重新抓取未成功" in flash and "HTTP 404" in flash  # it said "已重新抓取：{'steps': …}", before
    r = client.post("/actions/rescore", data={"csrf_token": csrf, "agency": "qinghe-fgj"},
                    headers={"referer": "http://testserver/"})
    flash = re.search(r'id="flash">(.*?)</div>', r.text, re.S).group(1)
    assert re.fullmatch(r"已按当前规则重新评分 \d+ 份年报。", flash)


def test_sign_in_is_throttled_per_user_and_per_address_and_the_lockout_is_logged(world, world_accounts, caplog):
    from web.app import create_app

    app = create_app(world, world_accounts, secret="throttle")
    caplog.set_level(logging.WARNING, logger="nianbao.web.login")

    def attempt(client, user, password):
        token = csrf_from(client.get("/login").text)
        return client.post("/login", data={"username": user, "password": password, "csrf_token": token},
                           follow_redirects=False)

    guesser = TestClient(app, client=("192.0.2.7", 40000))
    for _ in range(5):
        assert attempt(guesser, DIRECTOR[0], "guess").status_code == 401
    locked = attempt(guesser, DIRECTOR[0], DIRECTOR[1])  # the right password, too late
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    assert any("sign-in locked" in r.getMessage() and DIRECTOR[0] in r.getMessage() for r in caplog.records)
    elsewhere = TestClient(app, client=("192.0.2.8", 40000))  # the user is locked from everywhere
    assert attempt(elsewhere, DIRECTOR[0], DIRECTOR[1]).status_code == 429
    assert attempt(elsewhere, CLERK[0], CLERK[1]).status_code == 303  # other users are not

    spray = TestClient(app, client=("192.0.2.9", 40000))  # many names from one address
    for i in range(20):
        assert attempt(spray, f"用户{i}", "guess").status_code == 401
    assert attempt(spray, CLERK[0], CLERK[1]).status_code == 429
    assert any("addr:192.0.2.9" in r.getMessage() for r in caplog.records)


def test_the_api_pages_are_served_from_the_package(clerk):
    html = clerk.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    asset = clerk.get("/docs-assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert clerk.get("/docs-assets/swagger-ui.css").status_code == 200
    assert "/docs-assets/redoc.standalone.js" in clerk.get("/redoc").text
    csp = clerk.get("/docs").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
